/**
 * Redis pub/sub backend. A publish is one Lua script call (atomic, so history order is publish
 * order): per channel it numbers the message (`INCR`), keeps it in a list bounded by count
 * (`LPUSH` + `LTRIM`, no expiry) and `PUBLISH`es it. One subscriber connection per process
 * listens to the channels its local subscribers use; ioredis resubscribes it after a Redis
 * restart. Publishes of one process go through one connection, so each process's messages
 * arrive everywhere in its publish order. Messages published while a process is cut off from
 * Redis do not reach it (that is pub/sub); use the streams backend when they must.
 */
import type { Redis } from "ioredis";
import type { BackendHealth, BackendSettings, BackendSink, ChannelBackend, ChannelMessage } from "./backend.js";
import { decodeEnvelope, type Envelope, encodeEnvelope } from "./payload.js";
import type { Logger } from "../connection/logger.js";
import { closeRedis, connectRedis, type RedisConnectionOptions, redisHealth } from "./redis-connection.js";

/** An UNSUBSCRIBE that fails (the backend closing) leaves nothing to undo. */
const IGNORE_UNSUBSCRIBE = (): void => {};
import type { RedisHealth } from "./redis-health.js";

export type RedisPubSubOptions = RedisConnectionOptions;

const PUBLISH = `
local keep = tonumber(ARGV[2])
for i = 3, #ARGV do
  local k = (i - 3) * 2
  local id = redis.call('INCR', KEYS[k + 1])
  local entry = id .. ' ' .. ARGV[1]
  if keep > 0 then
    redis.call('LPUSH', KEYS[k + 2], entry)
    redis.call('LTRIM', KEYS[k + 2], 0, keep - 1)
  end
  redis.call('PUBLISH', ARGV[i], entry)
end
return #ARGV - 2
`;

interface WithPublish {
  statewirePublish(...args: (string | number | Buffer)[]): Promise<number>;
}

const SPACE = 0x20;

/** `"<id> <envelope>"` → the message, or undefined for something else on the same channel. */
function parseEntry(channel: string, entry: Buffer): ChannelMessage | undefined {
  const space = entry.indexOf(SPACE);
  if (space <= 0) return undefined;
  const envelope = decodeEnvelope(entry.subarray(space + 1));
  if (envelope === undefined) return undefined;
  return { ...envelope, channel, id: entry.toString("latin1", 0, space) };
}

class RedisPubSubBackend implements ChannelBackend {
  readonly kind = "redis-pubsub";
  readonly #commands: Redis;
  readonly #subscriber: Redis;
  readonly #prefix: string;
  readonly #sinks = new Set<BackendSink>();
  readonly #listeners = new Map<string, number>();
  readonly #health: RedisHealth;
  #history = 0;
  #closed = false;

  constructor(options: RedisPubSubOptions) {
    this.#prefix = options.keyPrefix ?? "statewire:";
    this.#health = redisHealth(options, this.kind);
    this.#commands = connectRedis(options, "statewire-pubsub", this.#health);
    this.#commands.defineCommand("statewirePublish", { lua: PUBLISH });
    this.#subscriber = connectRedis(options, "statewire-pubsub-subscriber", this.#health);
    const channelPrefix = `${this.#prefix}ch:`;
    this.#subscriber.on("messageBuffer", (pubsubChannel: Buffer, entry: Buffer) => {
      const name = pubsubChannel.toString("utf8");
      if (!name.startsWith(channelPrefix)) return;
      const message = parseEntry(name.slice(channelPrefix.length), entry);
      if (message === undefined) return;
      for (const sink of this.#sinks) sink.deliver(message);
    });
  }

  attach(sink: BackendSink, settings: BackendSettings): () => void {
    this.#sinks.add(sink);
    this.#history = Math.max(this.#history, settings.history);
    return () => void this.#sinks.delete(sink);
  }

  publish(envelope: Envelope, channels: readonly string[]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("The Redis pub/sub backend is closed"));
    const keys: string[] = [];
    for (const channel of channels) keys.push(`${this.#prefix}seq:${channel}`, `${this.#prefix}h:${channel}`);
    const args = [keys.length, ...keys, encodeEnvelope(envelope), this.#history, ...channels.map((channel) => `${this.#prefix}ch:${channel}`)];
    return this.#health.run("publish", () => (this.#commands as unknown as WithPublish).statewirePublish(...args)).then(() => undefined);
  }

  /** Subscribes within `publishTimeoutMs` or rejects with `BackendUnavailableError` (the subscriber then leaves: `unlisten`). */
  async listen(channel: string): Promise<void> {
    const count = (this.#listeners.get(channel) ?? 0) + 1;
    this.#listeners.set(channel, count);
    if (count === 1) await this.#health.run("subscribe", () => this.#subscriber.subscribe(`${this.#prefix}ch:${channel}`));
  }

  /**
   * Not awaited: while Redis is away the UNSUBSCRIBE waits in ioredis's queue, and the channel's
   * next `listen` (chained behind this) must not wait for Redis longer than its own deadline.
   * ioredis sends queued commands in order, before the next SUBSCRIBE.
   */
  async unlisten(channel: string): Promise<void> {
    const count = (this.#listeners.get(channel) ?? 0) - 1;
    if (count > 0) {
      this.#listeners.set(channel, count);
      return;
    }
    this.#listeners.delete(channel);
    if (!this.#closed) this.#subscriber.unsubscribe(`${this.#prefix}ch:${channel}`).catch(IGNORE_UNSUBSCRIBE);
  }

  async history(channel: string, count: number): Promise<ChannelMessage[]> {
    if (count <= 0) return [];
    const entries = await this.#health.run("read history", () => this.#commands.lrangeBuffer(`${this.#prefix}h:${channel}`, 0, count - 1));
    const messages: ChannelMessage[] = [];
    for (let i = entries.length - 1; i >= 0; i--) {
      const message = parseEntry(channel, entries[i]!);
      if (message !== undefined) messages.push(message);
    }
    return messages;
  }

  /** Closes the connections once no channels instance is attached any more. */
  async close(): Promise<void> {
    if (this.#sinks.size > 0 || this.#closed) return;
    this.#closed = true;
    this.#health.close();
    await Promise.all([closeRedis(this.#subscriber), closeRedis(this.#commands)]);
  }

  health(): BackendHealth {
    return this.#health.health();
  }

  useLogger(logger: Logger): void {
    this.#health.useLogger(logger);
  }
}

/** Redis pub/sub between processes, with a bounded history list per channel. */
export function redisPubSubBackend(options: RedisPubSubOptions = {}): ChannelBackend {
  return new RedisPubSubBackend(options);
}
