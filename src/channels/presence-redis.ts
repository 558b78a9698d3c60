/**
 * The Redis presence store. Keys under the prefix (default `statewire:`):
 *   presence:alive          sorted set: process id → when its heartbeat expires (Redis clock, ms)
 *   presence:room:<room>    hash: `<process>\n<id>` → metadata (JSON)
 *   presence:rooms:<process> set: the rooms where the process has members (for the reaper)
 * and one pub/sub channel, presence:events, carrying every join and leave as JSON.
 * Every change is one Lua script (atomic), timed by Redis's own clock so processes on machines
 * whose clocks disagree still agree on who expired. Reaping removes a dead process's members
 * and publishes their leaves in the same script, so each leave is published once whichever
 * processes reap concurrently. Scripts compute some keys: one Redis, not Redis Cluster.
 */
import type { Redis } from "ioredis";
import type { PresenceEvent, PresenceStore } from "./presence-store.js";
import type { RedisHealth } from "./redis-health.js";
import { closeRedis, connectRedis, redisHealth, type RedisConnectionOptions } from "./redis-connection.js";

export type RedisPresenceOptions = RedisConnectionOptions;

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/** Remove every member of process `dead`, publishing each leave. */
const REAP = `
local function reap(prefix, dead, channel)
  local roomsKey = prefix .. 'presence:rooms:' .. dead
  local mark = dead .. '\\n'
  for _, room in ipairs(redis.call('SMEMBERS', roomsKey)) do
    local roomKey = prefix .. 'presence:room:' .. room
    local all = redis.call('HGETALL', roomKey)
    for i = 1, #all, 2 do
      local field = all[i]
      if string.sub(field, 1, #mark) == mark then
        redis.call('HDEL', roomKey, field)
        redis.call('PUBLISH', channel, cjson.encode({ type = 'leave', room = room, id = string.sub(field, #mark + 1), process = dead, meta = all[i + 1] }))
      end
    end
  end
  redis.call('DEL', roomsKey)
  redis.call('ZREM', prefix .. 'presence:alive', dead)
end
`;

// KEYS: alive, room hash, process rooms; ARGV: process, id, meta, ttl, room, channel
const JOIN = `${NOW}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1] .. '\\n' .. ARGV[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[5])
redis.call('PUBLISH', ARGV[6], cjson.encode({ type = 'join', room = ARGV[5], id = ARGV[2], process = ARGV[1], meta = ARGV[3] }))
return 1
`;

// KEYS: room hash; ARGV: process, id, room, channel
const LEAVE = `
local field = ARGV[1] .. '\\n' .. ARGV[2]
local meta = redis.call('HGET', KEYS[1], field)
if not meta then return 0 end
redis.call('HDEL', KEYS[1], field)
redis.call('PUBLISH', ARGV[4], cjson.encode({ type = 'leave', room = ARGV[3], id = ARGV[2], process = ARGV[1], meta = meta }))
return 1
`;

// KEYS: alive, room hash; returns field, meta, field, meta… of members whose process is alive
const LIST = `${NOW}
local out = {}
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  local process = string.match(all[i], '^([^\\n]*)\\n')
  local expires = redis.call('ZSCORE', KEYS[1], process)
  if expires and tonumber(expires) > now then
    out[#out + 1] = all[i]
    out[#out + 1] = all[i + 1]
  end
end
return out
`;

// KEYS: alive; ARGV: process, ttl, prefix, channel. Returns 1 when the process was known.
const HEARTBEAT = `${NOW}${REAP}
local added = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do reap(ARGV[3], dead, ARGV[4]) end
return 1 - added
`;

// ARGV: process, prefix, channel
const LEAVE_ALL = `${REAP}
reap(ARGV[2], ARGV[1], ARGV[3])
return 1
`;

interface Scripts {
  presenceJoin(...args: (string | number)[]): Promise<number>;
  presenceLeave(...args: (string | number)[]): Promise<number>;
  presenceList(...args: (string | number)[]): Promise<string[]>;
  presenceHeartbeat(...args: (string | number)[]): Promise<number>;
  presenceLeaveAll(...args: (string | number)[]): Promise<number>;
}

interface Wire {
  type: "join" | "leave";
  room: string;
  id: string;
  process: string;
  meta: string;
}

class RedisPresenceStore implements PresenceStore {
  readonly kind = "redis";
  readonly #commands: Redis & Scripts;
  readonly #subscriber: Redis;
  readonly #health: RedisHealth;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #listeners = new Set<(event: PresenceEvent) => void>();
  readonly #ready: Promise<unknown>;

  constructor(options: RedisPresenceOptions) {
    this.#prefix = options.keyPrefix ?? "statewire:";
    this.#channel = `${this.#prefix}presence:events`;
    // Connection state is followed as for the channel backends (reconnects, outage logged once).
    this.#health = redisHealth(options, "redis-presence");
    const commands = connectRedis(options, "statewire-presence", this.#health);
    commands.defineCommand("presenceJoin", { numberOfKeys: 3, lua: JOIN });
    commands.defineCommand("presenceLeave", { numberOfKeys: 1, lua: LEAVE });
    commands.defineCommand("presenceList", { numberOfKeys: 2, lua: LIST });
    commands.defineCommand("presenceHeartbeat", { numberOfKeys: 1, lua: HEARTBEAT });
    commands.defineCommand("presenceLeaveAll", { numberOfKeys: 0, lua: LEAVE_ALL });
    this.#commands = commands as Redis & Scripts;
    this.#subscriber = connectRedis(options, "statewire-presence-events", this.#health);
    this.#subscriber.on("message", (_channel: string, text: string) => this.#deliver(text));
    this.#ready = this.#subscriber.subscribe(this.#channel);
  }

  #deliver(text: string): void {
    let wire: Wire;
    let meta: unknown;
    try {
      wire = JSON.parse(text) as Wire;
      meta = JSON.parse(wire.meta);
    } catch {
      return; // not ours
    }
    const event: PresenceEvent = { type: wire.type, room: wire.room, id: wire.id, process: wire.process, meta };
    for (const listener of this.#listeners) listener(event);
  }

  #key(kind: string, name: string): string {
    return `${this.#prefix}presence:${kind}:${name}`;
  }

  async join(process: string, room: string, id: string, meta: string, ttlMs: number): Promise<void> {
    await this.#ready;
    await this.#commands.presenceJoin(`${this.#prefix}presence:alive`, this.#key("room", room), this.#key("rooms", process), process, id, meta, ttlMs, room, this.#channel);
  }

  async leave(process: string, room: string, id: string): Promise<void> {
    await this.#commands.presenceLeave(this.#key("room", room), process, id, room, this.#channel);
  }

  async list(room: string): Promise<{ id: string; meta: string; process: string }[]> {
    const flat = await this.#commands.presenceList(`${this.#prefix}presence:alive`, this.#key("room", room));
    const out: { id: string; meta: string; process: string }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const field = flat[i]!;
      const cut = field.indexOf("\n");
      out.push({ process: field.slice(0, cut), id: field.slice(cut + 1), meta: flat[i + 1]! });
    }
    return out;
  }

  async heartbeat(process: string, ttlMs: number): Promise<boolean> {
    await this.#ready;
    return (await this.#commands.presenceHeartbeat(`${this.#prefix}presence:alive`, process, ttlMs, this.#prefix, this.#channel)) === 1;
  }

  async leaveAll(process: string): Promise<void> {
    await this.#commands.presenceLeaveAll(process, this.#prefix, this.#channel);
  }

  subscribe(listener: (event: PresenceEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    this.#health.close();
    await Promise.all([closeRedis(this.#commands), closeRedis(this.#subscriber)]);
  }
}

/** Presence shared by every process using the same Redis and key prefix. */
export function redisPresence(options: RedisPresenceOptions = {}): PresenceStore {
  return new RedisPresenceStore(options);
}
