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

export class RedisHealth {
  readonly #kind: string;
  readonly #timeoutMs: number;
  readonly #onError: ((error: unknown) => void) | undefined;
  readonly #connections: Redis[] = [];
  /** Connections not ready right now. */
  readonly #notReady = new Set<Redis>();
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
      if (this.#notReady.size === 0) this.#set("up");
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
  }

  /**
   * `command()` once every connection is ready, within `publishTimeoutMs` in all: a command is
   * not queued while Redis is away, so a publish that rejected was not sent. (One sent just
   * before a connection dropped is resent by ioredis and may still land after the rejection.)
   */
  run<T>(operation: string, command: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.#timeoutMs;
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let waiting: Redis | undefined;
      const onReady = (): void => attempt();
      const stopWaiting = (): void => {
        waiting?.off("ready", onReady);
        waiting = undefined;
      };
      const fail = (): void => {
        stopWaiting();
        reject(new BackendUnavailableError(this.#kind, operation, this.#timeoutMs, this.#error));
      };
      const attempt = (): void => {
        stopWaiting();
        const notReady = this.#connections.find((redis) => redis.status !== "ready");
        if (notReady !== undefined) {
          waiting = notReady;
          notReady.once("ready", onReady);
          return;
        }
        command().then(
          (value) => {
            clearTimeout(timer);
            resolve(value);
          },
          (error: unknown) => {
            clearTimeout(timer);
            reject(error);
          },
        );
      };
      timer = setTimeout(fail, Math.max(0, deadline - Date.now()));
      attempt();
    });
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
