/**
 * Server CPU per unit of work, statewire against raw `ws` in the same run, interleaved: a
 * quicker and less load-sensitive check than `npm run bench` while working on one row. Server
 * CPU (user and system, measured inside the server) moves less with other work on the machine
 * than the wall clock does; medians of many interleaved rounds.
 *
 *   node --import tsx bench/cpu-ab.ts fanout [--subscribers=10000] [--rounds=15] [--loop=1] [--floor=socket|handle|both] [--perf=file] [--strace=prefix]
 *   node --import tsx bench/cpu-ab.ts handshake [--servers=sw-websocket,sw-listener] [--rounds=7] [--ms=1000]
 *
 * Statewire is compiled with tsc first, as `npm run bench` runs it. Servers on core 0, load
 * generators on core 1 (taskset).
 */
import { appendFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { loadProfile, printComparison, printSummary, summarize, type TimeWindow } from "./cpuprofile-top.js";
import path from "node:path";
import { type ChildProcess, spawn } from "node:child_process";
import {
  BENCH,
  compileStatewire,
  guardChildren,
  killAll,
  loadCommand,
  median,
  pin,
  serverBroadcast,
  serverStats,
  sleep,
  type StartedServer,
  startLoadgen,
  startServer,
  stopServer,
  withTimeout,
} from "./lib/procs.js";
import type { FanoutReport } from "./loadgen.js";
import { freshAddresses } from "./lib/addresses.js";

const [mode = "fanout", ...rest] = process.argv.slice(2);
const args = new Map(
  rest.flatMap((arg) => {
    const match = /^--([\w-]+)=(.*)$/.exec(arg);
    return match === null ? [] : [[match[1]!, match[2]!] as const];
  }),
);
const script = (name: string): string => path.join(BENCH, "servers", name);
guardChildren("cpu-ab", 600_000);
const { entry } = compileStatewire();
const ENV = { STATEWIRE_ENTRY: entry };
const fmt = (n: number, digits = 1): string => n.toFixed(digits);

interface Cpu {
  user: number;
  system: number;
}
const delta = (a: { cpu: Cpu }, b: { cpu: Cpu }): Cpu => ({ user: b.cpu.user - a.cpu.user, system: b.cpu.system - a.cpu.system });

/**
 * `--perf=file`: Linux perf samples (kernel and JavaScript frames) of the servers;
 * `--strace=prefix`: their system calls counted, one file per server (prefix.key). Returns what
 * stops them (and waits until their files are written).
 */
async function startTracing(servers: readonly { key: string; server: StartedServer }[]): Promise<() => Promise<void>> {
  const tracers = args.has("perf")
    ? [spawn("perf", ["record", "-F", "4999", "-g", "-o", args.get("perf")!, "-p", servers.map(({ server }) => server.child.pid).join(",")], { stdio: "ignore" })]
    : args.has("strace")
      ? servers.map(({ key, server }) => spawn("strace", ["-c", "-f", "-o", `${args.get("strace")!}.${key}`, "-p", String(server.child.pid)], { stdio: "ignore" }))
      : [];
  if (tracers.length > 0) await sleep(1000);
  return async () => {
    for (const tracer of tracers) {
      tracer.kill("SIGINT");
      await new Promise((resolve) => tracer.once("exit", resolve));
    }
  };
}

async function fanout(): Promise<void> {
  const subscribers = Number(args.get("subscribers") ?? 10_000);
  const rounds = Number(args.get("rounds") ?? 15);
  const servers = [
    { key: "raw", script: script("raw-ws.ts"), env: { ROLE: "fanout" } },
    { key: "sw-channels", script: script("statewire-fanout.ts"), env: { ...ENV, BROADCAST: args.get("broadcast") ?? "channels-memory" } },
    ...(args.has("loop") ? [{ key: "sw-loop", script: script("statewire-fanout.ts"), env: { ...ENV, BROADCAST: "loop" } }] : []),
    // --floor=1 (or socket): one prebuilt frame per socket.write; --floor=handle: the same through libuv's write, below node's streams; --floor=both.
    ...(["1", "socket", "both"].includes(args.get("floor") ?? "") ? [{ key: "raw-socket", script: script("raw-ws.ts"), env: { ROLE: "fanout", FANOUT_MODE: "socket" } }] : []),
    ...(["handle", "both"].includes(args.get("floor") ?? "") ? [{ key: "raw-handle", script: script("raw-ws.ts"), env: { ROLE: "fanout", FANOUT_MODE: "handle" } }] : []),
  ];
  const started: { key: string; server: StartedServer; loadgens: ChildProcess[]; profile: string | undefined }[] = [];
  const windows = new Map<string, TimeWindow[]>();
  for (const s of servers) {
    const profile = args.has("profile") ? path.join(BENCH, "profiles", `fanout-${s.key}`) : undefined;
    if (profile !== undefined) {
      rmSync(profile, { recursive: true, force: true });
      mkdirSync(profile, { recursive: true });
    }
    const server = await startServer(s.key, s.script, undefined, {
      env: s.env,
      nodeArgs: [
        ...(profile === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", profile, "--cpu-prof-interval", "100"]),
        ...(args.has("perf") ? ["--perf-basic-prof"] : []),
      ],
    });
    pin(server.child.pid, 0);
    const loadgens = [await startLoadgen(1), await startLoadgen(1)];
    await Promise.all(
      loadgens.map((loadgen) =>
        loadCommand(loadgen, { type: "subscribe", port: server.port, path: "/ws", protocol: "ws", count: subscribers / 2, concurrency: 100, addresses: freshAddresses(Math.ceil(subscribers / 2000)) }, 120_000),
      ),
    );
    for (;;) {
      if ((await serverStats(server.child)).connections === subscribers) break;
      await sleep(50);
    }
    started.push({ key: s.key, server, loadgens, profile });
  }
  let seq = 0;
  const results = new Map<string, { user: number[]; system: number[]; toLast: number[] }>();
  const stopTracing = await startTracing(started);
  for (const { key, server } of started) console.log(`${key}: pid ${server.child.pid}`);
  for (let round = -2; round < rounds; round++) {
    for (const { key, server, loadgens } of started) {
      const current = ++seq;
      const reports = loadgens.map(
        (loadgen) =>
          withTimeout(
            new Promise<FanoutReport>((resolve) => {
              const on = (message: unknown): void => {
                const report = message as FanoutReport;
                if (report.type !== "fanout" || report.seq !== current) return;
                loadgen.off("message", on);
                resolve(report);
              };
              loadgen.on("message", on);
            }),
            30_000,
            "fan-out report",
          ),
      );
      const s0 = await serverStats(server.child);
      const payload = `B:${current}:`.padEnd(64, "x");
      const sent = await serverBroadcast(server.child, payload);
      const arrived = await Promise.all(reports);
      await sleep(20);
      const s1 = await serverStats(server.child);
      if (round < 0) continue;
      const cpu = delta(s0, s1);
      windows.set(key, [...(windows.get(key) ?? []), { fromUs: s0.monoUs, toUs: s1.monoUs }]);
      const list = results.get(key) ?? { user: [], system: [], toLast: [] };
      list.user.push(cpu.user / 1000);
      list.system.push(cpu.system / 1000);
      list.toLast.push((Math.max(...arrived.map((r) => r.lastUs)) - sent.startUs) / 1000);
      results.set(key, list);
    }
  }
  await stopTracing();
  const raw = results.get("raw")!;
  const rawTotal = median(raw.user.map((u, i) => u + raw.system[i]!));
  for (const [key, r] of results) {
    const total = median(r.user.map((u, i) => u + r.system[i]!));
    console.log(
      `${key.padEnd(12)} ${subscribers} subscribers: server CPU ${fmt(total)} ms (user ${fmt(median(r.user))}, system ${fmt(median(r.system))}) ` +
        `= ${fmt(total / rawTotal, 2)}× raw; to last ${fmt(median(r.toLast))} ms = ${fmt(median(r.toLast) / median(raw.toLast), 2)}× raw`,
    );
  }
  for (const { server, loadgens } of started) {
    await Promise.all(loadgens.map((loadgen) => loadCommand(loadgen, { type: "stop" })));
    await stopServer(server.child);
  }
  if (!args.has("profile")) return;
  // Only the samples of the measured broadcasts, per broadcast.
  const summaries = started.map(({ key, profile }) => {
    const file = readdirSync(profile!).find((name) => /\.0\.\d+\.cpuprofile$/.test(name))!;
    return { key, summary: summarize(loadProfile(path.join(profile!, file)), windows.get(key)!), units: rounds };
  });
  for (const { key, summary } of summaries) {
    console.log(`\n${key}: profile of the broadcasts`);
    printSummary(summary, 25);
  }
  console.log("");
  printComparison("broadcast", summaries[0]!, summaries[1]!, 25, ["raw ws", "statewire"]);
}

async function handshake(): Promise<void> {
  const keys = (args.get("servers") ?? "sw-websocket,sw-listener").split(",");
  const rounds = Number(args.get("rounds") ?? 7);
  const ms = Number(args.get("ms") ?? 1000);
  const all = [
    { key: "raw", script: script("raw-ws.ts"), env: {} },
    { key: "sw-websocket", script: script("statewire-echo.ts"), env: { ...ENV, HANDLER: "websocket" } },
    { key: "sw-listener", script: script("statewire-echo.ts"), env: { ...ENV, HANDLER: "listener" } },
    { key: "sw-machine", script: script("statewire-echo.ts"), env: { ...ENV, HANDLER: "machine" } },
    // The ws transport alone (no app, connection runtime nor handler): where the cost sits.
    { key: "sw-transport", script: script("transport-only.ts"), env: ENV },
  ].filter((s) => s.key === "raw" || keys.includes(s.key));
  // --base=path/to/index.js: the same statewire servers from another build (e.g. the last commit's), side by side.
  const base = args.get("base");
  if (base !== undefined) {
    for (const s of all.filter((s) => s.key !== "raw")) all.push({ ...s, key: `base-${s.key.slice(3)}`, env: { ...s.env, STATEWIRE_ENTRY: base } });
  }
  const loadgen = await startLoadgen(1);
  const started: { key: string; server: StartedServer }[] = [];
  for (const s of all) {
    const nodeArgs = [...(args.get("node-args") ?? "").split(" ").filter(Boolean), ...(args.has("perf") ? ["--perf-basic-prof"] : [])];
    const server = await startServer(s.key, s.script, undefined, { env: s.env, nodeArgs });
    pin(server.child.pid, 0);
    // --stdout=prefix: each server's output after its start (e.g. with --node-args=--trace-gc) in prefix.key.
    const stdoutPrefix = args.get("stdout");
    if (stdoutPrefix !== undefined) server.child.stdout!.on("data", (chunk: string) => appendFileSync(`${stdoutPrefix}.${s.key}`, chunk));
    started.push({ key: s.key, server });
  }
  for (const { key, server } of started) console.log(`${key}: pid ${server.child.pid}`);
  const stopTracing = await startTracing(started);
  const results = new Map<string, { user: number[]; system: number[]; rate: number[] }>();
  for (let round = -1; round < rounds; round++) {
    for (const { key, server } of started) {
      const s0 = await serverStats(server.child);
      const reply = await loadCommand(
        loadgen,
        { type: "handshakes", port: server.port, path: "/ws", protocol: "ws", durationMs: ms, concurrency: 50, addresses: freshAddresses(8) },
        ms + 20_000,
      );
      await sleep(100);
      const s1 = await serverStats(server.child);
      if (round < 0) continue;
      const done = Math.max(1, reply.handshakes!.completed);
      const cpu = delta(s0, s1);
      const list = results.get(key) ?? { user: [], system: [], rate: [] };
      list.user.push(cpu.user / done);
      list.system.push(cpu.system / done);
      list.rate.push((reply.handshakes!.completed / reply.handshakes!.elapsedMs) * 1000);
      results.set(key, list);
    }
  }
  await stopTracing();
  const raw = results.get("raw")!;
  const rawTotal = median(raw.user.map((u, i) => u + raw.system[i]!));
  for (const [key, r] of results) {
    const total = median(r.user.map((u, i) => u + r.system[i]!));
    console.log(
      `${key.padEnd(12)} handshake: server CPU ${fmt(total)} µs (user ${fmt(median(r.user))}, system ${fmt(median(r.system))}); ` +
        `raw/this CPU = ${fmt(rawTotal / total, 2)}×; rate ${fmt(median(r.rate), 0)}/s = ${fmt(median(r.rate) / median(raw.rate), 2)}× raw`,
    );
  }
  for (const { server } of started) await stopServer(server.child);
}

try {
  if (mode === "fanout") await fanout();
  else if (mode === "handshake") await handshake();
  else throw new Error(`unknown mode ${mode}: fanout or handshake`);
} finally {
  killAll();
}
process.exit(0);
