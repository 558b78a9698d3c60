/**
 * Start `examples/echo.ts` as a separate OS process, the way a user would
 * (`PORT=… HOST=127.0.0.1 node --conditions=statewire-source --import tsx examples/echo.ts`),
 * and stop it reliably.
 *
 * One Node process, so SIGTERM reaches the app itself (the `tsx` CLI would run it in a
 * grandchild and SIGKILL that if it did not exit within moments of a relayed signal). Spawned in
 * its own process group (`detached`) all the same, so that a forced stop takes down anything the
 * server started (`npm start` runs node under npm and a shell).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** How the repository runs a TypeScript file: one node process, tsx as a loader, statewire from its sources. */
export const NODE_TS: readonly string[] = ["--conditions=statewire-source", "--import", "tsx"];

/** A port that was free a moment ago: listen on port 0, read it, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error(`Unexpected server address ${String(address)}`));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface EchoProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  /** `ws://127.0.0.1:<port>` */
  readonly wsBase: string;
  /** `http://127.0.0.1:<port>` */
  readonly httpBase: string;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Settles when the child has exited. */
  readonly exited: Promise<Exit>;
  /** Whether `stop()` had to fall back to SIGKILL. */
  readonly killed: () => boolean;
  /** SIGTERM, then SIGKILL to the whole process group after `graceMs` if still alive. Idempotent. */
  stop(graceMs?: number): Promise<Exit>;
}

const live = new Set<EchoProcess>();

// Last resort: never leave a server behind if the test worker exits without running afterAll.
process.once("exit", () => {
  for (const echo of live) {
    try {
      process.kill(-echo.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** What to start: a program and its arguments (default: `node …NODE_TS` on a script), and extra environment. */
export interface ServerCommand {
  readonly command?: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

function startOnce(port: number, readyTimeoutMs: number, what: ServerCommand): Promise<EchoProcess> {
  const command = what.command ?? process.execPath;
  const args = what.command === undefined ? [...NODE_TS, ...what.args] : [...what.args];
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...what.env, PORT: String(port), HOST: "127.0.0.1", NODE_OPTIONS: "" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  let err = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const exited = new Promise<Exit>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));

  let killed = false;
  let stopping: Promise<Exit> | undefined;
  const pid = child.pid;
  const echo: EchoProcess = {
    child,
    pid: pid ?? -1,
    port,
    wsBase: `ws://127.0.0.1:${port}`,
    httpBase: `http://127.0.0.1:${port}`,
    stdout: () => out,
    stderr: () => err,
    exited,
    killed: () => killed,
    stop(graceMs = 3000) {
      return (stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          try {
            child.kill("SIGTERM");
          } catch {
            // already gone
          }
          if ((await withTimeout(exited, graceMs)) === "timeout") {
            killed = true;
            try {
              process.kill(-(pid ?? 0), "SIGKILL");
            } catch {
              child.kill("SIGKILL");
            }
          }
        }
        const exit = await exited;
        // Whatever the server started shares the group; make sure nothing of it survives.
        try {
          process.kill(-(pid ?? 0), "SIGKILL");
        } catch {
          // the group is empty: good
        }
        live.delete(echo);
        return exit;
      })());
    },
  };
  if (pid !== undefined) live.add(echo);
  void exited.then(() => {
    // Reap the group even when the child died on its own.
    try {
      process.kill(-(pid ?? 0), "SIGKILL");
    } catch {
      // empty group
    }
    live.delete(echo);
  });

  const expected = `listening on http://127.0.0.1:${port}`;
  return new Promise<EchoProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      void echo.stop(500);
      reject(
        new Error(
          `${what.args.join(" ")} did not print "${expected}" within ${readyTimeoutMs} ms.\n` +
            `stdout:\n${out}\nstderr:\n${err}`,
        ),
      );
    }, readyTimeoutMs);
    const onData = (): void => {
      if (out.split("\n").some((line) => line.trim() === expected)) {
        cleanup();
        resolve(echo);
      }
    };
    const onExit = (exit: Exit): void => {
      cleanup();
      reject(
        Object.assign(
          new Error(
            `${what.args.join(" ")} exited (code ${exit.code}, signal ${exit.signal}) before listening.\n` +
              `stdout:\n${out}\nstderr:\n${err}`,
          ),
          { stderr: err },
        ),
      );
    };
    let settled = false;
    const cleanup = (): void => {
      settled = true;
      clearTimeout(timer);
      child.stdout?.off("data", onData);
    };
    child.stdout?.on("data", onData);
    void exited.then((exit) => {
      if (!settled) onExit(exit);
    });
    void spawnError.then((error) => {
      if (settled) return;
      cleanup();
      reject(new Error(`Could not spawn ${command}: ${error.message}`));
    });
  });
}

/**
 * Start `examples/echo.ts` on a free port and wait for its `listening on …` line. Retries on a
 * fresh port (at most twice) only when the chosen port was taken in between (EADDRINUSE).
 */
export function startEcho(readyTimeoutMs = 15_000): Promise<EchoProcess> {
  return startServer({ args: ["examples/echo.ts"] }, readyTimeoutMs);
}

/** Start any server command on a free port (PORT / HOST in its environment) and wait for its `listening on …` line. */
export async function startServer(what: ServerCommand, readyTimeoutMs = 15_000): Promise<EchoProcess> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await startOnce(port, readyTimeoutMs, what);
    } catch (error) {
      const stderr = (error as { stderr?: unknown }).stderr;
      if (attempt < 3 && typeof stderr === "string" && stderr.includes("EADDRINUSE")) continue;
      throw error;
    }
  }
}
