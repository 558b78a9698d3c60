/**
 * Quick echo benchmark: statewire's low-level echo against a raw `ws` echo server.
 *
 *   npx tsx bench/quick-echo.ts             # throughput (A B A B A B) + idle memory
 *   npx tsx bench/quick-echo.ts --profile   # … plus `--cpu-prof` runs of both servers (echo and handshakes)
 *   npx tsx bench/quick-echo.ts --refs=none # without the reference server(s) (default: --refs=string)
 *   npx tsx bench/quick-echo.ts --source    # statewire from its TypeScript sources (default: compiled with tsc, as it ships)
 *
 * A = raw `ws` echo (the received Buffer sent back), B = statewire's low-level echo. References,
 * run in the same rounds but not part of the A/B ratio: `string` = raw `ws` that decodes each
 * message to a string and sends the string (the same data path as statewire's echo), and
 * `string-buffer` = decode, then `Buffer.from` before `ws.send`.
 *
 * Every server runs in its own child process (pinned to core 0 when `taskset` exists), the load
 * generator in another (core 1). Server CPU time comes from `process.cpuUsage()` inside the
 * server; message counts from the load generator. 127.0.0.1 only; bounded to < 3 minutes; every
 * child is killed on the way out, also on error.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  loadProfile,
  loadSourceMaps,
  printComparison,
  printSummary,
  type ProfileSummary,
  summarize,
  type TimeWindow,
} from "./cpuprofile-top.js";
import { compileStatewire } from "./lib/procs.js";
import type { LoadCommand, LoadReply } from "./loadgen.js";
import type { ServerCommand, ServerStats } from "./servers/control.js";

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, "..");

const CONNECTIONS = 50;
const WINDOW = 16;
const SIZE = 64;
const WARMUP_MS = 1000;
const MEASURE_MS = 5000;
const ROUNDS = 3;
const IDLE_CONNECTIONS = 2000;
const IDLE_WARM = 20;
const DEADLINE_MS = 170_000;
const PROFILE = process.argv.includes("--profile");
const PROFILE_DIR = path.join(BENCH, "profiles");

interface ServerKind {
  readonly name: string;
  readonly slug: string;
  readonly script: string;
  readonly env: Readonly<Record<string, string>>;
}
const RAW_SCRIPT = path.join(BENCH, "servers/raw-ws.ts");
const RAW: ServerKind = { name: "raw ws", slug: "raw", script: RAW_SCRIPT, env: { ECHO_MODE: "buffer" } };
const STATEWIRE: ServerKind = { name: "statewire", slug: "statewire", script: path.join(BENCH, "servers/statewire-echo.ts"), env: {} };
const REFERENCES: Readonly<Record<string, ServerKind>> = {
  string: { name: "ref: raw ws, string echo", slug: "raw-string", script: RAW_SCRIPT, env: { ECHO_MODE: "string" } },
  "string-buffer": { name: "ref: raw ws, Buffer.from(string)", slug: "raw-string-buffer", script: RAW_SCRIPT, env: { ECHO_MODE: "string-buffer" } },
  listener: { name: "statewire listener echo", slug: "statewire-listener", script: path.join(BENCH, "servers/statewire-echo.ts"), env: { HANDLER: "listener" } },
};
const refsArg = process.argv.find((arg) => arg.startsWith("--refs="))?.slice("--refs=".length) ?? "string";
const REFS: readonly ServerKind[] =
  refsArg === "none"
    ? []
    : refsArg.split(",").map((name) => {
        const kind = REFERENCES[name];
        if (kind === undefined) throw new Error(`unknown reference ${name}: use ${Object.keys(REFERENCES).join(", ")} or none`);
        return kind;
      });

// ---- child processes ------------------------------------------------------------------------

const children = new Set<ChildProcess>();
const hasTaskset = spawnSync("taskset", ["-c", "0", "true"]).status === 0;

function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  children.clear();
}
process.on("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}
const deadline = setTimeout(() => {
  console.error(`quick-echo: over ${DEADLINE_MS / 1000} s, giving up`);
  killAll();
  process.exit(2);
}, DEADLINE_MS);
deadline.unref();

/** Extra node flags and environment for one child (profiling). */
interface SpawnExtras {
  readonly nodeArgs: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}
const NO_EXTRAS: SpawnExtras = { nodeArgs: [], env: {} };

/** `node --import tsx script`, pinned to `core` when possible, with an IPC channel. */
function startNode(script: string, core: number, extras: SpawnExtras = NO_EXTRAS): ChildProcess {
  const { nodeArgs, env } = extras;
  const args = [...nodeArgs, "--import", "tsx", script];
  const [command, argv] = hasTaskset ? ["taskset", ["-c", String(core), process.execPath, ...args]] : [process.execPath, args];
  const child = spawn(command, argv, { cwd: ROOT, stdio: ["ignore", "pipe", "inherit", "ipc"], env: { ...process.env, NODE_OPTIONS: "", ...env } });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    promise.then(
      (value) => (clearTimeout(timer), resolve(value)),
      (error: unknown) => (clearTimeout(timer), reject(error)),
    );
  });
}

let nextId = 1;
/** Send a command with a fresh id; resolves with the reply carrying that id. */
function request<R extends { id: number }>(child: ChildProcess, command: { type: string } & Record<string, unknown>, ms = 15_000): Promise<R> {
  const id = nextId++;
  const answer = new Promise<R>((resolve, reject) => {
    const onMessage = (message: unknown): void => {
      if ((message as { id?: number }).id !== id) return;
      cleanup();
      resolve(message as R);
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`child exited (${code}) before answering ${command.type}`));
    };
    const cleanup = (): void => {
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
  child.send({ ...command, id });
  return withTimeout(answer, ms, command.type);
}

type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;
const loadCommand = (child: ChildProcess, command: WithoutId<LoadCommand>, ms?: number): Promise<LoadReply> =>
  request<LoadReply>(child, command as { type: string } & Record<string, unknown>, ms).then((reply) => {
    if (!reply.ok) throw new Error(`load generator: ${reply.error}`);
    return reply;
  });
const serverCommand = (child: ChildProcess, command: Omit<Extract<ServerCommand, { type: "stats" }>, "id">): Promise<ServerStats> =>
  request<ServerStats>(child, command as { type: string } & Record<string, unknown>);

/** Start a server; resolves with its process and port once it printed `{"ready":true,"port":…}`. */
/** STATEWIRE_ENTRY for the statewire servers: the compiled build, unless --source. */
const SERVER_ENV: Record<string, string> = {};

async function startServer(kind: ServerKind, extras: SpawnExtras = NO_EXTRAS): Promise<{ child: ChildProcess; port: number }> {
  const child = startNode(kind.script, 0, { nodeArgs: extras.nodeArgs, env: { ...SERVER_ENV, ...kind.env, ...extras.env } });
  const port = await withTimeout(
    new Promise<number>((resolve, reject) => {
      let text = "";
      child.stdout!.setEncoding("utf8");
      child.stdout!.on("data", (chunk: string) => {
        text += chunk;
        for (const line of text.split("\n")) {
          if (!line.startsWith("{")) continue;
          try {
            const parsed = JSON.parse(line) as { ready?: boolean; port?: number };
            if (parsed.ready === true && typeof parsed.port === "number") resolve(parsed.port);
          } catch {
            // partial line
          }
        }
      });
      child.once("exit", (code) => reject(new Error(`${kind.name} server exited (${code}) before listening`)));
    }),
    20_000,
    `${kind.name} server start`,
  );
  return { child, port };
}

/** Ask a server to exit (so a CPU profile is written), SIGKILL after 5 s. */
async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    child.send({ type: "exit", id: nextId++ });
  } catch {
    // channel already gone
  }
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const cpuUs = (cpu: { user: number; system: number }): number => cpu.user + cpu.system;
/** Busy and total jiffies of cores 0 and 1 from /proc/stat (undefined off Linux). */
function coreTimes(): { busy: number; total: number }[] | undefined {
  if (!existsSync("/proc/stat")) return undefined;
  const cores: { busy: number; total: number }[] = [];
  for (const line of readFileSync("/proc/stat", "utf8").split("\n")) {
    const match = /^cpu([01]) (.*)$/.exec(line);
    if (match === null) continue;
    const fields = match[2]!.trim().split(/\s+/).map(Number);
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    cores[Number(match[1])] = { busy: total - idle, total };
  }
  return cores.length === 2 ? cores : undefined;
}
const coreBusy = (a: ReturnType<typeof coreTimes>, b: ReturnType<typeof coreTimes>, core: number): number => {
  if (a === undefined || b === undefined) return Number.NaN;
  const total = b[core]!.total - a[core]!.total;
  return total === 0 ? Number.NaN : (b[core]!.busy - a[core]!.busy) / total;
};
const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

// ---- measurements ---------------------------------------------------------------------------

interface LoadResult {
  readonly msgsPerSec: number;
  /** Echoes counted in the measurement window. */
  readonly messages: number;
  readonly serverCpuUsPerMsg: number;
  /** Server CPU time / wall time in the window (1 = one full core). */
  readonly serverUtil: number;
  readonly loadgenUtil: number;
  /** Whole-core busy share (/proc/stat, all processes, incl. softirq) of core 0 and core 1. */
  readonly core0Busy: number;
  readonly core1Busy: number;
  readonly errors: number;
  /** The measurement window on the server's monotonic clock (for the CPU profile). */
  readonly window: TimeWindow;
}

async function loadRun(loadgen: ChildProcess, kind: ServerKind, extras: SpawnExtras = NO_EXTRAS): Promise<LoadResult> {
  const { child, port } = await startServer(kind, extras);
  try {
    await loadCommand(loadgen, { type: "load", port, path: "/ws", connections: CONNECTIONS, window: WINDOW, size: SIZE });
    await sleep(WARMUP_MS);
    const c0 = coreTimes();
    const [s0, l0] = await Promise.all([serverCommand(child, { type: "stats" }), loadCommand(loadgen, { type: "count" })]);
    await sleep(MEASURE_MS);
    const [s1, l1] = await Promise.all([serverCommand(child, { type: "stats" }), loadCommand(loadgen, { type: "count" })]);
    const c1 = coreTimes();
    const stopped = await loadCommand(loadgen, { type: "stop" });
    const messages = l1.received - l0.received;
    const loadgenMs = l1.at - l0.at;
    const serverMs = s1.at - s0.at;
    const serverCpu = cpuUs(s1.cpu) - cpuUs(s0.cpu);
    if (messages <= 0) throw new Error(`${kind.name}: no echoes in the measurement window (${stopped.error ?? "no error"})`);
    if (stopped.errors > 0) console.warn(`  ${kind.name}: load generator saw ${stopped.errors} errors: ${stopped.error}`);
    return {
      msgsPerSec: (messages / loadgenMs) * 1000,
      messages,
      serverCpuUsPerMsg: serverCpu / messages,
      serverUtil: serverCpu / (serverMs * 1000),
      loadgenUtil: (cpuUs(l1.cpu) - cpuUs(l0.cpu)) / (loadgenMs * 1000),
      core0Busy: coreBusy(c0, c1, 0),
      core1Busy: coreBusy(c0, c1, 1),
      errors: stopped.errors,
      window: { fromUs: s0.monoUs, toUs: s1.monoUs },
    };
  } finally {
    await stopServer(child);
  }
}

interface IdleResult {
  readonly rssPerConn: number;
  readonly heapPerConn: number;
  readonly externalPerConn: number;
  readonly handshakeCpuUs: number;
  readonly serverCount: number;
  /** From before the first of the idle handshakes to after the last. */
  readonly window: TimeWindow;
}

async function idleRun(loadgen: ChildProcess, kind: ServerKind, extras: SpawnExtras = NO_EXTRAS): Promise<IdleResult> {
  const { child, port } = await startServer(kind, { nodeArgs: ["--expose-gc", ...extras.nodeArgs], env: extras.env });
  try {
    // A few connections first, so code loaded and compiled on first use is in the baseline.
    await loadCommand(loadgen, { type: "idle", port, path: "/ws", count: IDLE_WARM, concurrency: 10 });
    await sleep(200);
    const before = await serverCommand(child, { type: "stats", gc: true });
    await loadCommand(loadgen, { type: "idle", port, path: "/ws", count: IDLE_CONNECTIONS, concurrency: 100 }, 60_000);
    await sleep(500);
    const busy = await serverCommand(child, { type: "stats" });
    const after = await serverCommand(child, { type: "stats", gc: true });
    await loadCommand(loadgen, { type: "stop" });
    const n = IDLE_CONNECTIONS;
    return {
      rssPerConn: (after.mem.rss - before.mem.rss) / n,
      heapPerConn: (after.mem.heapUsed - before.mem.heapUsed) / n,
      externalPerConn: (after.mem.external - before.mem.external) / n,
      handshakeCpuUs: (cpuUs(busy.cpu) - cpuUs(before.cpu)) / n,
      serverCount: after.connections - before.connections,
      window: { fromUs: before.monoUs, toUs: busy.monoUs },
    };
  } finally {
    await stopServer(child);
  }
}

/**
 * The main thread's profile in `dir`: `CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile`, thread 0
 * (tsx's module-loader worker thread writes its own profile beside it).
 */
function mainThreadProfile(dir: string): string | undefined {
  const file = readdirSync(dir).find((name) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(name));
  return file === undefined ? undefined : path.join(dir, file);
}

const PROFILE_INTERVAL_US = 250;

/** Run with `--cpu-prof` into bench/profiles/<name>/; the summary covers `window(result)` only. */
async function profiled<T>(
  name: string,
  run: (extras: SpawnExtras) => Promise<T>,
  window: (result: T) => TimeWindow,
): Promise<{ result: T; file: string; summary: ProfileSummary }> {
  const dir = path.join(PROFILE_DIR, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const mapsFile = path.join(dir, "source-maps.json");
  const result = await run({
    nodeArgs: ["--enable-source-maps", "--cpu-prof", "--cpu-prof-dir", dir, "--cpu-prof-interval", String(PROFILE_INTERVAL_US)],
    env: { BENCH_SOURCE_MAPS_OUT: mapsFile },
  });
  const file = mainThreadProfile(dir);
  if (file === undefined) throw new Error(`no main-thread .cpuprofile written in ${dir}`);
  return { result, file, summary: summarize(loadProfile(file), window(result), loadSourceMaps(mapsFile)) };
}

// ---- main -----------------------------------------------------------------------------------

const fmt = (value: number, digits = 0): string => value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function main(): Promise<void> {
  const started = performance.now();
  if (!process.argv.includes("--source")) {
    const { entry, warning } = compileStatewire();
    SERVER_ENV.STATEWIRE_ENTRY = entry;
    console.log(`statewire compiled with tsc into ${path.relative(ROOT, path.dirname(path.dirname(entry)))}${warning === undefined ? "" : ` (tsc: ${warning})`}`);
  }
  console.log(`load average before start: ${loadavg().map((x) => x.toFixed(2)).join(" ")} (other work on this machine skews the numbers)`);
  console.log(
    `quick-echo: ${CONNECTIONS} connections × window ${WINDOW} × ${SIZE} B text, ${WARMUP_MS / 1000} s warm-up + ${MEASURE_MS / 1000} s, ` +
      `${ROUNDS} rounds A/B${REFS.length > 0 ? ` (+ ${REFS.map((k) => k.name).join(", ")})` : ""}; node ${process.version}; ${hasTaskset ? "server on core 0, load on core 1 (taskset)" : "no taskset: unpinned"}`,
  );
  const loadgen = startNode(path.join(BENCH, "loadgen.ts"), 1);
  await withTimeout(
    new Promise<void>((resolve) => loadgen.once("message", () => resolve())),
    20_000,
    "load generator start",
  );

  const kinds = [RAW, STATEWIRE, ...REFS];
  const results = new Map<ServerKind, LoadResult[]>(kinds.map((kind) => [kind, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const kind of kinds) {
      const result = await loadRun(loadgen, kind);
      results.get(kind)!.push(result);
      console.log(
        `  round ${round} ${kind.name.padEnd(33)} ${fmt(result.msgsPerSec).padStart(9)} msgs/s  ${fmt(result.serverCpuUsPerMsg, 2).padStart(6)} µs CPU/msg  ` +
          `server CPU ${fmt(result.serverUtil * 100)}%  load gen CPU ${fmt(result.loadgenUtil * 100)}%  ` +
          `core0/core1 busy (all processes) ${fmt(result.core0Busy * 100)}%/${fmt(result.core1Busy * 100)}%`,
      );
    }
  }

  const idle = new Map<ServerKind, IdleResult>();
  for (const kind of [RAW, STATEWIRE]) {
    const result = await idleRun(loadgen, kind);
    idle.set(kind, result);
    if (result.serverCount !== IDLE_CONNECTIONS) console.warn(`  ${kind.name}: server counted ${result.serverCount} new connections`);
  }

  type NumericKey = { [K in keyof LoadResult]: LoadResult[K] extends number ? K : never }[keyof LoadResult];
  const med = (kind: ServerKind, key: NumericKey): number => median(results.get(kind)!.map((r) => r[key]));
  const rawRate = med(RAW, "msgsPerSec");
  const rawCpu = med(RAW, "serverCpuUsPerMsg");
  console.log(`\nmedians of ${ROUNDS} runs                        msgs/s   ×raw   CPU µs/msg   ×raw   server CPU   load gen CPU   core 0 busy`);
  for (const kind of kinds) {
    const rate = med(kind, "msgsPerSec");
    const cpu = med(kind, "serverCpuUsPerMsg");
    console.log(
      `  ${kind.name.padEnd(33)} ${fmt(rate).padStart(9)}   ${fmt(rate / rawRate, 2)}   ${fmt(cpu, 2).padStart(10)}   ${fmt(cpu / rawCpu, 2)}` +
        `   ${fmt(med(kind, "serverUtil") * 100).padStart(9)}%   ${fmt(med(kind, "loadgenUtil") * 100).padStart(11)}%   ${fmt(med(kind, "core0Busy") * 100).padStart(10)}%`,
    );
  }
  const swRate = med(STATEWIRE, "msgsPerSec");
  const swCpu = med(STATEWIRE, "serverCpuUsPerMsg");
  console.log(`  statewire/raw: msgs/s ${fmt(swRate / rawRate, 2)}, server CPU per message ${fmt(swCpu / rawCpu, 2)}`);
  const r = idle.get(RAW)!;
  const s = idle.get(STATEWIRE)!;
  console.log(`\nidle connections (${IDLE_CONNECTIONS}, after gc)       raw ws   statewire   statewire/raw`);
  console.log(`  RSS per connection (KB)       ${fmt(r.rssPerConn / 1024, 1).padStart(9)}   ${fmt(s.rssPerConn / 1024, 1).padStart(9)}   ${fmt(s.rssPerConn / r.rssPerConn, 2).padStart(9)}`);
  console.log(`  heap used per connection (KB) ${fmt(r.heapPerConn / 1024, 1).padStart(9)}   ${fmt(s.heapPerConn / 1024, 1).padStart(9)}   ${fmt(s.heapPerConn / r.heapPerConn, 2).padStart(9)}`);
  console.log(`  external per connection (KB)  ${fmt(r.externalPerConn / 1024, 1).padStart(9)}   ${fmt(s.externalPerConn / 1024, 1).padStart(9)}`);
  console.log(`  server CPU µs per handshake   ${fmt(r.handshakeCpuUs).padStart(9)}   ${fmt(s.handshakeCpuUs).padStart(9)}   ${fmt(s.handshakeCpuUs / r.handshakeCpuUs, 2).padStart(9)}`);

  if (PROFILE) {
    console.log(`\nCPU profiles (--cpu-prof every ${PROFILE_INTERVAL_US} µs; only samples inside the measurement window; profiling slows the server)`);
    const echo = new Map<ServerKind, Awaited<ReturnType<typeof profiled<LoadResult>>>>();
    for (const kind of [RAW, STATEWIRE]) {
      const run = await profiled(`echo-${kind.slug}`, (extras) => loadRun(loadgen, kind, extras), (r) => r.window);
      echo.set(kind, run);
      console.log(
        `  echo, ${kind.name}: ${fmt(run.result.msgsPerSec)} msgs/s, ${fmt(run.result.serverCpuUsPerMsg, 2)} µs CPU/msg while profiled — ${path.relative(ROOT, run.file)}`,
      );
    }
    const hs = new Map<ServerKind, Awaited<ReturnType<typeof profiled<IdleResult>>>>();
    for (const kind of [RAW, STATEWIRE]) {
      const run = await profiled(`handshake-${kind.slug}`, (extras) => idleRun(loadgen, kind, extras), (r) => r.window);
      hs.set(kind, run);
      console.log(`  handshakes, ${kind.name}: ${fmt(run.result.handshakeCpuUs)} µs CPU/handshake while profiled — ${path.relative(ROOT, run.file)}`);
    }
    const e = (kind: ServerKind): { summary: ProfileSummary; units: number } => ({ summary: echo.get(kind)!.summary, units: echo.get(kind)!.result.messages });
    const h = (kind: ServerKind): { summary: ProfileSummary; units: number } => ({ summary: hs.get(kind)!.summary, units: IDLE_CONNECTIONS });
    console.log("\necho, statewire server profile:");
    printSummary(e(STATEWIRE).summary);
    console.log("\necho, raw ws → statewire:");
    printComparison("message", e(RAW), e(STATEWIRE));
    console.log("\nhandshakes, statewire server profile:");
    printSummary(h(STATEWIRE).summary);
    console.log("\nhandshakes, raw ws → statewire:");
    printComparison("handshake", h(RAW), h(STATEWIRE));
  }
  console.log(`\ndone in ${fmt((performance.now() - started) / 1000, 1)} s`);
}

main().then(
  () => {
    killAll();
    process.exit(0);
  },
  (error: unknown) => {
    console.error("quick-echo failed:", error);
    killAll();
    process.exit(1);
  },
);
