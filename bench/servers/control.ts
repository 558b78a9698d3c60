import { readdirSync, writeFileSync } from "node:fs";
import { createRequire, findSourceMap } from "node:module";
import { writeHeapSnapshot } from "node:v8";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/**
 * The control channel every bench server shares: it prints its port on stdout when ready and
 * answers the orchestrator over IPC with its own CPU time and memory, measured inside the
 * server process. It exits when told to (so `--cpu-prof` gets written) or when its parent goes.
 */

export interface ServerStats {
  readonly type: "stats";
  readonly id: number;
  /** `process.cpuUsage()` in µs. */
  readonly cpu: { readonly user: number; readonly system: number };
  readonly mem: NodeJS.MemoryUsage;
  readonly connections: number;
  readonly at: number;
  /** `process.hrtime` in µs: the monotonic clock V8's CPU profiles are stamped with. */
  readonly monoUs: number;
  /** Whether `ws` loaded the native `bufferutil` (off with WS_NO_BUFFER_UTIL=1). */
  readonly bufferutil: boolean;
}

/** The answer to `broadcast`: when the server began sending, and when its send call returned. */
export interface BroadcastReply {
  readonly type: "broadcast";
  readonly id: number;
  readonly ok: boolean;
  readonly error?: string;
  /** `process.hrtime` in µs, the clock every process of the machine shares. */
  readonly startUs: number;
  /** After the synchronous send loop returned (or the publish promise settled). */
  readonly returnedUs: number;
}

export type ServerCommand =
  | { readonly type: "stats"; readonly id: number; readonly gc?: boolean }
  | { readonly type: "broadcast"; readonly id: number; readonly payload: string }
  /** Write a heap snapshot (after GC) to `file`; answered with stats. */
  | { readonly type: "heapsnapshot"; readonly id: number; readonly file: string }
  | { readonly type: "exit"; readonly id: number };

/** What a fan-out server adds: how many subscribers are ready, and the broadcast itself. */
export interface FanoutHooks {
  readonly broadcast: (payload: string) => void | Promise<unknown>;
  /** Cleanup before the process exits (awaited at most 2 s). */
  readonly close?: () => Promise<unknown>;
}

const gc = (globalThis as { gc?: () => void }).gc;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * tsx compiles each module to one line, so a CPU profile's positions mean nothing without the
 * source maps (available with `--enable-source-maps`). Write those of statewire's and the
 * bench's own loaded modules to `file`, for `cpuprofile-top.ts`.
 */
function dumpSourceMaps(file: string): void {
  const maps: Record<string, unknown> = {};
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(".ts") || entry.name.endsWith(".js")) {
        const url = pathToFileURL(full).href;
        const map = findSourceMap(url);
        if (map !== undefined) maps[url] = map.payload;
      }
    }
  };
  // bench/ holds bench/.build too: the compiled statewire the harness runs.
  for (const dir of ["src", "machines", "bench"]) walk(path.join(ROOT, dir));
  writeFileSync(file, JSON.stringify(maps));
}

const require = createRequire(import.meta.url);
/** `ws` requires `bufferutil` when it loads (unless WS_NO_BUFFER_UTIL is set). */
const bufferutilLoaded = (): boolean => Object.keys(require.cache).some((key) => key.includes(`${path.sep}bufferutil${path.sep}`));
const monoUs = (): number => Number(process.hrtime.bigint() / 1000n);

function collect(): void {
  if (gc === undefined) return;
  for (let i = 0; i < 4; i++) gc();
}

/**
 * Announce the port and serve control commands; `connections` reports the live count (for a
 * fan-out server: the subscribers ready to receive a broadcast).
 */
export function serveControl(port: number, connections: () => number, fanout?: FanoutHooks): void {
  console.log(JSON.stringify({ ready: true, port, pid: process.pid }));
  if (process.send === undefined) return; // started by hand: nothing to answer
  process.on("message", (raw: unknown) => {
    const command = raw as ServerCommand;
    if (command.type === "stats" || command.type === "heapsnapshot") {
      if (command.type === "heapsnapshot") {
        collect();
        writeHeapSnapshot(command.file);
      }
      if (command.type === "stats" && command.gc === true) collect();
      const reply: ServerStats = {
        type: "stats",
        id: command.id,
        cpu: process.cpuUsage(),
        mem: process.memoryUsage(),
        connections: connections(),
        at: performance.now(),
        monoUs: monoUs(),
        bufferutil: bufferutilLoaded(),
      };
      process.send?.(reply);
    } else if (command.type === "broadcast") {
      const answer = (ok: boolean, startUs: number, error?: string): void => {
        const reply: BroadcastReply = { type: "broadcast", id: command.id, ok, startUs, returnedUs: monoUs(), ...(error === undefined ? {} : { error }) };
        process.send?.(reply);
      };
      const fail = (startUs: number, error: unknown): void => answer(false, startUs, error instanceof Error ? error.message : String(error));
      if (fanout === undefined) return fail(monoUs(), new Error("not a fan-out server"));
      const startUs = monoUs();
      try {
        const result = fanout.broadcast(command.payload);
        if (result instanceof Promise) result.then(() => answer(true, startUs), (error: unknown) => fail(startUs, error));
        else answer(true, startUs);
      } catch (error) {
        fail(startUs, error);
      }
    } else if (command.type === "exit") {
      const mapsFile = process.env.BENCH_SOURCE_MAPS_OUT;
      if (mapsFile !== undefined && mapsFile !== "") dumpSourceMaps(mapsFile);
      const close = fanout?.close;
      if (close === undefined) process.exit(0);
      const timer = setTimeout(() => process.exit(0), 2000);
      close().finally(() => {
        clearTimeout(timer);
        process.exit(0);
      });
    }
  });
  // The orchestrator went away (crash, kill): do not linger.
  process.on("disconnect", () => process.exit(0));
}
