/**
 * Start `test/support/fault-server.ts` as a child process (`node --expose-gc --import tsx`),
 * talk to it over IPC, and stop it reliably: it runs in its own process group, SIGTERM first,
 * then SIGKILL to the whole group.
 */
import { type ChildProcess, spawn } from "node:child_process";
import type { StatsSnapshot } from "../../src/index.js";
import type { FromServer, ToServer } from "./fault-protocol.js";
import { NODE_TS, ROOT } from "./process.js";

export interface ServerSample {
  readonly stats: StatsSnapshot;
  readonly heapUsed: number;
  readonly arrayBuffers: number;
  readonly rss: number;
  /** Active handles and requests (sockets, timers), when the server reports them. */
  readonly handles?: number | undefined;
}

export interface FaultProcess {
  readonly pid: number;
  /** Settles when the process has exited, with its exit code and signal. */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>;
  readonly port: number;
  readonly child: ChildProcess;
  readonly stderr: () => string;
  /** The app's counters, and the heap (after several `gc()` when `gc` is set). */
  sample(gc?: boolean): Promise<ServerSample>;
  stop(): Promise<void>;
}

const live = new Set<number>();
process.once("exit", () => {
  for (const pid of live) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // the group is empty
  }
}

/** Start `script` (default the fault server; any server speaking `fault-protocol.ts` over IPC). */
export async function startFaultServer(
  readyTimeoutMs = 20_000,
  script = "test/support/fault-server.ts",
  env: Readonly<Record<string, string>> = {},
): Promise<FaultProcess> {
  const child = spawn(process.execPath, ["--expose-gc", ...NODE_TS, script], {
    cwd: ROOT,
    env: { ...process.env, ...env, NODE_OPTIONS: "" },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    detached: true,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error("could not spawn the fault server");
  live.add(pid);
  let err = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  child.stdout?.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  void exited.then(() => {
    killGroup(pid);
    live.delete(pid);
  });

  let nextId = 1;
  const pending = new Map<number, (sample: ServerSample) => void>();
  let port: number | undefined;
  const ready = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fault server not ready within ${readyTimeoutMs} ms.\nstderr:\n${err}`)), readyTimeoutMs);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`fault server exited (code ${child.exitCode}, signal ${child.signalCode}) before it was ready.\nstderr:\n${err}`));
    });
    child.on("message", (message: FromServer) => {
      if (message.type === "ready") {
        clearTimeout(timer);
        port = message.port;
        resolve(message.port);
      } else if (message.type === "stats") {
        const resolveSample = pending.get(message.id);
        pending.delete(message.id);
        resolveSample?.({ stats: message.stats, heapUsed: message.heapUsed, arrayBuffers: message.arrayBuffers, rss: message.rss, handles: message.handles });
      }
    });
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 3000).unref());
        if ((await Promise.race([exited, timeout])) === "timeout") killGroup(pid);
        await exited;
      }
      killGroup(pid);
      live.delete(pid);
    })());

  try {
    await ready;
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    pid,
    exited,
    port: port!,
    child,
    stderr: () => err,
    sample(gc = false) {
      if (!child.connected) return Promise.reject(new Error(`fault server is gone.\nstderr:\n${err}`));
      const id = nextId++;
      return new Promise<ServerSample>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`fault server did not answer a stats request within 10 s.\nstderr:\n${err}`));
        }, 10_000);
        pending.set(id, (sample) => {
          clearTimeout(timer);
          resolve(sample);
        });
        const request: ToServer = { type: "stats", id, gc };
        child.send(request);
      });
    },
    stop,
  };
}
