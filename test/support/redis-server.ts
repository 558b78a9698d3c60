/**
 * Redis for the channels tests: the shared one at 127.0.0.1:6379 when it answers (CI starts
 * it), otherwise a private `redis-server` spawned on a free port for this test worker; and
 * private servers a test can kill and restart on the same port. Every test uses its own key
 * prefix and deletes its keys afterwards. Only 127.0.0.1.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { connect } from "node:net";
import { Redis } from "ioredis";
import { freePort } from "./process.js";

/** Whether a Redis answers PING at host:port within `timeoutMs`. */
export function redisAnswers(port: number, host = "127.0.0.1", timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let answer = "";
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      answer += chunk.toString("latin1");
      if (answer.includes("\r\n")) done(answer.startsWith("+PONG"));
    });
    socket.on("error", () => done(false));
  });
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Kill it (SIGKILL: a crash, no goodbye to clients) and wait until it exited. */
  kill(): Promise<void>;
  /** Start it again on the same port and wait until it answers. */
  start(): Promise<void>;
  /** Kill it for good. */
  stop(): Promise<void>;
  /** SIGSTOP: connections stay open, nothing is answered (a hung or partitioned Redis). */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
}

const children = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A private `redis-server` on a free 127.0.0.1 port, without persistence. */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stderr = "";
  const start = async (): Promise<void> => {
    const spawned = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    child = spawned;
    children.add(spawned);
    spawned.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    exited = new Promise<void>((resolve) => spawned.once("exit", () => {
      children.delete(spawned);
      resolve();
    }));
    spawned.once("error", (error) => (stderr += String(error)));
    await waitFor(() => redisAnswers(port), 10_000, `redis-server on port ${port} (${stderr})`);
  };
  const kill = async (): Promise<void> => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
    await waitFor(async () => !(await redisAnswers(port, "127.0.0.1", 200)), 5000, `redis-server on port ${port} to stop`);
  };
  await start();
  const signal = (name: NodeJS.Signals): void => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill(name);
  };
  return { port, url: `redis://127.0.0.1:${port}`, kill, start, stop: kill, pause: () => signal("SIGSTOP"), resume: () => signal("SIGCONT") };
}

let shared: Promise<string> | undefined;

/** The Redis the tests use: 127.0.0.1:6379 if it answers, else a private one for this worker. */
export function redisUrl(): Promise<string> {
  return (shared ??= (async () => {
    if (await redisAnswers(6379)) return "redis://127.0.0.1:6379";
    const server = await startRedisServer();
    return server.url;
  })());
}

/** A key prefix no other test run uses. */
export function uniquePrefix(name: string): string {
  return `statewire-test:${name}:${randomUUID()}:`;
}

/** Delete every key under `prefix`. */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/** A plain client for a test's own checks (TTL, XLEN…). */
export function redisClient(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  return redis;
}
