/**
 * Graceful shutdown with 100 live connections: of a real `examples/echo.ts` process on SIGTERM,
 * and of an in-process app on `app.close()`.
 */
import type { IncomingMessage } from "node:http";
import { afterEach, describe, expect, test } from "vitest";
import { WebSocket } from "ws";
import { echo } from "../examples/echo.js";
import { type App, createApp } from "../src/index.js";
import { type EchoProcess, type Exit, startEcho } from "./support/process.js";

const CLIENTS = 100;

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
  /** Settles with the close code the client saw. */
  readonly closed: Promise<number>;
}

/** Open one `ws` client and prove it works with one echo round trip. */
async function openAndEcho(url: string, index: number): Promise<Client> {
  const ws = new WebSocket(url);
  const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
  const errors: Error[] = [];
  ws.on("error", (error) => errors.push(error));
  try {
    await within(
      new Promise<void>((resolve, reject) => {
        ws.once("open", () => resolve());
        ws.once("error", reject);
        ws.once("unexpected-response", (_request, response: IncomingMessage) =>
          reject(new Error(`client ${index}: HTTP ${response.statusCode} instead of an upgrade`)),
        );
      }),
      10_000,
      `client ${index} opening`,
    );
    const reply = within(
      new Promise<string>((resolve) => ws.once("message", (data) => resolve((data as Buffer).toString("utf8")))),
      10_000,
      `client ${index} echo`,
    );
    ws.send(`client ${index}`);
    expect(await reply).toBe(`Echo: client ${index}`);
  } catch (error) {
    ws.terminate();
    throw error;
  }
  return { ws, closed };
}

/** Open `count` clients concurrently; on any failure, terminate those that did open. */
async function openClients(url: string, count: number): Promise<Client[]> {
  const results = await Promise.allSettled(Array.from({ length: count }, (_, i) => openAndEcho(url, i)));
  const clients = results.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  const failure = results.find((result) => result.status === "rejected");
  if (failure !== undefined) {
    for (const client of clients) client.ws.terminate();
    throw (failure as PromiseRejectedResult).reason;
  }
  return clients;
}

/** Count of each close code the clients saw. */
function tally(codes: readonly number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const code of codes) counts[code] = (counts[code] ?? 0) + 1;
  return counts;
}

describe("graceful shutdown of a real examples/echo.ts process", () => {
  let server: EchoProcess | undefined;
  let clients: Client[] = [];

  afterEach(async () => {
    for (const client of clients) client.ws.terminate();
    clients = [];
    await server?.stop(3000);
    server = undefined;
  }, 15_000);

  test(`SIGTERM closes all ${CLIENTS} connections with 1001 and the process exits 0 by itself`, async () => {
    server = await startEcho();
    const started = server;
    clients = await openClients(`${started.wsBase}/ws`, CLIENTS);
    expect(clients).toHaveLength(CLIENTS);
    expect(started.child.exitCode, `echo died early; stderr:\n${started.stderr()}`).toBeNull();

    const signalledAt = Date.now();
    expect(started.child.kill("SIGTERM")).toBe(true);

    const exit: Exit = await within(started.exited, 10_000, `process exit after SIGTERM (stderr:\n${started.stderr()})`);
    const elapsed = Date.now() - signalledAt;
    const codes = await within(
      Promise.all(clients.map((client) => client.closed)),
      5000,
      "client close events",
    );

    expect(tally(codes)).toEqual({ 1001: CLIENTS });
    expect(exit, `stderr:\n${started.stderr()}`).toEqual({ code: 0, signal: null });
    expect(started.killed()).toBe(false);
    expect(elapsed).toBeLessThan(10_000);
  }, 45_000);
});

describe("graceful shutdown of an in-process app", () => {
  let app: App | undefined;
  let clients: Client[] = [];

  afterEach(async () => {
    for (const client of clients) client.ws.terminate();
    clients = [];
    await app?.close({ timeoutMs: 1000 });
    app = undefined;
  }, 15_000);

  test(`app.close() closes all ${CLIENTS} connections with 1001 and refuses new ones`, async () => {
    const current = createApp({ routes: [echo] });
    app = current;
    const address = await current.listen();
    expect(address.host).toBe("127.0.0.1");
    const url = `ws://127.0.0.1:${address.port}/ws`;
    clients = await openClients(url, CLIENTS);
    expect(current.connectionCount).toBe(CLIENTS);

    await within(current.close(), 10_000, "app.close()");
    expect(current.connectionCount).toBe(0);

    const codes = await within(
      Promise.all(clients.map((client) => client.closed)),
      5000,
      "client close events",
    );
    expect(tally(codes)).toEqual({ 1001: CLIENTS });

    // After close: either nothing listens any more (connection refused) or the app answers 503.
    const late = new WebSocket(url);
    const outcome = await within(
      new Promise<string>((resolve) => {
        late.once("open", () => resolve("open"));
        late.once("unexpected-response", (request, response: IncomingMessage) => {
          resolve(`HTTP ${response.statusCode}`);
          request.destroy();
        });
        late.on("error", (error: Error & { code?: string }) => resolve(error.code ?? error.message));
      }),
      5000,
      "connection attempt after close",
    );
    late.terminate();
    expect(["ECONNREFUSED", "HTTP 503"]).toContain(outcome);
  }, 45_000);
});
