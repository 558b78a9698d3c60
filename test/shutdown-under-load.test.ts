/**
 * Graceful shutdown under load: a real server process (`test/support/stream-shutdown-server.ts`)
 * streams a message every 10 ms to each of 1,000 clients, each connection holding a dependency
 * with cleanup; SIGTERM must close every client with 1001, run every cleanup (streams finalized,
 * dependencies released), and let the process exit 0 on its own. A second, in-process case
 * checks the same contract deterministically with cleanups that take time.
 */
import type { IncomingMessage } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, test } from "vitest";
import { WebSocket } from "ws";
import { type App, createApp, provide, silentLogger, type StatsSnapshot, websocketStream } from "../src/index.js";
import { type EchoProcess, type Exit, startServer } from "./support/process.js";

const CLIENTS = 1000;
/** Clients opened concurrently; the next batch starts once this one is open and streaming. */
const BATCH = 100;
const EXIT_WITHIN_MS = 15_000;

/** Resolve with `promise`, or reject after `ms` naming `what`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface Client {
  readonly ws: WebSocket;
  /** Messages received so far. */
  readonly received: () => number;
  /** Settles with the close code the client saw. */
  readonly closed: Promise<number>;
}

/**
 * How long opening may go without any client getting its first message before the run counts as
 * stalled. Progress, not a deadline per client: on a contended machine one handshake can wait
 * behind the streams of hundreds of others, and that is slow, not broken.
 */
const STALL_MS = 15_000;
let lastProgress = Date.now();

/** Rejects once no client has made progress (`lastProgress`) for STALL_MS while `what` is pending. */
function unlessStalled<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    const check = (): void => {
      const idle = Date.now() - lastProgress;
      if (idle >= STALL_MS) reject(new Error(`${what}: no client got its first message for ${idle} ms`));
      else timer = setTimeout(check, STALL_MS - idle);
    };
    check();
  });
  return Promise.race([promise, stalled]).finally(() => clearTimeout(timer));
}

/** Open one client and wait for its first streamed message. */
async function openStreaming(url: string, index: number): Promise<Client> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  let received = 0;
  const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
  // Errors after the handshake end in a `close` event, which is what the test looks at.
  ws.on("error", () => {});
  const first = new Promise<void>((resolve, reject) => {
    ws.on("message", () => {
      received++;
      if (received === 1) {
        lastProgress = Date.now();
        resolve();
      }
    });
    ws.once("error", reject);
    ws.once("unexpected-response", (_request, response: IncomingMessage) =>
      reject(new Error(`client ${index}: HTTP ${response.statusCode} instead of an upgrade`)),
    );
    void closed.then((code) => reject(new Error(`client ${index}: closed (${code}) before its first message`)));
  });
  try {
    await unlessStalled(first, `client ${index}: first streamed message`);
  } catch (error) {
    ws.terminate();
    throw error;
  }
  return { ws, received: () => received, closed };
}

/** Count of each close code the clients saw. */
function tally(codes: readonly number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const code of codes) counts[code] = (counts[code] ?? 0) + 1;
  return counts;
}

interface ShutdownReport {
  readonly stats: StatsSnapshot;
  readonly counters: {
    readonly streamsStarted: number;
    readonly streamsFinalized: number;
    readonly dependenciesAcquired: number;
    readonly dependenciesReleased: number;
    readonly yielded: number;
  };
  readonly closeMs: number;
}

function shutdownReport(stdout: string): ShutdownReport {
  const lines = stdout.split("\n").filter((line) => line.startsWith("SHUTDOWN "));
  expect(lines, `exactly one SHUTDOWN line on stdout:\n${stdout}`).toHaveLength(1);
  return JSON.parse(lines[0]!.slice("SHUTDOWN ".length)) as ShutdownReport;
}

describe("graceful shutdown of a streaming server under load", () => {
  let server: EchoProcess | undefined;
  let clients: Client[] = [];

  afterEach(async () => {
    for (const client of clients) client.ws.terminate();
    clients = [];
    // Normally the process has exited already; otherwise SIGTERM, then SIGKILL to its group.
    await server?.stop(2000);
    server = undefined;
  }, 15_000);

  test(`SIGTERM with ${CLIENTS} streaming clients: all get 1001, every cleanup runs, exit 0 by itself`, async () => {
    const testStarted = Date.now();
    server = await startServer({ args: ["test/support/stream-shutdown-server.ts"] });
    lastProgress = Date.now();
    const started = server;
    const url = `${started.wsBase}/stream`;

    // Open in batches so the handshakes do not all land in one burst (reliable on small CI boxes).
    for (let from = 0; from < CLIENTS; from += BATCH) {
      const results = await Promise.allSettled(
        Array.from({ length: Math.min(BATCH, CLIENTS - from) }, (_, i) => openStreaming(url, from + i)),
      );
      for (const result of results) if (result.status === "fulfilled") clients.push(result.value);
      const failure = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
      if (failure !== undefined) throw failure.reason;
    }
    const openedMs = Date.now() - testStarted;
    expect(clients).toHaveLength(CLIENTS);
    expect(clients.every((client) => client.received() >= 1)).toBe(true);
    expect(started.child.exitCode, `server died early; stderr:\n${started.stderr()}`).toBeNull();

    const signalledAt = Date.now();
    expect(started.child.kill("SIGTERM")).toBe(true);

    const exit: Exit = await within(started.exited, EXIT_WITHIN_MS, "process exit after SIGTERM").catch((error: Error) => {
      throw new Error(`${error.message}\nstdout:\n${started.stdout()}\nstderr:\n${started.stderr()}`);
    });
    const exitMs = Date.now() - signalledAt;
    const codes = await within(Promise.all(clients.map((client) => client.closed)), 5000, "client close events");
    const messages = clients.reduce((sum, client) => sum + client.received(), 0);

    const report = shutdownReport(started.stdout());
    console.log(
      `shutdown under load: ${CLIENTS} clients opened in ${openedMs} ms, ${messages} messages received; ` +
        `app.close() took ${report.closeMs} ms, process exited ${exitMs} ms after SIGTERM; ` +
        `stats ${JSON.stringify(report.stats)}; counters ${JSON.stringify(report.counters)}`,
    );

    // Every client was told the server is going away.
    expect(tally(codes)).toEqual({ 1001: CLIENTS });
    // The process ended on its own, cleanly, in time.
    expect(exit, `stderr:\n${started.stderr()}`).toEqual({ code: 0, signal: null });
    expect(started.killed()).toBe(false);
    expect(exitMs).toBeLessThan(EXIT_WITHIN_MS);

    // What app.stats() said once app.close() had resolved. Soft: one run reports every mismatch.
    const { stats, counters } = report;
    expect.soft(stats.started).toBe(CLIENTS);
    expect.soft(stats.accepted).toBe(CLIENTS);
    expect.soft(stats.closed).toBe(CLIENTS);
    expect.soft(stats.open).toBe(0);
    expect.soft(stats.rejected).toBe(0);
    expect.soft(stats.errors).toBe(0);
    expect.soft(stats.handlers).toEqual({ started: CLIENTS, finished: CLIENTS });
    expect.soft(stats.dependencies, "dependencies released by the time app.close() resolved").toEqual({
      acquired: CLIENTS,
      released: CLIENTS,
    });
    // What really ran in the process, by its own count, at the same moment.
    expect.soft(counters.dependenciesAcquired).toBe(CLIENTS);
    expect.soft(counters.dependenciesReleased).toBe(CLIENTS);
    expect.soft(counters.streamsStarted).toBe(CLIENTS);
    expect.soft(counters.streamsFinalized).toBe(CLIENTS);
    expect.soft(started.stderr(), "nothing logged as a warning or an error").toBe("");
  }, 180_000); // a backstop: unlessStalled() is what fails a run that makes no progress
});

/**
 * The same contract, made deterministic: cleanups that take a little time (an `await
 * db.close()`, an async `onDisconnect`). Once `app.close()` resolves, the process may exit
 * (`examples/serve.ts` calls `process.exit(0)` right then), so every handler must have settled
 * and every dependency been released by that moment.
 */
describe("app.close() waits for cleanup", () => {
  let app: App | undefined;
  let clients: WebSocket[] = [];

  afterEach(async () => {
    for (const ws of clients) ws.terminate();
    clients = [];
    await app?.close({ timeoutMs: 1000 });
    app = undefined;
  }, 15_000);

  test("it resolves only after onDisconnect hooks ran, handlers finished and dependencies were released", async () => {
    const N = 50;
    const counts = { finalized: 0, disconnected: 0, released: 0 };
    const resource = provide(async function* () {
      try {
        yield "resource";
      } finally {
        await sleep(50); // e.g. `await db.close()`
        counts.released++;
      }
    });
    const route = websocketStream("/stream", {
      dependencies: { resource },
      stream: async function* ({ signal }) {
        try {
          for (;;) {
            yield "tick";
            await sleep(10, undefined, { signal });
          }
        } finally {
          counts.finalized++;
        }
      },
      onDisconnect: async () => {
        await sleep(20);
        counts.disconnected++;
      },
    });
    const current = createApp({ routes: [route], logger: silentLogger });
    app = current;
    const { port } = await current.listen();
    clients = await Promise.all(
      Array.from({ length: N }, () => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/stream`);
        ws.on("error", () => {});
        return within(new Promise<WebSocket>((resolve) => ws.once("message", () => resolve(ws))), 10_000, "first message");
      }),
    );

    await within(current.close({ timeoutMs: 5000 }), 10_000, "app.close()");
    const stats = current.stats();
    expect.soft(stats.closed).toBe(N);
    expect.soft(counts.finalized).toBe(N);
    expect.soft(counts.disconnected, "onDisconnect hooks done when app.close() resolved").toBe(N);
    expect.soft(stats.handlers, "handlers finished when app.close() resolved").toEqual({ started: N, finished: N });
    expect.soft(counts.released, "dependency cleanups done when app.close() resolved").toBe(N);
    expect.soft(stats.dependencies).toEqual({ acquired: N, released: N });
  }, 30_000);
});
