/**
 * `npm run bench`: statewire side by side with raw `ws` and socket.io, in one run.
 *
 *   npm run bench                 # full: about 5 minutes on 2 cores
 *   npm run bench -- --quick      # ≈ 30 s: one round, shorter windows, 2,000 idle connections, fan-out to 1,000
 *   npm run bench -- --phases=echo,handshake   # a subset (echo, handshake, idle, fanout); nothing saved
 *   BENCH_ROWS=fanout,handshake npm run bench  # the same, from the environment
 *   npm run bench -- --servers=sw-listener     # only these servers (+ raw ws); nothing saved
 *   npm run bench -- --quick --phases=echo --servers=sw-listener-metrics
 *                                 # one row: the listener echo with metrics on (and off, its reference)
 *   npm run bench -- --source     # statewire from its TypeScript sources (tsx) instead of compiled with tsc
 *   npm run bench -- --profile=sw-listener@4096,sw-websocket@handshake,sw-websocket@idle
 *                                 # CPU profiles of a server and its raw ws reference, compared per message / handshake;
 *                                 # @idle: heap snapshots, what one idle connection keeps, by constructor
 *
 * Servers (each its own process, pinned to core 0 with `taskset`): raw `ws` echo, statewire's
 * low-level echo (`websocket()`), its listener echo (text, and JSON validated by an effect
 * schema), its listener echo with the metrics plugin on (`statewire/metrics`, against the same
 * listener without it), socket.io echo; for fan-out: a loop over raw `ws` clients, statewire's channels
 * (`createChannels`, memory and Redis backends) and a loop over its sockets, socket.io rooms.
 * Every server uses `bufferutil` as statewire ships it; the full run adds 4 KiB echo without it
 * (WS_NO_BUFFER_UTIL=1) for raw `ws` and statewire's low-level echo, and two reference raw `ws`
 * echoes: one decoding each message to a string and sending a string back, as statewire's text
 * API does; one parsing and stringifying the JSON messages, as the JSON listener must.
 *
 * Load generators (`loadgen.ts`, core 1) are separate processes writing pre-masked frames to
 * `net` sockets; the `ws` client and `socket.io-client` only check that each server answers
 * right before it is measured. 127.0.0.0/8 only: connections come from many 127.0.x.y source
 * addresses (ports never run out; handshake runs start free of old TIME_WAIT entries).
 *
 * Phases, each interleaving the servers (A B C A B C …), medians of the rounds:
 * - echo: 100 connections, 16 messages in flight each, 64 B and 4 KiB: messages/s, round-trip
 *   p50 / p99 (timed in the load generator, send → echo), server CPU per message;
 * - handshake: 50 connections in flight, each opened and closed again (close frame, TCP gone);
 * - idle: 10,000 idle connections (fresh servers with --expose-gc): RSS and heap per connection
 *   after GC, minus the server's baseline;
 * - fanout: one message to 1,000 then 10,000 subscribers (two client processes): time from the
 *   publish call until the last subscriber has it (monotonic clock shared by all processes).
 *
 * Output: the table on stdout, `bench/results/latest.{json,md,svg}` plus a dated JSON copy
 * (`--quick`: `bench/results/quick.{json,md,svg}`). Every child is killed on exit or error.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { type ChildProcess, spawnSync } from "node:child_process";
import { WebSocket } from "ws";
import { io as socketIoClient } from "socket.io-client";
import { loadProfile, loadSourceMaps, printComparison, printSummary, summarize, type TimeWindow } from "./cpuprofile-top.js";
import { renderChart } from "./lib/chart.js";
import { type CensusDiff, diffCensus, heapCensus, holdersOf } from "./lib/heap.js";
import {
  BENCH,
  compileStatewire,
  cpuUs,
  guardChildren,
  hasTaskset,
  killAll,
  loadCommand,
  median,
  pin,
  request,
  ROOT,
  serverBroadcast,
  serverStats,
  sleep,
  type StartedServer,
  startLoadgen,
  startServer,
  stopServer,
  withTimeout,
} from "./lib/procs.js";
import { type BenchResults, type EchoRow, type FanoutRow, type HandshakeRow, type IdleRow, type ServerInfo, type Target, renderMarkdown, renderTable } from "./lib/report.js";
import { echoPayload, type FanoutReport, type PayloadKind, type Protocol } from "./loadgen.js";
import { freshAddresses } from "./lib/addresses.js";

const argv = process.argv.slice(2);
const QUICK = argv.includes("--quick");
/** `--phases=` or the environment's `BENCH_ROWS` (same names): a subset of the phases. */
const phasesArg = argv.find((arg) => arg.startsWith("--phases="))?.slice("--phases=".length) ?? (process.env.BENCH_ROWS || undefined);
const PHASES = new Set(phasesArg === undefined ? ["echo", "handshake", "idle", "fanout"] : phasesArg.split(","));
const serversArg = argv.find((arg) => arg.startsWith("--servers="))?.slice("--servers=".length);
const profileArg = argv.find((arg) => arg.startsWith("--profile="))?.slice("--profile=".length);
/** Run statewire from its TypeScript sources through tsx instead of the compiled build. */
const FROM_SOURCE = argv.includes("--source");
const SAVE = phasesArg === undefined && serversArg === undefined && profileArg === undefined && !argv.includes("--no-save");

const CONFIG = QUICK
  ? { rounds: 1, warmupMs: 300, measureMs: 800, handshakeRounds: 1, handshakeMs: 800, idleConnections: 2000, fanoutSizes: [1000], broadcasts: 3, noBufferutil: false }
  : { rounds: 3, warmupMs: 600, measureMs: 1500, handshakeRounds: 3, handshakeMs: 1500, idleConnections: 10_000, fanoutSizes: [1000, 10_000], broadcasts: 5, noBufferutil: true };
const CONNECTIONS = 100;
const WINDOW = 16;
const SIZES = [64, 4096] as const;
const HANDSHAKE_CONCURRENCY = 50;
const IDLE_WARM = 20;
const FANOUT_PAYLOAD = 64;
const SERVER_CORE = 0;
const LOAD_CORE = 1;
const DEADLINE_MS = QUICK ? 90_000 : 330_000;
const T0 = performance.now();
/**
 * Time budgets (ms since start) past which later rounds are skipped (medians of fewer runs) so
 * the whole run stays within the deadline on a busy machine: [handshake rounds, echo rounds,
 * idle phase, fan-out phase], in the order they run.
 */
const BUDGET = QUICK ? { handshake: 15_000, echo: 40_000, idle: 50_000, fanout: 60_000 } : { handshake: 60_000, echo: 165_000, idle: 230_000, fanout: 255_000 };
const skipped: string[] = [];
function within(budget: keyof typeof BUDGET, what: string): boolean {
  if (performance.now() - T0 <= BUDGET[budget]) return true;
  skipped.push(what);
  log(`  (skipped for time: ${what})`);
  return false;
}

guardChildren("bench", DEADLINE_MS);

// ---- statewire as it ships: compiled with tsc -------------------------------------------------------

/** Given to every server (only statewire's read it): which statewire to load. */
const SERVER_ENV: Record<string, string> = {};

function buildStatewire(): void {
  const { entry, ms, warning } = compileStatewire();
  if (warning !== undefined) log(`  (tsc reported errors but emitted: ${warning})`);
  SERVER_ENV.STATEWIRE_ENTRY = entry;
  log(`statewire compiled with tsc into ${path.relative(ROOT, path.dirname(path.dirname(entry)))} in ${fmt(ms / 1000, 1)} s`);
}

// ---- servers ----------------------------------------------------------------------------------

interface EchoServer extends ServerInfo {
  readonly script: string;
  readonly env: Readonly<Record<string, string>>;
  readonly path: string;
  readonly protocol: Protocol;
  readonly payload: PayloadKind;
  /** Sizes this server is measured at. */
  readonly sizes: readonly number[];
  /** Also in the handshake and idle phases. */
  readonly connections: boolean;
}

const script = (name: string): string => path.join(BENCH, "servers", name);
const NO_BU = { WS_NO_BUFFER_UTIL: "1" } as const;
const SIO_PATH = "/socket.io/?EIO=4&transport=websocket";

const ALL_ECHO_SERVERS: readonly EchoServer[] = [
  { key: "raw", label: "raw ws", family: "raw", bufferutil: true, reference: "raw", script: script("raw-ws.ts"), env: {}, path: "/ws", protocol: "ws", payload: "text", sizes: SIZES, connections: true },
  { key: "sw-websocket", label: "statewire low-level", family: "statewire", bufferutil: true, reference: "raw", script: script("statewire-echo.ts"), env: { HANDLER: "websocket" }, path: "/ws", protocol: "ws", payload: "text", sizes: SIZES, connections: true },
  { key: "sw-listener", label: "statewire listener", family: "statewire", bufferutil: true, reference: "raw", script: script("statewire-echo.ts"), env: { HANDLER: "listener" }, path: "/ws", protocol: "ws", payload: "text", sizes: SIZES, connections: true },
  { key: "sw-listener-metrics", label: "statewire listener, metrics on", family: "statewire", bufferutil: true, reference: "raw", script: script("statewire-echo.ts"), env: { HANDLER: "listener", METRICS: "1" }, path: "/ws", protocol: "ws", payload: "text", sizes: SIZES, connections: false },
  { key: "sw-machine", label: "statewire machine echo", family: "statewire", bufferutil: true, reference: "raw", script: script("statewire-echo.ts"), env: { HANDLER: "machine" }, path: "/ws", protocol: "ws", payload: "text", sizes: SIZES, connections: true },
  { key: "sw-json", label: "statewire listener, JSON + schema", family: "statewire", bufferutil: true, reference: "raw", script: script("statewire-echo.ts"), env: { HANDLER: "json" }, path: "/ws", protocol: "ws", payload: "json", sizes: SIZES, connections: false },
  { key: "socketio", label: "socket.io", family: "socketio", bufferutil: true, reference: "raw", script: script("socketio.ts"), env: {}, path: SIO_PATH, protocol: "socketio", payload: "text", sizes: SIZES, connections: true },
  ...(CONFIG.noBufferutil
    ? ([
        // Reference: raw ws doing what statewire's text API does — decode each message to a string, send a string.
        { key: "raw-string", label: "raw ws, string echo (reference)", family: "raw", bufferutil: true, reference: "raw", script: script("raw-ws.ts"), env: { ECHO_MODE: "string" }, path: "/ws", protocol: "ws", payload: "text", sizes: SIZES, connections: false },
        // Reference: raw ws parsing and stringifying the JSON messages the JSON listener gets (no validation).
        { key: "raw-json", label: "raw ws, JSON.parse + stringify (reference)", family: "raw", bufferutil: true, reference: "raw", script: script("raw-ws.ts"), env: { ECHO_MODE: "json" }, path: "/ws", protocol: "ws", payload: "json", sizes: SIZES, connections: false },
        { key: "raw-nobu", label: "raw ws, no bufferutil", family: "raw", bufferutil: false, reference: "raw-nobu", script: script("raw-ws.ts"), env: NO_BU, path: "/ws", protocol: "ws", payload: "text", sizes: [4096], connections: false },
        { key: "sw-websocket-nobu", label: "statewire low-level, no bufferutil", family: "statewire", bufferutil: false, reference: "raw-nobu", script: script("statewire-echo.ts"), env: { HANDLER: "websocket", ...NO_BU }, path: "/ws", protocol: "ws", payload: "text", sizes: [4096], connections: false },
      ] satisfies EchoServer[])
    : []),
];

/** Servers measured against another statewire server (metrics on against off): `--servers` brings that one along. */
const PAIRED: Readonly<Record<string, string>> = { "sw-listener-metrics": "sw-listener" };
/** `--servers=raw,sw-listener`: only those (raw ws always, for the ratios, and what they are paired with). */
const chosen = (key: string): boolean =>
  serversArg === undefined ||
  key === "raw" ||
  key === "fan-raw" ||
  serversArg.split(",").some((wanted) => wanted === key || PAIRED[wanted] === key);
const ECHO_SERVERS = ALL_ECHO_SERVERS.filter((server) => chosen(server.key));

interface FanoutServer extends ServerInfo {
  readonly script: string;
  readonly env: Readonly<Record<string, string>>;
  readonly path: string;
  readonly protocol: Protocol;
}

const CHANNELS_AVAILABLE = existsSync(path.join(ROOT, "src/channels/index.ts")) && /export \{ createChannels \}/.test(readFileSync(path.join(ROOT, "src/channels/index.ts"), "utf8"));

async function redisAvailable(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: "127.0.0.1", port: 6379 });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (chunk: Buffer) => done(chunk.toString().startsWith("+PONG")));
  });
}

function fanoutServers(redis: boolean): FanoutServer[] {
  const statewire = (key: string, label: string, broadcast: string): FanoutServer => ({
    key,
    label,
    family: "statewire",
    bufferutil: true,
    reference: "fan-raw",
    script: script("statewire-fanout.ts"),
    env: { BROADCAST: broadcast },
    path: "/ws",
    protocol: "ws",
  });
  const all: FanoutServer[] = [
    { key: "fan-raw", label: "raw ws, loop over clients", family: "raw", bufferutil: true, reference: "fan-raw", script: script("raw-ws.ts"), env: { ROLE: "fanout" }, path: "/ws", protocol: "ws" },
    ...(CHANNELS_AVAILABLE ? [statewire("fan-sw-channels", "statewire channels (memory)", "channels-memory")] : []),
    ...(CHANNELS_AVAILABLE && redis ? [statewire("fan-sw-redis", "statewire channels (Redis pub/sub)", "channels-redis")] : []),
    statewire("fan-sw-loop", "statewire, loop over its sockets", "loop"),
    { key: "fan-socketio", label: "socket.io room", family: "socketio", bufferutil: true, reference: "fan-raw", script: script("socketio.ts"), env: { ROLE: "fanout" }, path: SIO_PATH, protocol: "socketio" },
  ];
  // --quick: raw ws, statewire's channels (memory) and socket.io only.
  const quick = (key: string): boolean => !QUICK || ["fan-raw", "fan-sw-channels", "fan-socketio"].includes(key) || (!CHANNELS_AVAILABLE && key === "fan-sw-loop");
  return all.filter((server) => chosen(server.key) && quick(server.key));
}

// ---- source addresses -------------------------------------------------------------------------


// ---- helpers ------------------------------------------------------------------------------------

const fmt = (value: number, digits = 0): string =>
  Number.isFinite(value) ? value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "–";
const log = (line: string): void => console.log(line);

/** Busy and total jiffies per core from /proc/stat (undefined off Linux). */
function coreTimes(): { busy: number; total: number }[] | undefined {
  if (!existsSync("/proc/stat")) return undefined;
  const cores: { busy: number; total: number }[] = [];
  for (const line of readFileSync("/proc/stat", "utf8").split("\n")) {
    const match = /^cpu(\d+) (.*)$/.exec(line);
    if (match === null) continue;
    const fields = match[2]!.trim().split(/\s+/).map(Number);
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    cores[Number(match[1])] = { busy: total - idle, total };
  }
  return cores;
}
function coreBusy(a: ReturnType<typeof coreTimes>, b: ReturnType<typeof coreTimes>, core: number): number {
  if (a?.[core] === undefined || b?.[core] === undefined) return Number.NaN;
  const total = b[core].total - a[core].total;
  return total === 0 ? Number.NaN : (b[core].busy - a[core].busy) / total;
}

// ---- other work on the machine ------------------------------------------------------------------

/** Other work (cores busy while ours are idle) above which a measurement waits; runs disturbed more are retried. */
const QUIET_LIMIT = 0.35;
const DISTURBED = 0.5;
const quietness = { budgetMs: QUICK ? 2000 : 30_000, waitedMs: 0, retries: 0, retryBudget: QUICK ? 1 : 6 };

/** Cores busy over `ms`, all processes (ours are idle when this is called). */
async function machineBusy(ms = 100): Promise<number> {
  const a = coreTimes();
  await sleep(ms);
  const b = coreTimes();
  let busy = 0;
  for (let core = 0; core < (a?.length ?? 0); core++) busy += coreBusy(a, b, core) || 0;
  return busy;
}

/** Before a measurement: wait, up to 3 s and within the run's budget, until other work is light. */
async function quiet(): Promise<void> {
  if (quietness.budgetMs <= 0) return;
  const start = performance.now();
  const until = start + Math.min(3000, quietness.budgetMs);
  while ((await machineBusy()) > QUIET_LIMIT && performance.now() < until) await sleep(200);
  const waited = performance.now() - start;
  quietness.budgetMs = Math.max(0, quietness.budgetMs - waited);
  quietness.waitedMs += waited;
}

/** Run `measure` after `quiet()`; once more if other work disturbed it (`load` > DISTURBED), keeping the less disturbed run. */
async function measured<T>(measure: () => Promise<T>, load: (result: T) => number, what: string): Promise<T> {
  await quiet();
  const first = await measure();
  if (!(load(first) > DISTURBED) || quietness.retryBudget <= 0) return first;
  quietness.retryBudget--;
  quietness.retries++;
  log(`    (${what}: other work took ${fmt(load(first) * 100)}% of a core, measuring again)`);
  await quiet();
  const second = await measure();
  return load(second) < load(first) ? second : first;
}

/** Start servers in parallel on any core (they compile faster), then pin each to the server core. */
async function startAll<T extends { key: string; label: string; script: string; env: Readonly<Record<string, string>> }>(
  servers: readonly T[],
  nodeArgs: readonly string[] = [],
): Promise<Map<string, StartedServer>> {
  const started = await Promise.all(
    servers.map(async (server) => [server.key, await startServer(server.label, server.script, undefined, { env: { ...SERVER_ENV, ...server.env }, nodeArgs })] as const),
  );
  for (const [, { child }] of started) pin(child.pid, SERVER_CORE);
  return new Map(started);
}

async function stopAll(started: Map<string, StartedServer>): Promise<void> {
  await Promise.all([...started.values()].map(({ child }) => stopServer(child)));
}

// ---- correctness checks (the real clients) ---------------------------------------------------------

function wsEcho(port: number, urlPath: string, message: string): Promise<string> {
  return withTimeout(
    new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${urlPath}`);
      ws.once("open", () => ws.send(message));
      ws.once("message", (data) => {
        resolve(String(data));
        ws.close();
      });
      ws.once("error", reject);
      ws.once("close", (code) => reject(new Error(`closed ${code} before answering`)));
    }),
    5000,
    "ws client echo",
  );
}

function socketIoEcho(port: number, message: string): Promise<string> {
  return withTimeout(
    new Promise<string>((resolve, reject) => {
      const client = socketIoClient(`http://127.0.0.1:${port}`, { transports: ["websocket"], reconnection: false });
      client.once("connect", () => client.emit("echo", message));
      client.once("echo", (answer: string) => {
        resolve(answer);
        client.close();
      });
      client.once("connect_error", reject);
    }),
    5000,
    "socket.io-client echo",
  );
}

async function checkEcho(server: EchoServer, port: number): Promise<void> {
  for (const size of server.sizes) {
    if (server.protocol === "socketio") {
      const message = "x".repeat(size);
      if ((await socketIoEcho(port, message)) !== message) throw new Error(`${server.label}: socket.io-client echo differs`);
    } else {
      const message = echoPayload(size, server.payload, "ws").toString();
      if ((await wsEcho(port, server.path, message)) !== message) throw new Error(`${server.label}: ws client echo differs at ${size} B`);
    }
  }
}

/** Two real clients subscribe, one broadcast must reach both. */
async function checkFanout(server: FanoutServer, started: StartedServer): Promise<void> {
  const received: Promise<string>[] = [];
  const closers: (() => void)[] = [];
  for (let i = 0; i < 2; i++) {
    if (server.protocol === "socketio") {
      const client = socketIoClient(`http://127.0.0.1:${started.port}`, { transports: ["websocket"], reconnection: false });
      received.push(new Promise((resolve) => client.once("b", (data: string) => resolve(data))));
      closers.push(() => client.close());
    } else {
      const ws = new WebSocket(`ws://127.0.0.1:${started.port}${server.path}`);
      ws.on("error", () => {});
      received.push(new Promise((resolve) => ws.once("message", (data) => resolve(String(data)))));
      closers.push(() => ws.close());
    }
  }
  try {
    await waitForSubscribers(started.child, 2, 5000);
    await serverBroadcast(started.child, "B:0:check");
    const answers = await withTimeout(Promise.all(received), 5000, `${server.label}: broadcast check`);
    if (answers.some((answer) => answer !== "B:0:check")) throw new Error(`${server.label}: broadcast check got ${answers.join(", ")}`);
  } finally {
    for (const close of closers) close();
  }
  await waitForSubscribers(started.child, 0, 5000);
}

async function waitForSubscribers(child: ChildProcess, count: number, ms: number): Promise<void> {
  const until = performance.now() + ms;
  for (;;) {
    const stats = await serverStats(child);
    if (stats.connections === count) return;
    if (performance.now() > until) throw new Error(`expected ${count} subscribers, the server has ${stats.connections}`);
    await sleep(50);
  }
}

// ---- phase: echo -------------------------------------------------------------------------------------

interface EchoRun {
  readonly msgsPerSec: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly serverCpuUsPerMsg: number;
  readonly serverUtil: number;
  readonly loadgenUtil: number;
  /** Busy time of both cores not spent by the server or the load generator (others' work, interrupts), in cores. */
  readonly otherLoad: number;
  readonly messages: number;
  /** The measurement on the server's monotonic clock (for a CPU profile). */
  readonly window: TimeWindow;
}

async function echoRun(loadgen: ChildProcess, server: EchoServer, started: StartedServer, size: number): Promise<EchoRun> {
  const { child, port } = started;
  await loadCommand(loadgen, {
    type: "load",
    port,
    path: server.path,
    protocol: server.protocol,
    payload: server.payload,
    connections: CONNECTIONS,
    window: WINDOW,
    size,
    addresses: freshAddresses(4),
  });
  try {
    await sleep(CONFIG.warmupMs);
    const c0 = coreTimes();
    const [s0, l0] = await Promise.all([serverStats(child), loadCommand(loadgen, { type: "count", reset: true })]);
    await sleep(CONFIG.measureMs);
    const [s1, l1] = await Promise.all([serverStats(child), loadCommand(loadgen, { type: "count" })]);
    const c1 = coreTimes();
    const messages = l1.received - l0.received;
    const loadgenMs = l1.at - l0.at;
    if (messages <= 0) throw new Error(`${server.label}: no echoes in the measurement window (${l1.error ?? "no error"})`);
    if (l1.errors > 0) log(`    ${server.label}: the load generator saw ${l1.errors} errors: ${l1.error}`);
    const serverCpu = cpuUs(s1.cpu) - cpuUs(s0.cpu);
    const serverUtil = serverCpu / ((s1.at - s0.at) * 1000);
    const loadgenUtil = (cpuUs(l1.cpu) - cpuUs(l0.cpu)) / (loadgenMs * 1000);
    return {
      msgsPerSec: (messages / loadgenMs) * 1000,
      p50Us: l1.latency.p50Us,
      p99Us: l1.latency.p99Us,
      serverCpuUsPerMsg: serverCpu / messages,
      serverUtil,
      loadgenUtil,
      otherLoad: Math.max(0, coreBusy(c0, c1, SERVER_CORE) + coreBusy(c0, c1, LOAD_CORE) - serverUtil - loadgenUtil),
      messages,
      window: { fromUs: s0.monoUs, toUs: s1.monoUs },
    };
  } finally {
    await loadCommand(loadgen, { type: "stop" });
  }
}

async function echoPhase(loadgen: ChildProcess, started: Map<string, StartedServer>): Promise<EchoRow[]> {
  const runs = new Map<string, EchoRun[]>();
  const key = (server: EchoServer, size: number): string => `${server.key}@${size}`;
  for (let round = 1; round <= CONFIG.rounds; round++) {
    if (round > 1 && !within("echo", `echo round ${round}`)) break;
    for (const size of SIZES) {
      for (const server of ECHO_SERVERS) {
        if (!server.sizes.includes(size)) continue;
        const run = await measured(() => echoRun(loadgen, server, started.get(server.key)!, size), (r) => r.otherLoad, server.label);
        const list = runs.get(key(server, size)) ?? [];
        list.push(run);
        runs.set(key(server, size), list);
        log(
          `  round ${round}  ${String(size).padStart(4)} B  ${server.label.padEnd(36)} ${fmt(run.msgsPerSec).padStart(8)} msgs/s  ` +
            `p50 ${fmt(run.p50Us / 1000, 2).padStart(5)} ms  p99 ${fmt(run.p99Us / 1000, 2).padStart(6)} ms  ` +
            `server ${fmt(run.serverCpuUsPerMsg, 2)} µs/msg, CPU ${fmt(run.serverUtil * 100)}%  load gen CPU ${fmt(run.loadgenUtil * 100)}%  others ${fmt(run.otherLoad * 100)}%`,
        );
      }
    }
  }
  const rows: EchoRow[] = [];
  for (const size of SIZES) {
    for (const server of ECHO_SERVERS) {
      const list = runs.get(key(server, size));
      if (list === undefined) continue;
      const med = (pick: (run: EchoRun) => number): number => median(list.map(pick));
      rows.push({
        server: server.key,
        size,
        msgsPerSec: med((r) => r.msgsPerSec),
        p50Ms: med((r) => r.p50Us) / 1000,
        p99Ms: med((r) => r.p99Us) / 1000,
        serverCpuUsPerMsg: med((r) => r.serverCpuUsPerMsg),
        serverUtil: med((r) => r.serverUtil),
        loadgenUtil: med((r) => r.loadgenUtil),
        otherLoad: med((r) => r.otherLoad),
        runs: list.map((r) => Math.round(r.msgsPerSec)),
        ratio: Number.NaN,
      });
    }
  }
  for (const row of rows) {
    const reference = rows.find((r) => r.size === row.size && r.server === ECHO_SERVERS.find((s) => s.key === row.server)!.reference);
    row.ratio = reference === undefined ? Number.NaN : row.msgsPerSec / reference.msgsPerSec;
  }
  return rows;
}

// ---- phase: handshakes --------------------------------------------------------------------------------
interface HandshakeRun {
  rate: number;
  cpuUs: number;
  p50Us: number;
  p99Us: number;
  failed: number;
  error: string | undefined;
  serverUtil: number;
  loadgenUtil: number;
  otherLoad: number;
  completed: number;
  /** The measurement on the server's monotonic clock (for a CPU profile). */
  window: TimeWindow;
}

/** One handshake measurement: `durationMs` of open + close, 50 in flight. */
async function handshakeOnce(loadgen: ChildProcess, server: EchoServer, { child, port }: StartedServer, durationMs = CONFIG.handshakeMs): Promise<HandshakeRun> {
  const c0 = coreTimes();
  const [s0, l0] = await Promise.all([serverStats(child), loadCommand(loadgen, { type: "count" })]);
  const reply = await loadCommand(
    loadgen,
    { type: "handshakes", port, path: server.path, protocol: server.protocol, durationMs, concurrency: HANDSHAKE_CONCURRENCY, addresses: freshAddresses(8) },
    durationMs + 20_000,
  );
  const s1 = await serverStats(child);
  const c1 = coreTimes();
  const report = reply.handshakes!;
  const serverUtil = (cpuUs(s1.cpu) - cpuUs(s0.cpu)) / ((s1.at - s0.at) * 1000);
  const loadgenUtil = (cpuUs(reply.cpu) - cpuUs(l0.cpu)) / ((reply.at - l0.at) * 1000);
  // Let the closes settle before the next server.
  await sleep(150);
  return {
    rate: (report.completed / report.elapsedMs) * 1000,
    cpuUs: (cpuUs(s1.cpu) - cpuUs(s0.cpu)) / Math.max(1, report.completed),
    p50Us: report.p50Us,
    p99Us: report.p99Us,
    failed: report.failed,
    error: reply.error,
    serverUtil,
    loadgenUtil,
    otherLoad: Math.max(0, coreBusy(c0, c1, SERVER_CORE) + coreBusy(c0, c1, LOAD_CORE) - serverUtil - loadgenUtil),
    completed: report.completed,
    window: { fromUs: s0.monoUs, toUs: s1.monoUs },
  };
}

async function handshakePhase(loadgen: ChildProcess, started: Map<string, StartedServer>): Promise<HandshakeRow[]> {
  const servers = ECHO_SERVERS.filter((server) => server.connections);
  const runs = new Map<string, HandshakeRun[]>();
  // Unmeasured first, as the echo phase warms up: a cold server's first handshakes pay for its
  // JIT compiling the accept and close paths (a first round ran at a third of later rounds' rate),
  // which says how much code a server has, not what a handshake costs.
  for (const server of servers) await handshakeOnce(loadgen, server, started.get(server.key)!, CONFIG.warmupMs);
  for (let round = 1; round <= CONFIG.handshakeRounds; round++) {
    if (round > 1 && !within("handshake", `handshake round ${round}`)) break;
    for (const server of servers) {
      const run = await measured(() => handshakeOnce(loadgen, server, started.get(server.key)!), (r) => r.otherLoad, server.label);
      log(
        `  round ${round}  ${server.label.padEnd(36)} ${fmt(run.rate).padStart(7)} handshakes/s  open p50 ${fmt(run.p50Us / 1000, 2)} ms  p99 ${fmt(run.p99Us / 1000, 2)} ms  ` +
          `server ${fmt(run.cpuUs)} µs CPU each, CPU ${fmt(run.serverUtil * 100)}%  load gen CPU ${fmt(run.loadgenUtil * 100)}%  others ${fmt(run.otherLoad * 100)}%` +
          `${run.failed > 0 ? `  ${run.failed} failed: ${run.error}` : ""}`,
      );
      runs.set(server.key, [...(runs.get(server.key) ?? []), run]);
    }
  }
  const rows: HandshakeRow[] = servers.map((server) => {
    const list = runs.get(server.key)!;
    return {
      server: server.key,
      perSec: median(list.map((r) => r.rate)),
      openP50Ms: median(list.map((r) => r.p50Us)) / 1000,
      openP99Ms: median(list.map((r) => r.p99Us)) / 1000,
      serverCpuUs: median(list.map((r) => r.cpuUs)),
      serverUtil: median(list.map((r) => r.serverUtil)),
      loadgenUtil: median(list.map((r) => r.loadgenUtil)),
      otherLoad: median(list.map((r) => r.otherLoad)),
      failed: list.reduce((sum, r) => sum + r.failed, 0),
      runs: list.map((r) => Math.round(r.rate)),
      ratio: Number.NaN,
    };
  });
  const raw = rows.find((row) => row.server === "raw");
  for (const row of rows) row.ratio = raw === undefined ? Number.NaN : row.perSec / raw.perSec;
  return rows;
}

// ---- phase: idle memory ---------------------------------------------------------------------------------

const IDLE_SERVERS = ECHO_SERVERS.filter((server) => server.connections);

/** `started`: fresh servers (no traffic yet) with --expose-gc. */
async function idlePhase(loadgen: ChildProcess, started: Map<string, StartedServer>): Promise<IdleRow[]> {
  const servers = IDLE_SERVERS;
  const rows: IdleRow[] = [];
  try {
    const n = CONFIG.idleConnections;
    for (const server of servers) {
      const { child, port } = started.get(server.key)!;
      const target = { port, path: server.path, protocol: server.protocol };
      // A few connections first, so code loaded and compiled on first use is in the baseline.
      await loadCommand(loadgen, { type: "idle", ...target, count: IDLE_WARM, concurrency: 10, addresses: freshAddresses(1) });
      await sleep(200);
      const before = await serverStats(child, true);
      const t0 = performance.now();
      // A fifth first, measured too: from there to n is the marginal cost, free of the slack
      // (freed but resident pages) the baseline had after its GC.
      const first = Math.round(n / 5);
      const open = (count: number): Promise<unknown> =>
        loadCommand(loadgen, { type: "idle", ...target, count, concurrency: 100, addresses: freshAddresses(Math.ceil(count / 1000)) }, 60_000);
      await open(first);
      const openFirstMs = performance.now() - t0;
      await sleep(200);
      const middle = await serverStats(child, true);
      const t1 = performance.now();
      await open(n - first);
      const openMs = openFirstMs + performance.now() - t1;
      await sleep(300);
      const after = await serverStats(child, true);
      await loadCommand(loadgen, { type: "stop" });
      const counted = after.connections - before.connections;
      if (counted !== n) log(`    ${server.label}: the server counts ${counted} new connections, not ${n}`);
      const row: IdleRow = {
        server: server.key,
        connections: n,
        rssKB: (after.mem.rss - before.mem.rss) / n / 1024,
        heapKB: (after.mem.heapUsed - before.mem.heapUsed) / n / 1024,
        externalKB: (after.mem.external - before.mem.external) / n / 1024,
        marginalRssKB: (after.mem.rss - middle.mem.rss) / (n - first) / 1024,
        marginalHeapKB: (after.mem.heapUsed - middle.mem.heapUsed) / (n - first) / 1024,
        baselineRssMB: before.mem.rss / 1024 / 1024,
        baselineHeapMB: before.mem.heapUsed / 1024 / 1024,
        openMs,
        rssRatio: Number.NaN,
        heapRatio: Number.NaN,
      };
      rows.push(row);
      log(
        `  ${server.label.padEnd(36)} ${fmt(n)} idle: RSS ${fmt(row.rssKB, 1)} KB/conn, heap ${fmt(row.heapKB, 1)} KB/conn, external ${fmt(row.externalKB, 2)} KB/conn; ` +
          `from ${fmt(first)} to ${fmt(n)}: RSS ${fmt(row.marginalRssKB, 1)}, heap ${fmt(row.marginalHeapKB, 1)} KB/conn ` +
          `(baseline RSS ${fmt(row.baselineRssMB, 1)} MB, heap ${fmt(row.baselineHeapMB, 1)} MB; opened in ${fmt(openMs / 1000, 1)} s)`,
      );
      await stopServer(child);
    }
  } finally {
    await stopAll(started);
  }
  const raw = rows.find((row) => row.server === "raw");
  for (const row of rows) {
    row.rssRatio = raw === undefined ? Number.NaN : row.rssKB / raw.rssKB;
    row.heapRatio = raw === undefined ? Number.NaN : row.heapKB / raw.heapKB;
  }
  return rows;
}

// ---- phase: fan-out ---------------------------------------------------------------------------------------

function fanoutPayload(seq: number): string {
  const head = `B:${seq}:`;
  return head + "x".repeat(Math.max(0, FANOUT_PAYLOAD - head.length));
}

/** Resolves with the report of `seq` from `loadgen`. */
function fanoutReport(loadgen: ChildProcess, seq: number, ms: number): Promise<FanoutReport> {
  return withTimeout(
    new Promise<FanoutReport>((resolve) => {
      const onMessage = (message: unknown): void => {
        const report = message as FanoutReport;
        if (report.type !== "fanout" || report.seq !== seq) return;
        loadgen.off("message", onMessage);
        resolve(report);
      };
      loadgen.on("message", onMessage);
    }),
    ms,
    `fan-out report for broadcast ${seq}`,
  );
}

let broadcastSeq = 0;

async function fanoutPhase(loadgens: readonly ChildProcess[], servers: readonly FanoutServer[], started: Map<string, StartedServer>): Promise<FanoutRow[]> {
  const rows: FanoutRow[] = [];
  try {
    for (const server of servers) await checkFanout(server, started.get(server.key)!);
    for (const server of servers) {
      const { child, port } = started.get(server.key)!;
      let connected = 0;
      try {
        for (const subscribers of CONFIG.fanoutSizes) {
          const more = subscribers - connected;
          const t0 = performance.now();
          await Promise.all(
            loadgens.map((loadgen, i) => {
              const count = Math.floor(more / loadgens.length) + (i < more % loadgens.length ? 1 : 0);
              return loadCommand(
                loadgen,
                { type: "subscribe", port, path: server.path, protocol: server.protocol, count, concurrency: 100, addresses: freshAddresses(Math.ceil(count / 1000)) },
                60_000,
              );
            }),
          );
          connected = subscribers;
          await waitForSubscribers(child, subscribers, 20_000);
          const connectMs = performance.now() - t0;
          const toLast: number[] = [];
          const toFirst: number[] = [];
          const sendReturn: number[] = [];
          const serverCpu: number[] = [];
          // One broadcast first that is not counted (code paths compiled on first use).
          for (let i = -1; i < CONFIG.broadcasts; i++) {
            await quiet();
            const seq = ++broadcastSeq;
            const reports = loadgens.map((loadgen) => fanoutReport(loadgen, seq, 15_000));
            const s0 = await serverStats(child);
            const sent = await serverBroadcast(child, fanoutPayload(seq));
            const arrived = await Promise.all(reports);
            const s1 = await serverStats(child);
            if (i < 0) continue;
            // Server CPU for the broadcast (and two stats requests): less disturbed by other work than the wall clock.
            serverCpu.push((cpuUs(s1.cpu) - cpuUs(s0.cpu)) / 1000);
            const lastUs = Math.max(...arrived.map((r) => r.lastUs));
            const firstUs = Math.min(...arrived.map((r) => r.firstUs));
            toLast.push((lastUs - sent.startUs) / 1000);
            toFirst.push((firstUs - sent.startUs) / 1000);
            sendReturn.push((sent.returnedUs - sent.startUs) / 1000);
          }
          const row: FanoutRow = {
            server: server.key,
            subscribers,
            toLastMs: median(toLast),
            toFirstMs: median(toFirst),
            sendReturnMs: median(sendReturn),
            runs: toLast.map((ms) => Math.round(ms * 100) / 100),
            ratio: Number.NaN,
          };
          rows.push(row);
          log(
            `  ${server.label.padEnd(36)} ${fmt(subscribers).padStart(6)} subscribers: last has it after ${fmt(row.toLastMs, 2)} ms ` +
              `(first ${fmt(row.toFirstMs, 2)} ms, publish call returned ${fmt(row.sendReturnMs, 2)} ms; server CPU ${fmt(median(serverCpu), 2)} ms; ` +
              `runs ${row.runs.join(", ")}; connected in ${fmt(connectMs / 1000, 1)} s)`,
          );
        }
      } finally {
        await Promise.all(loadgens.map((loadgen) => loadCommand(loadgen, { type: "stop" })));
        await stopServer(child);
      }
    }
  } finally {
    await stopAll(started);
  }
  for (const row of rows) {
    const raw = rows.find((r) => r.server === "fan-raw" && r.subscribers === row.subscribers);
    row.ratio = raw === undefined ? Number.NaN : row.toLastMs / raw.toLastMs;
  }
  return rows;
}

// ---- targets ------------------------------------------------------------------------------------------------

/** The targets of docs/architecture.md §5 (the performance issue's table): ratios to raw `ws` in the same run. */
function targets(results: Pick<BenchResults, "echo" | "handshake" | "idle" | "fanout">): Target[] {
  const out: Target[] = [];
  const atLeast = (name: string, ratio: number | undefined, goal: number): void => {
    if (ratio !== undefined && Number.isFinite(ratio)) out.push({ name, ratio, goal, atLeast: true, met: ratio >= goal });
  };
  const atMost = (name: string, ratio: number | undefined, goal: number): void => {
    if (ratio !== undefined && Number.isFinite(ratio)) out.push({ name, ratio, goal, atLeast: false, met: ratio <= goal });
  };
  const echo = (server: string, size: number): EchoRow | undefined => results.echo.find((r) => r.server === server && r.size === size);
  for (const size of SIZES) {
    const label = size === 64 ? "64 B" : "4 KiB";
    const goal = size === 64 ? 1.1 : 1.0;
    atLeast(`low-level echo throughput, ${label}`, echo("sw-websocket", size)?.ratio, goal);
    atLeast(`listener echo throughput, ${label}`, echo("sw-listener", size)?.ratio, goal);
    // JSON is measured against the least any JSON echo does: raw ws with JSON.parse + JSON.stringify.
    const json = echo("sw-json", size);
    const jsonReference = echo("raw-json", size);
    if (json !== undefined && jsonReference !== undefined) {
      atLeast(`JSON + schema listener throughput, ${label}, against the raw JSON echo`, json.msgsPerSec / jsonReference.msgsPerSec, 1.0);
    }
  }
  atLeast("protocol-machine echo throughput, 64 B", echo("sw-machine", 64)?.ratio, 0.6);
  // Metrics cost what the plugin's observer does per message (counters, a clock read and a bucket), against the same listener without it.
  for (const size of SIZES) {
    const on = echo("sw-listener-metrics", size);
    const off = echo("sw-listener", size);
    if (on !== undefined && off !== undefined) {
      atLeast(`listener echo with metrics on, ${size === 64 ? "64 B" : "4 KiB"}, against metrics off`, on.msgsPerSec / off.msgsPerSec, 0.9);
    }
  }
  for (const [server, label] of [["sw-websocket", "low-level"], ["sw-listener", "listener"]] as const) {
    atLeast(`handshake rate, ${label}`, results.handshake.find((r) => r.server === server)?.ratio, 0.9);
  }
  atMost("idle memory per connection (RSS), low-level", results.idle.find((r) => r.server === "sw-websocket")?.rssRatio, 1.1);
  atMost("idle memory per connection (RSS), listener", results.idle.find((r) => r.server === "sw-listener")?.rssRatio, 1.0);
  atMost("idle memory per connection (RSS), protocol machine", results.idle.find((r) => r.server === "sw-machine")?.rssRatio, 2.0);
  const fanout = results.fanout.filter((r) => r.server === "fan-sw-channels").sort((x, y) => y.subscribers - x.subscribers)[0];
  atMost(`fan-out to the last of ${fanout?.subscribers.toLocaleString("en-US") ?? "?"} subscribers, channels (memory)`, fanout?.ratio, 0.8);
  return out;
}

// ---- profiles ------------------------------------------------------------------------------------------------

/** The main thread's profile in `dir` (`CPU.<date>.<time>.<pid>.0.<seq>.cpuprofile`; tsx's loader thread writes another). */
function mainThreadProfile(dir: string): string | undefined {
  const file = readdirSync(dir).find((name) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(name));
  return file === undefined ? undefined : path.join(dir, file);
}

/**
 * `--profile=<server>@<64|4096|handshake>[,…]`: the server and its raw `ws` reference run under
 * `--cpu-prof` (bench/profiles/<server>-<what>/), one warm-up then one measurement each; the
 * profile samples inside the measurement are summed per function and compared per message (or
 * per handshake). Profiling slows the servers: compare the two, not their absolute numbers.
 */
async function profileMode(loadgen: ChildProcess, specs: readonly string[]): Promise<void> {
  for (const spec of specs) {
    const [key, what = "64"] = spec.split("@");
    const server = ALL_ECHO_SERVERS.find((s) => s.key === key);
    if (server === undefined) throw new Error(`--profile: unknown server ${key} (${ALL_ECHO_SERVERS.map((s) => s.key).join(", ")})`);
    if (what !== "handshake" && what !== "idle" && !server.sizes.includes(Number(what))) {
      throw new Error(`--profile: ${what} is not a size ${key} runs at (${server.sizes.join(", ")}), "handshake" nor "idle"`);
    }
    const reference = ALL_ECHO_SERVERS.find((s) => s.key === server.reference)!;
    if (what === "idle") {
      await heapProfile(loadgen, reference, server);
      continue;
    }
    const profiles: { summary: ReturnType<typeof summarize>; units: number }[] = [];
    for (const subject of [reference, server]) {
      const dir = path.join(BENCH, "profiles", `${subject.key}-${what}`);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const mapsFile = path.join(dir, "source-maps.json");
      const started = await startServer(subject.label, subject.script, undefined, {
        env: { ...SERVER_ENV, ...subject.env, BENCH_SOURCE_MAPS_OUT: mapsFile },
        nodeArgs: ["--enable-source-maps", "--cpu-prof", "--cpu-prof-dir", dir, "--cpu-prof-interval", "250"],
      });
      pin(started.child.pid, SERVER_CORE);
      let units: number;
      let window: TimeWindow;
      if (what === "handshake") {
        await handshakeOnce(loadgen, subject, started, 500);
        const run = await handshakeOnce(loadgen, subject, started, 2000);
        log(`  ${subject.label}: ${fmt(run.rate)} handshakes/s, ${fmt(run.cpuUs)} µs server CPU each (profiled)`);
        units = run.completed;
        window = run.window;
      } else {
        await echoRun(loadgen, subject, started, Number(what));
        const run = await echoRun(loadgen, subject, started, Number(what));
        log(`  ${subject.label}: ${fmt(run.msgsPerSec)} msgs/s, ${fmt(run.serverCpuUsPerMsg, 2)} µs server CPU per message (profiled)`);
        units = run.messages;
        window = run.window;
      }
      await stopServer(started.child);
      const file = mainThreadProfile(dir);
      if (file === undefined) throw new Error(`no main-thread .cpuprofile in ${dir}`);
      profiles.push({ summary: summarize(loadProfile(file), window, loadSourceMaps(mapsFile)), units });
      log(`    profile: ${path.relative(ROOT, file)}`);
    }
    const unit = what === "handshake" ? "handshake" : "message";
    log(`\n${server.label}, ${what === "handshake" ? "handshakes" : `echo ${what} B`}: server profile`);
    printSummary(profiles[1]!.summary);
    log(`\n${reference.label} → ${server.label}:`);
    printComparison(unit, profiles[0]!, profiles[1]!, 16, [reference.label, "statewire"]);
    log("");
  }
}

const HEAP_CONNECTIONS = 1000;

/** Heap snapshots before and after 1,000 idle connections, per connection, by constructor, for raw ws and `server`. */
async function heapProfile(loadgen: ChildProcess, reference: EchoServer, server: EchoServer): Promise<void> {
  const diffs: CensusDiff[][] = [];
  for (const subject of [reference, server]) {
    const dir = path.join(BENCH, "profiles", `${subject.key}-idle`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const started = await startServer(subject.label, subject.script, undefined, { env: { ...SERVER_ENV, ...subject.env }, nodeArgs: ["--expose-gc"] });
    pin(started.child.pid, SERVER_CORE);
    const target = { port: started.port, path: subject.path, protocol: subject.protocol };
    await loadCommand(loadgen, { type: "idle", ...target, count: IDLE_WARM, concurrency: 10, addresses: freshAddresses(1) });
    const before = path.join(dir, "before.heapsnapshot");
    const after = path.join(dir, "after.heapsnapshot");
    await request(started.child, { type: "heapsnapshot", file: before }, 60_000);
    await loadCommand(loadgen, { type: "idle", ...target, count: HEAP_CONNECTIONS, concurrency: 50, addresses: freshAddresses(1) });
    await sleep(300);
    await request(started.child, { type: "heapsnapshot", file: after }, 60_000);
    await loadCommand(loadgen, { type: "stop" });
    await stopServer(started.child);
    const diff = diffCensus(heapCensus(before), heapCensus(after), HEAP_CONNECTIONS);
    diffs.push(diff);
    const total = diff.reduce((sum, d) => sum + d.bytes, 0);
    log(`\n${subject.label}: ${fmt(total)} B of heap per idle connection (${HEAP_CONNECTIONS} connections, snapshots in ${path.relative(ROOT, dir)}); the largest:`);
    for (const d of diff.slice(0, 18)) log(`  ${fmt(d.bytes).padStart(6)} B  ${fmt(d.count, 1).padStart(5)} ×  ${d.key}`);
  }
  const [raw, test] = diffs as [CensusDiff[], CensusDiff[]];
  const rawBy = new Map(raw.map((d) => [d.key, d] as const));
  const grown = test
    .map((d) => ({ ...d, extra: d.bytes - (rawBy.get(d.key)?.bytes ?? 0), extraCount: d.count - (rawBy.get(d.key)?.count ?? 0) }))
    .sort((a, b) => b.extra - a.extra)
    .slice(0, 18);
  log(`\n${reference.label} → ${server.label}: what one idle connection keeps beyond raw ws (bytes, objects):`);
  for (const d of grown) log(`  +${fmt(d.extra).padStart(5)} B  ${fmt(d.extraCount, 1).padStart(5)} ×  ${d.key}`);
  // Who holds the largest of them (in the snapshot with the connections).
  const top = grown[0];
  if (top !== undefined) {
    const holders = [...holdersOf(path.join(BENCH, "profiles", `${server.key}-idle`, "after.heapsnapshot"), top.key)].sort((a, b) => b[1] - a[1]).slice(0, 8);
    log(`  held by (in the snapshot with ${HEAP_CONNECTIONS} connections): ${holders.map(([holder, n]) => `${holder} ×${fmt(n)}`).join(", ")}`);
  }
}

// ---- main ----------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const startedAt = performance.now();
  const date = new Date();
  log(
    `statewire bench (${QUICK ? "quick" : "full"}): node ${process.version}, ${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}; ` +
      `${hasTaskset ? "servers on core 0, load generators on core 1 (taskset)" : "no taskset: unpinned"}`,
  );
  // Each side of the idle and fan-out phases holds up to 10,000 sockets in one process.
  const openFiles = Number(spawnSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).stdout.trim());
  const needed = Math.max(CONFIG.idleConnections, ...CONFIG.fanoutSizes) + 1000;
  if (Number.isFinite(openFiles) && openFiles < needed) {
    throw new Error(`ulimit -n is ${openFiles}: this run needs ${needed} open files per process (raise it, or use --quick)`);
  }
  const redis = await redisAvailable();
  const fanout = fanoutServers(redis);
  log(
    `fan-out: ${CHANNELS_AVAILABLE ? `statewire channels (memory${redis ? ", Redis" : "; no Redis at 127.0.0.1:6379"})` : "src/channels not found: statewire's broadcast is a loop over its sockets"}`,
  );

  if (FROM_SOURCE) log("statewire from its TypeScript sources through tsx (--source)");
  else buildStatewire();
  const loadgen = await startLoadgen(undefined);
  pin(loadgen.pid, LOAD_CORE);
  if (profileArg !== undefined) {
    await profileMode(loadgen, profileArg.split(","));
    return;
  }
  const results: BenchResults = {
    meta: {
      date: date.toISOString(),
      mode: QUICK ? "quick" : "full",
      node: process.version,
      cores: cpus().length,
      cpu: cpus()[0]?.model ?? "",
      loadAverage: loadavg(),
      pinned: hasTaskset,
      durationS: 0,
      config: { ...CONFIG, connections: CONNECTIONS, window: WINDOW, sizes: [...SIZES], handshakeConcurrency: HANDSHAKE_CONCURRENCY, fanoutPayload: FANOUT_PAYLOAD },
      channels: CHANNELS_AVAILABLE,
      redis,
      statewire: FROM_SOURCE ? "TypeScript sources through tsx" : "compiled with tsc -p tsconfig.build.json",
      quiet: { waitedS: 0, retries: 0 },
      skipped: [],
    },
    servers: [...ECHO_SERVERS, ...fanout].map(({ key, label, family, bufferutil, reference }) => ({ key, label, family, bufferutil, reference })),
    echo: [],
    handshake: [],
    idle: [],
    fanout: [],
    targets: [],
  };

  // Every server of every phase starts now, in parallel on both cores, then each is pinned.
  const t = performance.now();
  const echoing = PHASES.has("echo") || PHASES.has("handshake");
  const none = Promise.resolve(new Map<string, StartedServer>());
  const [started, idleStarted, fanoutStarted] = await Promise.all([
    echoing ? startAll(ECHO_SERVERS) : none,
    PHASES.has("idle") ? startAll(IDLE_SERVERS, ["--expose-gc"]) : none,
    PHASES.has("fanout") ? startAll(fanout) : none,
  ]);
  log(`${started.size + idleStarted.size + fanoutStarted.size} servers started in ${fmt((performance.now() - t) / 1000, 1)} s`);
  if (echoing) {
    try {
      for (const server of ECHO_SERVERS) {
        const stats = await serverStats(started.get(server.key)!.child);
        if (stats.bufferutil !== server.bufferutil) throw new Error(`${server.label}: bufferutil is ${stats.bufferutil ? "loaded" : "not loaded"}, expected the opposite`);
        await checkEcho(server, started.get(server.key)!.port);
      }
      log("echo servers answer right (ws client, socket.io-client)");
      // Handshakes before echo: their rounds are short and their margin the smallest, so the time
      // budget must never cut them to one round (the echo phase, the longest, runs past its
      // estimate whenever the machine is busy and the harness waits for it to calm down).
      if (PHASES.has("handshake")) {
        const p = performance.now();
        log(`\nhandshakes: ${HANDSHAKE_CONCURRENCY} in flight, open + close, ${CONFIG.handshakeRounds} round(s) of ${CONFIG.handshakeMs} ms`);
        results.handshake = await handshakePhase(loadgen, started);
        log(`  (${fmt((performance.now() - p) / 1000, 1)} s)`);
      }
      if (PHASES.has("echo")) {
        const p = performance.now();
        log(`\necho: ${CONNECTIONS} connections × ${WINDOW} in flight, ${CONFIG.rounds} round(s), ${CONFIG.warmupMs} ms warm-up + ${CONFIG.measureMs} ms each`);
        results.echo = await echoPhase(loadgen, started);
        log(`  (${fmt((performance.now() - p) / 1000, 1)} s)`);
      }
    } finally {
      await stopAll(started);
    }
  }
  if (PHASES.has("idle") && within("idle", "idle memory")) {
    const p = performance.now();
    log(`\nidle memory: ${fmt(CONFIG.idleConnections)} connections per server, after GC, minus the server's baseline`);
    results.idle = await idlePhase(loadgen, idleStarted);
    log(`  (${fmt((performance.now() - p) / 1000, 1)} s)`);
  }
  if (PHASES.has("fanout") && within("fanout", "fan-out")) {
    const p = performance.now();
    log(`\nfan-out: one ${FANOUT_PAYLOAD} B message to ${CONFIG.fanoutSizes.map((n) => fmt(n)).join(" then ")} subscribers in 2 client processes, ${CONFIG.broadcasts} broadcasts each`);
    const second = await startLoadgen(undefined);
    pin(second.pid, LOAD_CORE);
    results.fanout = await fanoutPhase([loadgen, second], fanout, fanoutStarted);
    log(`  (${fmt((performance.now() - p) / 1000, 1)} s)`);
  }

  results.targets = targets(results);
  results.meta.quiet = { waitedS: Math.round(quietness.waitedMs / 100) / 10, retries: quietness.retries };
  results.meta.skipped = skipped;
  results.meta.durationS = Math.round((performance.now() - startedAt) / 100) / 10;
  log("");
  log(renderTable(results));
  if (SAVE) {
    const dir = path.join(BENCH, "results");
    mkdirSync(dir, { recursive: true });
    const base = QUICK ? "quick" : "latest";
    const json = `${JSON.stringify(results, null, 2)}\n`;
    writeFileSync(path.join(dir, `${base}.json`), json);
    if (!QUICK) writeFileSync(path.join(dir, `${date.toISOString().slice(0, 16).replace(/:/g, "-")}.json`), json);
    writeFileSync(path.join(dir, `${base}.md`), renderMarkdown(results));
    writeFileSync(path.join(dir, `${base}.svg`), renderChart(results));
    log(`saved bench/results/${base}.{json,md,svg}${QUICK ? "" : " and a dated copy of the JSON"}`);
  }
  log(`done in ${fmt(results.meta.durationS, 1)} s`);
}

main().then(
  () => {
    killAll();
    process.exit(0);
  },
  (error: unknown) => {
    console.error("bench failed:", error);
    killAll();
    process.exit(1);
  },
);
