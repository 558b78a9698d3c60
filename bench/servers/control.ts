import { readdirSync, writeFileSync } from "node:fs";
import { findSourceMap } from "node:module";
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
}

export type ServerCommand =
  | { readonly type: "stats"; readonly id: number; readonly gc?: boolean }
  | { readonly type: "exit"; readonly id: number };

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
      else if (entry.name.endsWith(".ts")) {
        const url = pathToFileURL(full).href;
        const map = findSourceMap(url);
        if (map !== undefined) maps[url] = map.payload;
      }
    }
  };
  for (const dir of ["src", "machines", "bench"]) walk(path.join(ROOT, dir));
  writeFileSync(file, JSON.stringify(maps));
}

function collect(): void {
  if (gc === undefined) return;
  for (let i = 0; i < 4; i++) gc();
}

/** Announce the port and serve control commands; `connections` reports the live count. */
export function serveControl(port: number, connections: () => number): void {
  console.log(JSON.stringify({ ready: true, port, pid: process.pid }));
  if (process.send === undefined) return; // started by hand: nothing to answer
  process.on("message", (raw: unknown) => {
    const command = raw as ServerCommand;
    if (command.type === "stats") {
      if (command.gc === true) collect();
      const reply: ServerStats = {
        type: "stats",
        id: command.id,
        cpu: process.cpuUsage(),
        mem: process.memoryUsage(),
        connections: connections(),
        at: performance.now(),
        monoUs: Number(process.hrtime.bigint() / 1000n),
      };
      process.send?.(reply);
    } else if (command.type === "exit") {
      const mapsFile = process.env.BENCH_SOURCE_MAPS_OUT;
      if (mapsFile !== undefined && mapsFile !== "") dumpSourceMaps(mapsFile);
      process.exit(0);
    }
  });
  // The orchestrator went away (crash, kill): do not linger.
  process.on("disconnect", () => process.exit(0));
}
