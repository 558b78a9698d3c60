/**
 * The scale run: N concurrent idle WebSocket connections across W workers (examples/workers.ts
 * with channels over Redis), opened by G load-generator processes from many 127.x.y.z source
 * addresses; one broadcast that must reach every connection; the servers' RSS per connection;
 * then SIGTERM to the primary, which must close every connection with 1001 and run every cleanup.
 *
 *   node --import tsx bench/scale.ts                       # 100 000 connections, 8 workers, 6 generators
 *   node --import tsx bench/scale.ts --connections 10000 --workers 2 --generators 2
 *
 * Needs Redis (REDIS_URL, default redis://127.0.0.1:6379). Every process here is bounded by the
 * open-files limit (`ulimit -n`): a generator holds N/G sockets, a worker about N/W. Prints a
 * `scale: {json}` summary and exits 0 only when every check held. Everything stops by itself
 * within --timeout-s (default 1800).
 */
import { type ChildProcess, fork, spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { parseArgs } from "node:util";
import type { ScaleCommand, ScaleReply } from "./scale-client.js";

const { values } = parseArgs({
  options: {
    connections: { type: "string", default: "100000" },
    workers: { type: "string", default: "8" },
    generators: { type: "string", default: "6" },
    concurrency: { type: "string", default: "100" },
    "per-address": { type: "string", default: "20000" },
    "timeout-s": { type: "string", default: "1800" },
    /** Each worker's close deadline at shutdown: closing ~12,500 connections per worker takes a while on 2 cores. */
    "close-timeout-s": { type: "string", default: "60" },
  },
});
const N = Number(values.connections);
const W = Number(values.workers);
const G = Number(values.generators);
const CONCURRENCY = Number(values.concurrency);
const PER_ADDRESS = Number(values["per-address"]);
const TIMEOUT_MS = Number(values["timeout-s"]) * 1000;
const ROOT = new URL("..", import.meta.url).pathname;

const children: ChildProcess[] = [];
const killAll = (): void => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
};
process.on("exit", killAll);
const deadline = setTimeout(() => {
  console.error(`scale: over ${TIMEOUT_MS / 1000} s, giving up`);
  killAll();
  process.exit(2);
}, TIMEOUT_MS);
deadline.unref();

function openFilesLimit(): number {
  const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
  return Number(line?.split(/\s+/)[3] ?? 1024);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

function rssKiB(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"));
    return Number(line?.split(/\s+/)[1] ?? 0);
  } catch {
    return 0;
  }
}

function childPids(pid: number): number[] {
  const out = spawnSync("ps", ["--ppid", String(pid), "-o", "pid="], { encoding: "utf8" }).stdout;
  return out.split("\n").map((s) => Number(s.trim())).filter((n) => n > 0);
}

function waitFor<T>(what: string, check: () => T | undefined, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      const value = check();
      if (value !== undefined) return resolve(value);
      if (Date.now() > end) return reject(new Error(`scale: timed out waiting for ${what}`));
      setTimeout(tick, 50);
    };
    tick();
  });
}

const limit = openFilesLimit();
const perGenerator = Math.ceil(N / G);
// Round-robin spreads connections evenly; leave room for an uneven share and the process's own files.
const perWorker = Math.ceil((N / W) * 1.1);
if (perGenerator > limit - 200) throw new Error(`scale: ${perGenerator} connections per generator exceed the open-files limit ${limit}: use more --generators`);
if (perWorker > limit - 200) throw new Error(`scale: about ${perWorker} connections per worker exceed the open-files limit ${limit}: use more --workers`);

const port = await freePort();
const prefix = `statewire-scale:${process.pid}:${Date.now()}:`;
const server = spawn(process.execPath, ["--conditions=statewire-source", "--import", "tsx", "examples/workers.ts"], {
  cwd: ROOT,
  env: { ...process.env, WORKERS: String(W), PORT: String(port), HOST: "127.0.0.1", REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379", REDIS_PREFIX: prefix, CLOSE_TIMEOUT_MS: String(Number(values["close-timeout-s"]) * 1000) },
  stdio: ["ignore", "pipe", "inherit"],
});
children.push(server);
let serverOut = "";
server.stdout?.setEncoding("utf8").on("data", (chunk: string) => (serverOut += chunk));
const serverExit = new Promise<number | null>((resolve) => server.once("exit", (code) => resolve(code)));
await waitFor("the server to listen", () => (serverOut.includes("listening on") ? true : undefined), 180_000);
const serverPids = (): number[] => [server.pid!, ...childPids(server.pid!)];
const rssBefore = serverPids().reduce((sum, pid) => sum + rssKiB(pid), 0);
console.error(`scale: ${W} workers listening on ${port}; opening ${N} connections from ${G} generators (open-files limit ${limit})`);

interface Generator {
  readonly child: ChildProcess;
  readonly replies: ScaleReply[];
}
const generators: Generator[] = [];
const openStarted = Date.now();
for (let g = 0; g < G; g++) {
  const child = fork(new URL("./scale-client.ts", import.meta.url).pathname, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  children.push(child);
  const generator: Generator = { child, replies: [] };
  child.on("message", (reply: ScaleReply) => generator.replies.push(reply));
  const count = Math.min(perGenerator, N - g * perGenerator);
  child.send({ type: "open", url: `ws://127.0.0.1:${port}/live`, count, generator: g, perAddress: PER_ADDRESS, concurrency: CONCURRENCY } satisfies ScaleCommand);
  generators.push(generator);
}
const reply = <T extends ScaleReply["type"]>(generator: Generator, type: T): Extract<ScaleReply, { type: T }> | undefined =>
  generator.replies.find((r): r is Extract<ScaleReply, { type: T }> => r.type === type);
const opened = await waitFor("every generator to open its connections", () => (generators.every((g) => reply(g, "opened")) ? generators.map((g) => reply(g, "opened")!) : undefined), TIMEOUT_MS);
const openSeconds = (Date.now() - openStarted) / 1000;
const openCount = opened.reduce((sum, r) => sum + r.opened, 0);
const failed = opened.reduce((sum, r) => sum + r.failed, 0);
// Let the servers settle (GC, buffers) before reading their memory.
await new Promise((resolve) => setTimeout(resolve, 3000));
const rssAfter = serverPids().reduce((sum, pid) => sum + rssKiB(pid), 0);
console.error(`scale: ${openCount} open (${failed} failed${opened.find((r) => r.firstError)?.firstError ? `: ${opened.find((r) => r.firstError)!.firstError}` : ""}) in ${openSeconds.toFixed(1)} s`);

const marker = `scale-marker-${Date.now()}`;
for (const g of generators) g.child.send({ type: "expect", marker } satisfies ScaleCommand);
await new Promise((resolve) => setTimeout(resolve, 200));
const broadcastAt = Date.now();
const answer = await fetch(`http://127.0.0.1:${port}/broadcast`, { method: "POST", body: marker });
if (answer.status !== 200) throw new Error(`scale: broadcast answered ${answer.status}`);
const everyReceived = (): Array<Extract<ScaleReply, { type: "received" }>> | undefined =>
  generators.every((g) => reply(g, "received")) ? generators.map((g) => reply(g, "received")!) : undefined;
const reached = await waitFor("the broadcast to reach every connection", everyReceived, 120_000).catch(async () => {
  // Not every client got it: ask each generator how far it got, and which connections had closed.
  for (const g of generators) g.child.send({ type: "report" } satisfies ScaleCommand);
  return waitFor("the generators' reports", everyReceived, 30_000);
});
const receivedCount = reached.reduce((sum, r) => sum + r.received, 0);
const broadcastMs = Math.max(...reached.map((r) => r.lastAt)) - broadcastAt;
const closedEarly: Record<string, number> = {};
for (const r of reached) for (const [code, n] of Object.entries(r.closedEarly)) closedEarly[code] = (closedEarly[code] ?? 0) + n;
console.error(`scale: broadcast reached ${receivedCount} in ${broadcastMs} ms`);

const shutdownAt = Date.now();
server.kill("SIGTERM");
const closes = await waitFor("every connection to close", () => (generators.every((g) => reply(g, "closed")) ? generators.map((g) => reply(g, "closed")!) : undefined), 300_000).catch(() => generators.map((g) => reply(g, "closed") ?? { type: "closed" as const, codes: {} }));
const exitCode = await serverExit;
const shutdownSeconds = (Date.now() - shutdownAt) / 1000;
const codes: Record<string, number> = {};
for (const c of closes) for (const [code, n] of Object.entries(c.codes)) codes[code] = (codes[code] ?? 0) + n;
const finals = [...serverOut.matchAll(/^worker (\d+) closed (\{.*\})$/gm)].map((m) => JSON.parse(m[2]!) as { started: number; closed: number; open: number; handlers: { started: number; finished: number } });
const cleanups = finals.reduce((sum, f) => sum + f.closed, 0);
const started = finals.reduce((sum, f) => sum + f.started, 0);
const handlersUnfinished = finals.reduce((sum, f) => sum + f.handlers.started - f.handlers.finished, 0);
for (const g of generators) g.child.disconnect();

const summary = {
  connections: openCount,
  failed,
  workers: W,
  generators: G,
  openSeconds: Math.round(openSeconds * 10) / 10,
  rssMiB: { before: Math.round(rssBefore / 1024), after: Math.round(rssAfter / 1024) },
  rssPerConnectionKiB: Math.round(((rssAfter - rssBefore) / Math.max(openCount, 1)) * 100) / 100,
  broadcast: { reached: receivedCount, toLastClientMs: broadcastMs, closedBeforeIt: closedEarly },
  shutdown: { seconds: Math.round(shutdownSeconds * 10) / 10, codes, serverExit: exitCode, workersReported: finals.length, started, cleanups, handlersUnfinished },
};
console.log(`scale: ${JSON.stringify(summary)}`);
const ok =
  openCount === N && receivedCount === N && codes["1001"] === N && Object.keys(codes).length === 1 && exitCode === 0 && finals.length === W && cleanups === started && started >= N && handlersUnfinished === 0;
if (!ok) console.error("scale: FAILED (see the summary)");
clearTimeout(deadline);
process.exit(ok ? 0 : 1);
