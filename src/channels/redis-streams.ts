/**
 * Redis streams backend: each channel is a stream (`XADD … MAXLEN ~ n`, bounded by count, no
 * expiry unless `expireAfterMs`), so its history is in Redis, outlives any statewire process, and
 * is the same from every process. One reader connection per process follows every channel its
 * local subscribers use with one `XREAD BLOCK`, from the last id it saw of each: after a Redis
 * restart (or a lost connection) it resumes from there, so nothing is skipped or repeated.
 *
 * The reader also follows a private "wake" stream: adding a channel appends to it, which ends
 * the blocking read at once (there is no window in which the append can be missed, unlike
 * `CLIENT UNBLOCK`), and the next read includes the new channel.
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { type BackendHealth, type BackendSettings, type BackendSink, type ChannelBackend, type ChannelMessage, compareIds } from "./backend.js";
import { decodeEnvelope, type Envelope, encodeEnvelope } from "./payload.js";
import type { Logger } from "../connection/logger.js";
import { closeRedis, connectRedis, type RedisConnectionOptions, redisHealth } from "./redis-connection.js";
import type { RedisHealth } from "./redis-health.js";

export interface RedisStreamsOptions extends RedisConnectionOptions {
  /**
   * Approximate bound of each channel's stream (`MAXLEN ~`). It also bounds how far a process's
   * reader may fall behind a burst of publishes before entries are trimmed under it. Default:
   * the channels' `history`, at least 1 000.
   */
  readonly maxLen?: number;
  /** Delete a channel's stream after this long without a publish (`PEXPIRE`). Default: never. */
  readonly expireAfterMs?: number;
  /** Longest single `XREAD BLOCK`. Default 5 000 ms. */
  readonly blockMs?: number;
  /** Most entries one read returns. Default 1 000. */
  readonly readCount?: number;
}

type StreamReply = [key: Buffer, entries: [id: Buffer, fields: Buffer[]][]][] | null;

const FIELD = "m";
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function toMessage(channel: string, id: string, fields: Buffer[]): ChannelMessage | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i]!.toString("latin1") !== FIELD) continue;
    const envelope = decodeEnvelope(fields[i + 1]!);
    return envelope === undefined ? undefined : { ...envelope, channel, id };
  }
  return undefined;
}

class RedisStreamsBackend implements ChannelBackend {
  readonly kind = "redis-streams";
  readonly #commands: Redis;
  readonly #reader: Redis;
  readonly #prefix: string;
  readonly #wakeKey: string;
  readonly #options: RedisStreamsOptions;
  readonly #sinks = new Set<BackendSink>();
  readonly #listeners = new Map<string, number>();
  /** Channel → the last id delivered (or seen when listening began). */
  readonly #cursors = new Map<string, string>();
  #wakeCursor = "0-0";
  #history = 0;
  #closed = false;
  #loop: Promise<void> | undefined;
  readonly #health: RedisHealth;

  constructor(options: RedisStreamsOptions) {
    this.#options = options;
    this.#prefix = options.keyPrefix ?? "statewire:";
    this.#wakeKey = `${this.#prefix}wake:${randomUUID()}`;
    this.#health = redisHealth(options, this.kind);
    this.#commands = connectRedis(options, "statewire-streams", this.#health);
    this.#reader = connectRedis(options, "statewire-streams-reader", this.#health);
  }

  health(): BackendHealth {
    return this.#health.health();
  }

  useLogger(logger: Logger): void {
    this.#health.useLogger(logger);
  }

  #key(channel: string): string {
    return `${this.#prefix}s:${channel}`;
  }

  attach(sink: BackendSink, settings: BackendSettings): () => void {
    this.#sinks.add(sink);
    this.#history = Math.max(this.#history, settings.history);
    return () => void this.#sinks.delete(sink);
  }

  publish(envelope: Envelope, channels: readonly string[]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("The Redis streams backend is closed"));
    const maxLen = this.#options.maxLen ?? Math.max(1000, this.#history);
    const entry = encodeEnvelope(envelope);
    const expire = this.#options.expireAfterMs;
    return this.#health.run("publish", () => {
      const writes: Promise<unknown>[] = [];
      for (const channel of channels) {
        const key = this.#key(channel);
        writes.push(this.#commands.xadd(key, "MAXLEN", "~", maxLen, "*", FIELD, entry));
        if (expire !== undefined) writes.push(this.#commands.pexpire(key, expire));
      }
      return Promise.all(writes);
    }).then(() => undefined);
  }

  /** Starts reading within `publishTimeoutMs` or rejects with `BackendUnavailableError` (the subscriber then leaves: `unlisten`). */
  async listen(channel: string): Promise<void> {
    const count = (this.#listeners.get(channel) ?? 0) + 1;
    this.#listeners.set(channel, count);
    if (count > 1) return;
    // Every entry after the current last one is live for us; history covers the rest.
    const latest = await this.#health.run("subscribe", () => this.#commands.xrevrange(this.#key(channel), "+", "-", "COUNT", 1));
    const last = latest[0]?.[0] ?? "0-0";
    if (!this.#listeners.has(channel) || this.#closed) return;
    this.#cursors.set(channel, last);
    this.#loop ??= this.#read();
    await this.#health.run("subscribe", async () => {
      await this.#commands.xadd(this.#wakeKey, "MAXLEN", "1", "*", "w", "1");
      await this.#commands.pexpire(this.#wakeKey, 3_600_000);
    });
  }

  async unlisten(channel: string): Promise<void> {
    const count = (this.#listeners.get(channel) ?? 0) - 1;
    if (count > 0) {
      this.#listeners.set(channel, count);
      return;
    }
    this.#listeners.delete(channel);
    this.#cursors.delete(channel);
  }

  async history(channel: string, count: number): Promise<ChannelMessage[]> {
    if (count <= 0) return [];
    const entries = (await this.#health.run("read history", () => this.#commands.xrevrangeBuffer(this.#key(channel), "+", "-", "COUNT", count))) as [Buffer, Buffer[]][];
    const messages: ChannelMessage[] = [];
    for (let i = entries.length - 1; i >= 0; i--) {
      const [id, fields] = entries[i]!;
      const message = toMessage(channel, id.toString("latin1"), fields);
      if (message !== undefined) messages.push(message);
    }
    return messages;
  }

  async #read(): Promise<void> {
    const streamPrefix = `${this.#prefix}s:`;
    const blockMs = this.#options.blockMs ?? 5000;
    const readCount = this.#options.readCount ?? 1000;
    let failures = 0;
    while (!this.#closed) {
      const channels = [...this.#cursors.keys()];
      const keys = [this.#wakeKey, ...channels.map((channel) => this.#key(channel))];
      const ids = [this.#wakeCursor, ...channels.map((channel) => this.#cursors.get(channel)!)];
      let reply: StreamReply;
      try {
        reply = (await this.#reader.xreadBuffer("COUNT", readCount, "BLOCK", blockMs, "STREAMS", ...keys, ...ids)) as StreamReply;
        failures = 0;
      } catch (error) {
        if (this.#closed) return;
        this.#options.onError?.(error);
        // The connection is being re-established; ioredis retries on its own, we only pace ourselves.
        await sleep(Math.min(1000, 50 * 2 ** failures++));
        continue;
      }
      if (reply === null) continue;
      for (const [rawKey, entries] of reply) {
        const key = rawKey.toString("utf8");
        if (key === this.#wakeKey) {
          const last = entries[entries.length - 1];
          if (last !== undefined) this.#wakeCursor = last[0].toString("latin1");
          continue;
        }
        const channel = key.slice(streamPrefix.length);
        for (const [rawId, fields] of entries) {
          const cursor = this.#cursors.get(channel);
          const id = rawId.toString("latin1");
          // Never deliver twice or backwards (a read that began before the channel was re-listened).
          if (cursor === undefined || compareIds(id, cursor) <= 0) continue;
          this.#cursors.set(channel, id);
          const message = toMessage(channel, id, fields);
          if (message === undefined) continue;
          for (const sink of this.#sinks) sink.deliver(message);
        }
      }
    }
  }

  /** Closes the connections once no channels instance is attached any more. */
  async close(): Promise<void> {
    if (this.#sinks.size > 0 || this.#closed) return;
    this.#closed = true;
    this.#health.close();
    this.#reader.disconnect();
    try {
      if (this.#commands.status === "ready") await this.#commands.del(this.#wakeKey);
    } catch {
      // best effort: it expires anyway
    }
    await closeRedis(this.#commands);
    await this.#loop;
  }
}

/** Redis streams between processes: history in Redis (bounded, no expiry by default), resumed after restarts. */
export function redisStreamsBackend(options: RedisStreamsOptions = {}): ChannelBackend {
  return new RedisStreamsBackend(options);
}
