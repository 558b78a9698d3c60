/**
 * Connections to Redis for the Redis backends (ioredis): reconnect forever with a capped
 * backoff, resubscribe pub/sub channels after a reconnect, and resend the commands in flight
 * when the connection dropped. A Redis restart therefore costs the application nothing: the
 * backends carry on once Redis answers again.
 */
import { Redis, type RedisOptions } from "ioredis";

export interface RedisConnectionOptions {
  /** `redis://[user:password@]host:port[/db]`. Default `redis://127.0.0.1:6379`. */
  readonly url?: string;
  /** Further ioredis options (they win over the backend's defaults). */
  readonly redis?: RedisOptions;
  /** Prefix of every key and pub/sub channel the backend uses. Default `"statewire:"`. */
  readonly keyPrefix?: string;
  /** Longest wait between two reconnection attempts. Default 1 000 ms. */
  readonly maxReconnectDelayMs?: number;
  /** Told about connection errors (they are retried; by default they are not reported). */
  readonly onError?: (error: unknown) => void;
}

/** A connection with the reconnect policy the backends rely on. */
export function connectRedis(options: RedisConnectionOptions, name: string): Redis {
  const maxDelay = options.maxReconnectDelayMs ?? 1000;
  const settings: RedisOptions = {
    connectionName: name,
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 10), maxDelay),
    // A command issued while Redis is away waits for the reconnection instead of failing after
    // 20 attempts; bounded by the caller (publish rejects only when the backend closes).
    maxRetriesPerRequest: null,
    autoResubscribe: true,
    autoResendUnfulfilledCommands: true,
    ...options.redis,
  };
  // ioredis types `replyMapping` as possibly undefined in its options but not in its constructor (exactOptionalPropertyTypes).
  const redis = new Redis(options.url ?? "redis://127.0.0.1:6379", settings as Omit<RedisOptions, "replyMapping">);
  // Connection errors are retried by the strategy above; without a listener ioredis would print them.
  redis.on("error", options.onError ?? (() => {}));
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
