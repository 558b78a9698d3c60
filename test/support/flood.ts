/**
 * Start `test/support/flood-client.ts` as a separate process and follow what it reports.
 *
 * One node process (`node --import tsx`), spawned in its own process group (`detached`) like the
 * servers in `process.ts`, so that `kill()` takes down all of it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { NODE_TS, ROOT } from "./process.js";

export interface FloodStatus {
  readonly sent: number;
  readonly bufferedAmount: number;
  /** `Date.now()` in this process when the line arrived. */
  readonly at: number;
}

export interface FloodClient {
  readonly child: ChildProcess;
  /** Every status line so far, oldest first. */
  readonly statuses: FloodStatus[];
  readonly latest: () => FloodStatus | undefined;
  /** Resolves once connected. */
  readonly opened: Promise<void>;
  /** Resolves with the close code the client saw. */
  readonly closed: Promise<number>;
  /** Resolves with the exit code (or signal) of the child. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
  /** Start the flood. */
  go(): void;
  /** Resolves with the first status (from now on) that satisfies `predicate`; rejects after `ms`. */
  waitFor(predicate: (status: FloodStatus) => boolean, ms: number, what: string): Promise<FloodStatus>;
  readonly stderr: () => string;
  /** SIGKILL the whole process group. Idempotent. */
  kill(): void;
}

const live = new Set<FloodClient>();
process.once("exit", () => {
  for (const client of live) client.kill();
});

export function startFloodClient(url: string, count: number, size: number): FloodClient {
  const child = spawn(process.execPath, [...NODE_TS, "test/support/flood-client.ts"], {
    cwd: ROOT,
    env: { ...process.env, FLOOD_URL: url, FLOOD_COUNT: String(count), FLOOD_SIZE: String(size), NODE_OPTIONS: "" },
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  const statuses: FloodStatus[] = [];
  const watchers = new Set<(status: FloodStatus) => void>();
  let err = "";
  let buffered = "";
  let resolveOpened!: () => void;
  let resolveClosed!: (code: number) => void;
  const opened = new Promise<void>((resolve) => (resolveOpened = resolve));
  const closed = new Promise<number>((resolve) => (resolveClosed = resolve));
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      const event = JSON.parse(line) as { type: string; sent?: number; bufferedAmount?: number; code?: number; message?: string };
      if (event.type === "open") resolveOpened();
      else if (event.type === "closed") resolveClosed(event.code ?? -1);
      else if (event.type === "error") err += `client error: ${event.message}\n`;
      else if (event.type === "status") {
        const status = { sent: event.sent ?? 0, bufferedAmount: event.bufferedAmount ?? 0, at: Date.now() };
        statuses.push(status);
        for (const watcher of [...watchers]) watcher(status);
      }
    }
  });
  let killed = false;
  const client: FloodClient = {
    child,
    statuses,
    latest: () => statuses.at(-1),
    opened,
    closed,
    exited,
    go: () => void child.stdin?.write("go\n"),
    waitFor(predicate, ms, what) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          watchers.delete(watcher);
          reject(new Error(`${what}: not within ${ms} ms (last status ${JSON.stringify(statuses.at(-1))}; stderr:\n${err})`));
        }, ms);
        const watcher = (status: FloodStatus): void => {
          if (!predicate(status)) return;
          clearTimeout(timer);
          watchers.delete(watcher);
          resolve(status);
        };
        watchers.add(watcher);
      });
    },
    stderr: () => err,
    kill() {
      if (killed) return;
      killed = true;
      live.delete(client);
      try {
        process.kill(-(child.pid ?? 0), "SIGKILL");
      } catch {
        // already gone
      }
    },
  };
  if (child.pid !== undefined) live.add(client);
  void exited.then(() => client.kill());
  return client;
}
