/**
 * Whether a Redis backend can reach Redis, said out loud. ioredis retries forever and queues
 * commands meanwhile, which keeps a restart invisible to the application — and would keep an
 * outage invisible too. So each backend watches its connections: it is `up` while every one of
 * them is ready, `down` otherwise; going down is logged once per outage (with the error), coming
 * back once; and a publish or history read waits for Redis at most `publishTimeoutMs`, then
 * rejects with `BackendUnavailableError`.
 */
import type { Redis } from "ioredis";
import type { Logger } from "../connection/logger.js";
import type { BackendHealth } from "./backend.js";
import { BackendUnavailableError } from "./errors.js";

interface InFlight {
  readonly operation: string;
  readonly reject: (error: unknown) => void;
  readonly startedAt: number;
}

export class RedisHealth {
  readonly #kind: string;
  readonly #timeoutMs: number;
  readonly #onError: ((error: unknown) => void) | undefined;
  readonly #connections: Redis[] = [];
  /** Connections not ready right now. */
  readonly #notReady = new Set<Redis>();
  /** Commands waiting for Redis, oldest first; each leaves on its deadline. */
  readonly #waiters = new Set<() => void>();
  /** Commands sent and not answered yet. */
  readonly #inFlight = new Set<InFlight>();
  #sweeper: NodeJS.Timeout | undefined;
  /** A command went unanswered past its deadline on a connection that looks ready. */
  #unanswered = false;
  #status: "up" | "down" = "down";
  #since = Date.now();
  #error: string | undefined;
  #logger: Logger | undefined;
  /** The current outage was logged (once per outage). */
  #logged = false;
  #closed = false;

  constructor(kind: string, timeoutMs: number, onError: ((error: unknown) => void) | undefined) {
    if (!(timeoutMs > 0)) throw new RangeError(`${kind}: publishTimeoutMs must be positive, got ${String(timeoutMs)}`);
    this.#kind = kind;
    this.#timeoutMs = timeoutMs;
    this.#onError = onError;
  }

  /** Follow a connection's state; call right after creating it. */
  watch(redis: Redis): void {
    this.#connections.push(redis);
    if (redis.status !== "ready") this.#notReady.add(redis);
    redis.on("ready", () => {
      this.#notReady.delete(redis);
      if (this.#notReady.size > 0) return;
      this.#unanswered = false;
      this.#set("up");
      for (const wake of [...this.#waiters]) if (this.#allReady()) wake();
    });
    redis.on("close", () => {
      this.#notReady.add(redis);
      this.#set("down");
      // A server that died closes the connection without an error; the reconnection's comes later.
      this.#error ??= `the connection to Redis closed (${redis.options.host ?? "?"}:${redis.options.port ?? "?"})`;
      if (this.#status === "down") this.#logDown(this.#error);
    });
    redis.on("error", (error: unknown) => {
      this.#error = error instanceof Error ? error.message : String(error);
      this.#onError?.(error);
      if (this.#status === "down") this.#logDown(error);
    });
  }

  useLogger(logger: Logger): void {
    this.#logger = logger;
    // An error before the app gave its logger (Redis refused the very first connection).
    if (this.#status === "down" && this.#error !== undefined) this.#logDown(this.#error);
  }

  health(): BackendHealth {
    const health = { status: this.#status, since: this.#since };
    return this.#status === "down" && this.#error !== undefined ? { ...health, error: this.#error } : health;
  }

  /** No more logging: the backend is closing its connections on purpose. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  /**
   * `command()` now when every connection is ready, else once they are, if that happens within
   * `publishTimeoutMs`: a command is not queued while Redis is away, so a publish that rejected
   * was not sent. (One sent just before a connection dropped is resent by ioredis when it
   * reconnects, as before.)
   */
  run<T>(operation: string, command: () => Promise<T>): Promise<T> {
    if (this.#allReady()) return this.#send(operation, command);
    return new Promise<T>((resolve, reject) => {
      // Waiting for Redis: woken in call order (publish order) once every connection is ready.
      const wake = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        this.#send(operation, command).then(resolve, reject);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(wake);
        reject(new BackendUnavailableError(this.#kind, operation, this.#timeoutMs, this.#error));
      }, this.#timeoutMs);
      this.#waiters.add(wake);
    });
  }

  /**
   * Issue the command, answered or not within `publishTimeoutMs`: a Redis that stopped answering
   * without closing the connection (paused, partitioned) must not hang the caller either. One
   * sweep timer per backend checks the deadlines, rather than a timer per command.
   */
  #send<T>(operation: string, command: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: InFlight = { operation, reject, startedAt: Date.now() };
      this.#inFlight.add(entry);
      if (this.#sweeper === undefined && !this.#closed) {
        this.#sweeper = setInterval(() => this.#sweep(), Math.max(10, Math.min(1000, this.#timeoutMs / 4)));
        this.#sweeper.unref();
      }
      command().then(
        (value) => {
          if (this.#unanswered && this.#notReady.size === 0) {
            // Redis answers again after leaving commands unanswered.
            this.#unanswered = false;
            this.#set("up");
          }
          if (this.#inFlight.delete(entry)) resolve(value);
        },
        (error: unknown) => {
          if (this.#inFlight.delete(entry)) reject(error);
        },
      );
    });
  }

  #sweep(): void {
    const late = Date.now() - this.#timeoutMs;
    for (const entry of this.#inFlight) {
      if (entry.startedAt > late) break; // oldest first: the rest are younger
      this.#inFlight.delete(entry);
      if (!this.#unanswered) {
        // Connected, but not answering (paused, partitioned): down as well, until a command is answered.
        this.#unanswered = true;
        this.#set("down");
        this.#error ??= `Redis did not answer within ${this.#timeoutMs} ms`;
        this.#logDown(this.#error);
      }
      entry.reject(new BackendUnavailableError(this.#kind, entry.operation, this.#timeoutMs, this.#error));
    }
  }

  #allReady(): boolean {
    return this.#connections.every((redis) => redis.status === "ready");
  }

  #set(status: "up" | "down"): void {
    if (this.#status === status || this.#closed) return;
    this.#status = status;
    this.#since = Date.now();
    if (status === "up") {
      if (this.#logged) this.#logger?.warn({ backend: this.#kind }, `channels backend ${this.#kind} reached Redis again`);
      this.#logged = false;
      this.#error = undefined;
    }
  }

  #logDown(error: unknown): void {
    if (this.#logged || this.#closed || this.#logger === undefined) return;
    this.#logged = true;
    this.#logger.error(
      { err: error, backend: this.#kind },
      `channels backend ${this.#kind} cannot reach Redis: publishes and history reads fail after ${this.#timeoutMs} ms until it is back`,
    );
  }
}
