/**
 * Connections to Redis for the Redis backends (ioredis): reconnect forever with a capped
 * backoff, resubscribe pub/sub channels after a reconnect, and resend the commands in flight
 * when the connection dropped. A Redis restart therefore costs the application nothing: the
 * backends carry on once Redis answers again. An outage is not silent though: see
 * redis-health.ts (health, logging, and `publishTimeoutMs`).
 */
import { Redis, type RedisOptions } from "ioredis";
import { RedisHealth } from "./redis-health.js";

export interface RedisConnectionOptions {
  /** `redis://[user:password@]host:port[/db]`. Default `redis://127.0.0.1:6379`. */
  readonly url?: string;
  /** Further ioredis options (they win over the backend's defaults). */
  readonly redis?: RedisOptions;
  /** Prefix of every key and pub/sub channel the backend uses. Default `"statewire:"`. */
  readonly keyPrefix?: string;
  /** Longest wait between two reconnection attempts. Default 1 000 ms. */
  readonly maxReconnectDelayMs?: number;
  /** Told about every connection error (they are retried; the app's logger gets the first of each outage). */
  readonly onError?: (error: unknown) => void;
  /**
   * How long a publish, a history read and a subscribe (`join`, `subscribe`) wait for Redis
   * before they reject with `BackendUnavailableError`. While Redis is unreachable nothing is
   * queued: a publish that rejected was not sent. Default 5 000 ms.
   */
  readonly publishTimeoutMs?: number;
}

/** The health tracker of a backend with these options. */
export function redisHealth(options: RedisConnectionOptions, kind: string): RedisHealth {
  return new RedisHealth(kind, options.publishTimeoutMs ?? 5000, options.onError);
}

/** A connection with the reconnect policy the backends rely on. */
export function connectRedis(options: RedisConnectionOptions, name: string, health: RedisHealth): Redis {
  const maxDelay = options.maxReconnectDelayMs ?? 1000;
  const settings: RedisOptions = {
    connectionName: name,
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 10), maxDelay),
    // A command in flight when the connection drops is resent after the reconnection rather than
    // failing after 20 attempts; commands are only issued while Redis is up (RedisHealth.run).
    maxRetriesPerRequest: null,
    autoResubscribe: true,
    autoResendUnfulfilledCommands: true,
    ...options.redis,
  };
  // ioredis types `replyMapping` as possibly undefined in its options but not in its constructor (exactOptionalPropertyTypes).
  const redis = new Redis(options.url ?? "redis://127.0.0.1:6379", settings as Omit<RedisOptions, "replyMapping">);
  // Connection errors are retried by the strategy above; the health tracker listens for them
  // (without a listener ioredis would print them).
  health.watch(redis);
  return redis;
}

/** Close a connection: QUIT when it is up (commands in flight finish), else drop it. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === "ready") {
    try {
      await redis.quit();
      return;
    } catch {
      // fall through
    }
  }
  redis.disconnect();
}
