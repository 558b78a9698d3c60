/**
 * Instructions (user space) per unit of work, statewire against raw `ws`, counted by valgrind's
 * callgrind: independent of other work on the machine, where CPU time and wall clock are not.
 * The kernel's share (one write per frame, the TCP handshake) is not counted; it is the same for
 * both sides when they make the same system calls.
 *
 *   node --import tsx bench/callgrind-ab.ts fanout [--subscribers=2000] [--broadcasts=10] [--loop=1] [--floor=1]
 *   node --import tsx bench/callgrind-ab.ts handshake [--servers=sw-websocket,sw-listener] [--ms=3000] [--warm=ms] [--base=index.js]
 *   node --import tsx bench/callgrind-ab.ts echo [--handlers=listener,listener-metrics] [--builds=base=path/index.js,…] [--size=64] [--messages=20000]
 *
 * Each server runs under `valgrind --tool=callgrind --instr-atstart=no` and node's
 * `--single-threaded` (compilation and GC on the main thread: counts that repeat); after a
 * warm-up (code paths compiled, JIT tiers settled) instrumentation is switched on with
 * `callgrind_control`, the measured work runs, and it is switched off again. Timers run 50×
 * late in wall-clock terms under valgrind, so statewire's fan-out server runs without heartbeat
 * (a ping round is no part of a broadcast). Slow (valgrind): minutes, not seconds.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { BENCH, compileStatewire, guardChildren, killAll, loadCommand, ROOT, serverBroadcast, serverStats, sleep, startLoadgen, withTimeout } from "./lib/procs.js";
import { echoPayload, type FanoutReport } from "./loadgen.js";
import { connectAll } from "./lib/echo-client.js";
import { freshAddresses } from "./lib/addresses.js";

const [mode = "fanout", ...rest] = process.argv.slice(2);
const args = new Map(
  rest.flatMap((arg) => {
    const match = /^--([\w-]+)=(.*)$/.exec(arg);
    return match === null ? [] : [[match[1]!, match[2]!] as const];
  }),
);
guardChildren("callgrind-ab", 3_600_000);
const { entry } = compileStatewire();
const OUT = path.join(BENCH, "profiles", "callgrind");
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });

interface Server {
  readonly key: string;
  readonly child: ChildProcess;
  readonly port: number;
  readonly out: string;
}

async function startUnderValgrind(key: string, script: string, env: Record<string, string>): Promise<Server> {
  const out = path.join(OUT, `${key}.callgrind`);
  const child = spawn(
    "taskset",
    ["-c", "0", "valgrind", "--tool=callgrind", "--instr-atstart=no", `--callgrind-out-file=${out}`, process.execPath, "--single-threaded", "--import", "tsx", path.join(BENCH, "servers", script)],
    { cwd: ROOT, stdio: ["ignore", "pipe", "ignore", "ipc"], env: { ...process.env, NODE_OPTIONS: "", STATEWIRE_ENTRY: entry, ...env } },
  );
  process.on("exit", () => child.kill("SIGKILL"));
  const port = await withTimeout(
    new Promise<number>((resolve, reject) => {
      let text = "";
      child.stdout!.setEncoding("utf8");
      child.stdout!.on("data", (chunk: string) => {
        text += chunk;
        const match = /\{"ready":true,"port":(\d+)/.exec(text);
        if (match !== null) resolve(Number(match[1]));
      });
      child.once("exit", (code) => reject(new Error(`${key} exited (${code})`)));
    }),
    600_000,
    `${key} start under valgrind`,
  );
  return { key, child, port, out };
}

function instrument(server: Server, on: boolean): void {
  const result = spawnSync("callgrind_control", ["-i", on ? "on" : "off", String(server.child.pid)], { encoding: "utf8", timeout: 120_000 });
  if (result.status !== 0) throw new Error(`callgrind_control: ${result.stderr}`);
}

/** Stop the server and read the instructions counted while instrumentation was on. */
async function counted(server: Server): Promise<number> {
  // Not stopServer: valgrind takes longer than its 5 s to exit and write the counts.
  const exited = new Promise<void>((resolve) => server.child.once("exit", () => resolve()));
  server.child.send({ type: "exit", id: 0 });
  await withTimeout(exited, 300_000, `${server.key} exit under valgrind`);
  for (let i = 0; i < 100 && !existsSync(server.out); i++) await sleep(100);
  const text = readFileSync(server.out, "utf8");
  const match = /^totals: (\d+)/m.exec(text);
  if (match === null) throw new Error(`no totals in ${server.out}`);
  return Number(match[1]);
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");

async function fanout(): Promise<void> {
  const subscribers = Number(args.get("subscribers") ?? 2000);
  const broadcasts = Number(args.get("broadcasts") ?? 20);
  const servers = [
    { key: "raw", script: "raw-ws.ts", env: { ROLE: "fanout" } },
    { key: "sw-channels", script: "statewire-fanout.ts", env: { BROADCAST: "channels-memory", HEARTBEAT: "off" } },
    // --loop=1: statewire's own loop over its sockets (`socket.sendText` each), what the channels layer adds to.
    ...(args.has("loop") ? [{ key: "sw-loop", script: "statewire-fanout.ts", env: { BROADCAST: "loop", HEARTBEAT: "off" } }] : []),
    ...(args.has("floor") ? [{ key: "raw-socket", script: "raw-ws.ts", env: { ROLE: "fanout", FANOUT_MODE: "socket" } }] : []),
  ].filter((s) => args.get("only") === undefined || s.key === "raw" || args.get("only")!.split(",").includes(s.key));
  const perBroadcast = new Map<string, number>();
  let seq = 1_000_000;
  for (const s of servers) {
    const server = await startUnderValgrind(s.key, s.script, s.env);
    const loadgen = await startLoadgen(1);
    await loadCommand(loadgen, { type: "subscribe", port: server.port, path: "/ws", protocol: "ws", count: subscribers, concurrency: 50, addresses: freshAddresses(Math.ceil(subscribers / 1000)) }, 600_000);
    while ((await serverStats(server.child)).connections !== subscribers) await sleep(200);
    const once = async (): Promise<void> => {
      const current = ++seq;
      const report = withTimeout(
        new Promise<FanoutReport>((resolve) => {
          const on = (message: unknown): void => {
            const r = message as FanoutReport;
            if (r.type === "fanout" && r.seq === current) {
              loadgen.off("message", on);
              resolve(r);
            }
          };
          loadgen.on("message", on);
        }),
        300_000,
        "fan-out report",
      );
      await serverBroadcast(server.child, `B:${current}:`.padEnd(64, "x"));
      await report;
    };
    for (let i = 0; i < 20; i++) await once();
    instrument(server, true);
    for (let i = 0; i < broadcasts; i++) await once();
    instrument(server, false);
    await loadCommand(loadgen, { type: "stop" });
    loadgen.kill();
    const ir = await counted(server);
    perBroadcast.set(s.key, ir / broadcasts);
    console.log(`${s.key.padEnd(12)} ${fmt(ir / broadcasts)} instructions per broadcast to ${subscribers} (${fmt(ir / broadcasts / subscribers)} per subscriber)`);
  }
  const raw = perBroadcast.get("raw")!;
  for (const [key, ir] of perBroadcast) console.log(`  ${key.padEnd(12)} ${(ir / raw).toFixed(3)}× raw ws's instructions`);
}

async function handshake(): Promise<void> {
  const keys = (args.get("servers") ?? "sw-websocket,sw-listener").split(",");
  const ms = Number(args.get("ms") ?? 3000);
  const servers: { key: string; script: string; env: Record<string, string> }[] = [
    { key: "raw", script: "raw-ws.ts", env: {} },
    { key: "sw-websocket", script: "statewire-echo.ts", env: { HANDLER: "websocket" } },
    { key: "sw-listener", script: "statewire-echo.ts", env: { HANDLER: "listener" } },
    { key: "sw-machine", script: "statewire-echo.ts", env: { HANDLER: "machine" } },
  ].filter((s) => s.key === "raw" || keys.includes(s.key));
  // --base=path/to/index.js: the same statewire servers from another build too (e.g. main's), for an A/B.
  const base = args.get("base");
  if (base !== undefined) {
    for (const s of servers.filter((s) => s.key !== "raw")) servers.push({ ...s, key: `base-${s.key.slice(3)}`, env: { ...s.env, STATEWIRE_ENTRY: base } });
  }
  // --warm=ms: how long the warm-up runs before counting (JIT tiers settle slowly under valgrind).
  const warm = Number(args.get("warm") ?? ms);
  const per = new Map<string, number>();
  const loadgen = await startLoadgen(1);
  for (const s of servers) {
    const server = await startUnderValgrind(s.key, s.script, s.env);
    const run = (durationMs: number) =>
      loadCommand(loadgen, { type: "handshakes", port: server.port, path: "/ws", protocol: "ws", durationMs, concurrency: 20, addresses: freshAddresses(4) }, durationMs + 120_000);
    await run(warm);
    await sleep(500);
    instrument(server, true);
    const reply = await run(ms);
    await sleep(1000); // the closes settle inside the window
    instrument(server, false);
    const completed = reply.handshakes!.completed;
    const ir = await counted(server);
    per.set(s.key, ir / completed);
    console.log(`${s.key.padEnd(12)} ${fmt(ir / completed)} instructions per handshake (${completed} handshakes, ${reply.handshakes!.failed} failed)`);
  }
  loadgen.kill();
  const raw = per.get("raw")!;
  for (const [key, ir] of per) console.log(`  ${key.padEnd(12)} ${(raw / ir).toFixed(3)}× (raw ws's instructions / this one's: a rate ratio)`);
}

/**
 * Instructions per echoed message (micro.ts's client: 20 connections × 16 in flight), for each
 * handler of this worktree's build and of every `--builds=name=index.js`: what a per-message
 * change saves, free of the machine's load.
 */
async function echo(): Promise<void> {
  const handlers = (args.get("handlers") ?? "listener,listener-metrics").split(",");
  const size = Number(args.get("size") ?? 64);
  const messages = Number(args.get("messages") ?? 20_000);
  const builds: [string, string][] = [
    ["this", entry],
    ...(args.get("builds") ?? "")
      .split(",")
      .filter((b) => b !== "")
      .map((b) => b.split("=") as [string, string]),
  ];
  for (const [name, index] of builds) {
    for (const handler of handlers) {
      const key = `${name}-${handler}`;
      const server = await startUnderValgrind(key, "statewire-echo.ts", { HANDLER: handler, STATEWIRE_ENTRY: path.resolve(index) });
      const client = await connectAll(server.port, echoPayload(size, handler === "json" ? "json" : "text", "ws"));
      await client.run(messages);
      await client.run(messages);
      instrument(server, true);
      await client.run(messages);
      instrument(server, false);
      client.close();
      const ir = await counted(server);
      console.log(`${key.padEnd(28)} ${fmt(ir / messages)} instructions per echoed message (${size} B)`);
    }
  }
}

try {
  if (mode === "fanout") await fanout();
  else if (mode === "handshake") await handshake();
  else if (mode === "echo") await echo();
  else throw new Error(`unknown mode ${mode}: fanout, handshake or echo`);
} finally {
  killAll();
}
process.exit(0);
