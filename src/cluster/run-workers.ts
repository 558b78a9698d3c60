/**
 * `runWorkers`: one app on N processes sharing one port, a thin layer over node:cluster. The
 * primary forks the workers and accepts nothing itself but signals: a worker that dies is
 * replaced (bounded, so a crash loop ends), and SIGTERM / SIGINT shut every worker down
 * gracefully (each runs `app.close()`: 1001 to its clients, every cleanup run) before the
 * primary exits. Each worker calls `start()` to build its app and listens on the shared port.
 * Connections of different workers meet only through a shared channels backend (Redis).
 */
import cluster, { type Worker } from "node:cluster";
import { availableParallelism } from "node:os";
import type { App, CloseOptions, ServerAddress } from "../app/app.js";
import { createJsonLogger, type Logger } from "../connection/logger.js";

export interface WorkersOptions {
  /** Worker processes. Default: `os.availableParallelism()`. */
  readonly workers?: number;
  /** Builds the app, in each worker (never in the primary). */
  readonly start: () => App | Promise<App>;
  /** The shared port. Default: `PORT` from the environment, else 8000. */
  readonly port?: number;
  /** Default: `HOST` from the environment, else `127.0.0.1`. */
  readonly host?: string;
  /** What each worker's `app.close()` is given at shutdown. Default `{ code: 1001, timeoutMs: 10_000 }`. */
  readonly close?: CloseOptions;
  /** How long the primary waits for the workers to exit at shutdown before it kills them (SIGKILL) and exits 1. Default: `close.timeoutMs` + 30 000 ms (closing many connections takes a while on a busy machine). */
  readonly killAfterMs?: number;
  /** Replacements allowed within `windowMs` before the primary stops replacing crashed workers. Default `{ max: 10, windowMs: 60_000 }`. */
  readonly restarts?: { readonly max?: number; readonly windowMs?: number };
  /** Where the primary reports worker exits and restarts. Default: JSON lines on stderr, warnings and errors. */
  readonly logger?: Logger;
  /** Signals that start a graceful shutdown. Default `["SIGTERM", "SIGINT"]`. */
  readonly signals?: readonly NodeJS.Signals[];
}

/** What `runWorkers` resolves to in the primary, once every first worker listens. */
export interface Primary {
  readonly role: "primary";
  readonly address: ServerAddress;
  /** Live workers: node:cluster id → pid. */
  workers(): ReadonlyMap<number, number>;
  /** Workers started to replace crashed ones so far. */
  readonly restarts: number;
  /** Shut every worker down gracefully; resolves with the exit code the primary should use (0 when every worker exited 0). */
  shutdown(): Promise<number>;
}

/** What `runWorkers` resolves to in a worker, once its app listens. */
export interface WorkerProcess {
  readonly role: "worker";
  readonly id: number;
  readonly app: App;
  readonly address: ServerAddress;
}

interface ListeningMessage {
  readonly statewire: "listening";
  readonly address: ServerAddress;
}

function isListening(message: unknown): message is ListeningMessage {
  return typeof message === "object" && message !== null && (message as { statewire?: unknown }).statewire === "listening";
}

/** Run `start()`'s app on `workers` processes sharing one port. Call it from the program's entry module. */
export function runWorkers(options: WorkersOptions): Promise<Primary | WorkerProcess> {
  return cluster.isPrimary ? runPrimary(options) : runWorker(options);
}

async function runWorker(options: WorkersOptions): Promise<WorkerProcess> {
  const id = cluster.worker?.id ?? 0;
  const app = await options.start();
  let closing: Promise<void> | undefined;
  const stop = (): void => {
    closing ??= app.close(options.close).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  for (const signal of options.signals ?? ["SIGTERM", "SIGINT"]) process.on(signal, stop);
  // The primary is gone (killed): nobody will ever tell this worker to stop.
  process.once("disconnect", stop);
  const address = await app.listen({ port: options.port ?? Number(process.env.PORT ?? 8000), host: options.host ?? process.env.HOST ?? "127.0.0.1" });
  process.send?.({ statewire: "listening", address } satisfies ListeningMessage);
  return { role: "worker", id, app, address };
}

async function runPrimary(options: WorkersOptions): Promise<Primary> {
  const count = options.workers ?? availableParallelism();
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`workers must be a positive integer, got ${count}`);
  const logger = options.logger ?? createJsonLogger("warn");
  const maxRestarts = options.restarts?.max ?? 10;
  const windowMs = options.restarts?.windowMs ?? 60_000;
  const restartTimes: number[] = [];
  const exitCodes: (number | null)[] = [];
  let restarts = 0;
  let shuttingDown: Promise<number> | undefined;
  let address: ServerAddress | undefined;
  // A worker sends this once it listens; the first one gives the primary its address.
  let firstReady: (() => void) | undefined;
  let neverReady: ((error: Error) => void) | undefined;
  let ready = 0;
  const allReady = new Promise<void>((resolve, reject) => {
    firstReady = resolve;
    neverReady = reject;
  });

  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.on("message", (message: unknown) => {
      if (!isListening(message)) return;
      address ??= message.address;
      if (++ready === count) firstReady?.();
    });
    return worker;
  };

  cluster.on("exit", (worker, code, signal) => {
    if (shuttingDown !== undefined) {
      exitCodes.push(code);
      return;
    }
    logger.warn({ worker: worker.id, pid: worker.process.pid, code, signal }, "worker exited");
    const now = Date.now();
    while (restartTimes.length > 0 && restartTimes[0]! <= now - windowMs) restartTimes.shift();
    if (restartTimes.length >= maxRestarts) {
      logger.error({ restarts: restartTimes.length, windowMs }, "workers keep crashing: not replacing this one");
      neverReady?.(new Error(`runWorkers: workers crashed ${restartTimes.length} times within ${windowMs} ms before all listened (last exit: code ${code}, signal ${signal})`));
      return;
    }
    restartTimes.push(now);
    restarts++;
    const replacement = fork();
    logger.warn({ worker: replacement.id, replaces: worker.id }, "worker replaced");
  });

  for (let i = 0; i < count; i++) fork();
  await allReady;

  const shutdown = (): Promise<number> =>
    (shuttingDown ??= (async () => {
      const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined);
      const exited = workers.map((worker) => new Promise<void>((resolve) => (worker.isDead() ? resolve() : worker.once("exit", () => resolve()))));
      for (const worker of workers) worker.process.kill("SIGTERM");
      // Each worker's app.close() bounds itself; past that and a margin, stop waiting.
      const limit = options.killAfterMs ?? (options.close?.timeoutMs ?? 10_000) + 30_000;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), limit)));
      const outcome = await Promise.race([Promise.all(exited), late]);
      clearTimeout(timer);
      if (outcome === "late") {
        const late = workers.filter((worker) => !worker.isDead());
        logger.error({ workers: late.map((worker) => worker.id), afterMs: limit }, "workers did not exit after shutdown: killed");
        for (const worker of late) worker.process.kill("SIGKILL");
        return 1;
      }
      return exitCodes.every((code) => code === 0) ? 0 : 1;
    })());

  for (const signal of options.signals ?? ["SIGTERM", "SIGINT"]) {
    process.once(signal, () => void shutdown().then((code) => process.exit(code)));
  }

  return {
    role: "primary",
    address: address!,
    workers: () => new Map(Object.values(cluster.workers ?? {}).flatMap((worker) => (worker?.process.pid === undefined ? [] : [[worker.id, worker.process.pid] as const]))),
    get restarts() {
      return restarts;
    },
    shutdown,
  };
}
