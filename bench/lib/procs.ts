/**
 * Child processes for the benchmarks: servers and load generators as `node --import tsx`
 * children with an IPC channel, pinned to a core with `taskset` when it exists, all killed when
 * the harness exits (normally, on error, on a signal or on its deadline).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { LoadCommand, LoadReply } from "../loadgen.js";
import type { BroadcastReply, ServerStats } from "../servers/control.js";

export const BENCH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const ROOT = path.resolve(BENCH, "..");

const children = new Set<ChildProcess>();
export const hasTaskset = spawnSync("taskset", ["-c", "0", "true"]).status === 0;

export function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  children.clear();
}

let guarded = false;
/** Kill every child on exit, on SIGINT / SIGTERM, and after `deadlineMs` (then exit 2). */
export function guardChildren(name: string, deadlineMs: number): void {
  if (guarded) return;
  guarded = true;
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      killAll();
      process.exit(130);
    });
  }
  const deadline = setTimeout(() => {
    console.error(`${name}: over ${Math.round(deadlineMs / 1000)} s, giving up`);
    killAll();
    process.exit(2);
  }, deadlineMs);
  deadline.unref();
}

export interface SpawnOptions {
  /** Extra node flags (`--expose-gc`, `--cpu-prof` …). */
  readonly nodeArgs?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

/** Pin a running process, all its threads, to `core`. */
export function pin(pid: number | undefined, core: number): void {
  if (!hasTaskset || pid === undefined) return;
  spawnSync("taskset", ["-a", "-p", "-c", String(core), String(pid)], { stdio: "ignore" });
}

/**
 * `node --import tsx script` with an IPC channel. With `core`, pinned to it from the start
 * (`taskset -c`); without, it starts free and `pin()` can move it once it is ready, so several
 * children compile in parallel on both cores.
 */
export function startNode(script: string, core: number | undefined, options: SpawnOptions = {}): ChildProcess {
  const args = [...(options.nodeArgs ?? []), "--import", "tsx", script];
  const [command, argv] =
    hasTaskset && core !== undefined ? ["taskset", ["-c", String(core), process.execPath, ...args]] : [process.execPath, args];
  const child = spawn(command, argv, {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit", "ipc"],
    env: { ...process.env, NODE_OPTIONS: "", ...options.env },
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
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
export function request<R extends { id: number }>(child: ChildProcess, command: { type: string } & Record<string, unknown>, ms = 15_000): Promise<R> {
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

export function loadCommand(child: ChildProcess, command: WithoutId<LoadCommand>, ms?: number): Promise<LoadReply> {
  return request<LoadReply>(child, command as { type: string } & Record<string, unknown>, ms).then((reply) => {
    if (!reply.ok) throw new Error(`load generator: ${reply.error}`);
    return reply;
  });
}

export function serverStats(child: ChildProcess, gc = false): Promise<ServerStats> {
  return request<ServerStats>(child, { type: "stats", gc }, 30_000);
}

export function serverBroadcast(child: ChildProcess, payload: string): Promise<BroadcastReply> {
  return request<BroadcastReply>(child, { type: "broadcast", payload }, 30_000).then((reply) => {
    if (!reply.ok) throw new Error(`broadcast: ${reply.error}`);
    return reply;
  });
}

/** Start a load generator; resolves once it said it is ready. */
export async function startLoadgen(core: number | undefined): Promise<ChildProcess> {
  const child = startNode(path.join(BENCH, "loadgen.ts"), core);
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      child.once("message", () => resolve());
      child.once("exit", (code) => reject(new Error(`load generator exited (${code})`)));
    }),
    20_000,
    "load generator start",
  );
  return child;
}

export interface StartedServer {
  readonly child: ChildProcess;
  readonly port: number;
}

/** Start a server script; resolves with its process and port once it printed `{"ready":true,"port":…}`. */
export async function startServer(name: string, script: string, core: number | undefined, options: SpawnOptions = {}): Promise<StartedServer> {
  const child = startNode(script, core, options);
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
      child.once("exit", (code) => reject(new Error(`${name} server exited (${code}) before listening`)));
    }),
    90_000, // generous: on a loaded machine a tsx start alone can take 30 s
    `${name} server start`,
  );
  return { child, port };
}

/** Ask a server to exit (so a CPU profile gets written), SIGKILL after 5 s. */
export async function stopServer(child: ChildProcess): Promise<void> {
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

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
export const cpuUs = (cpu: { user: number; system: number }): number => cpu.user + cpu.system;

export function median(values: readonly number[]): number {
  const finite = values.filter((value) => Number.isFinite(value));
  if (finite.length === 0) return Number.NaN;
  const sorted = [...finite].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Compile src/ and machines/ with `tsc -p tsconfig.build.json` into bench/.build (the JavaScript
 * the package ships, in a directory of the bench's own) and return its entry, for the servers'
 * STATEWIRE_ENTRY. Running statewire through tsx instead would charge it for tsx's `__name`
 * wrappers (see servers/entry.ts). Type errors elsewhere in the tree do not stop the emit.
 */
export function compileStatewire(): { entry: string; ms: number; warning?: string } {
  const started = performance.now();
  const dir = path.join(BENCH, ".build");
  rmSync(dir, { recursive: true, force: true });
  const tsc = path.join(ROOT, "node_modules", ".bin", "tsc");
  const result = spawnSync(tsc, ["-p", "tsconfig.build.json", "--outDir", dir, "--declaration", "false"], { cwd: ROOT, encoding: "utf8" });
  const entry = path.join(dir, "src", "index.js");
  if (!existsSync(entry)) throw new Error(`tsc did not produce ${path.relative(ROOT, entry)}: ${result.stdout}${result.stderr}`);
  const ms = performance.now() - started;
  return result.status === 0 ? { entry, ms } : { entry, ms, warning: (result.stdout + result.stderr).split("\n")[0] ?? "" };
}
