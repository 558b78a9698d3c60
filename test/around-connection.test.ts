/** `aroundConnection`: middleware around the handshake and the connection's whole life. */
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { aroundConnection, createApp, group, HandshakeDenied, type Logger, websocket, websocketListener } from "../src/index.js";
import { HandshakeRejected, testClient } from "../src/testing/index.js";

const runs = process.env.STATEWIRE_DEEP === "1" ? 300 : 40;
const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

const events: string[] = [];
const lateErrors: string[] = [];
const exits = new Map<string, number[]>();
let exited: (() => void) | undefined;

const logging = aroundConnection(async (context, next) => {
  const id = context.query.id ?? "?";
  events.push(`enter ${id}`);
  context.state.requestId = id; // per-connection context, read by the handler
  try {
    const outcome = await next();
    events.push(`exit ${id} ${outcome.code}`);
    exits.set(id, [...(exits.get(id) ?? []), outcome.code]);
  } catch (error) {
    events.push(`refused ${id} ${error instanceof HandshakeDenied ? error.status : String(error)}`);
    throw error;
  } finally {
    exited?.();
  }
});

const app = createApp({
  logger: quiet,
  routes: [
    group("/mw", [
      websocketListener("/echo", { handler: (text: string, { socket }) => `${String(socket.state.requestId)}: ${text}` }),
      websocket("/private", async (socket) => {
        await socket.accept();
      }, { guards: [() => { throw new HandshakeDenied(403); }] }),
    ], { guards: [logging] }),
    websocketListener("/forgets-next", { guards: [aroundConnection(() => undefined)], handler: (text: string) => text }),
    websocketListener("/fails-after", {
      guards: [aroundConnection(async (_context, next) => {
        await next();
        throw new Error("after the close");
      }, { onError: (error) => void lateErrors.push((error as Error).message) })],
      handler: (text: string) => text,
    }),
  ],
});
afterAll(() => app.close({ timeoutMs: 1000 }));
const client = testClient(app);
const nextExit = () => new Promise<void>((resolve) => (exited = resolve));

describe("aroundConnection", () => {
  test("code before next() runs at the upgrade, after it once the connection closed, with its outcome; state reaches the handler", async () => {
    events.length = 0;
    const done = nextExit();
    const ws = await client.connect("/mw/echo?id=a");
    ws.sendText("hi");
    expect(await ws.receiveText()).toBe("a: hi");
    expect(events).toEqual(["enter a"]);
    await ws.close(4001);
    await done;
    expect(events).toEqual(["enter a", "exit a 4001"]);
  });

  test("a refusal by an inner guard rejects next(): the middleware sees it and the client gets the status", async () => {
    events.length = 0;
    const error = await client.connect("/mw/private?id=b").catch((e: unknown) => e);
    expect((error as HandshakeRejected).status).toBe(403);
    expect(events).toEqual(["enter b", "refused b 403"]);
  });

  test("middleware that never calls next() refuses, like any guard (403)", async () => {
    await expect(client.connect("/forgets-next")).rejects.toMatchObject({ status: 403 });
  });

  test("an error after next() goes to onError; the connection had run normally", async () => {
    const ws = await client.connect("/fails-after");
    ws.sendText("x");
    expect(await ws.receiveText()).toBe("x");
    await ws.close();
    await expect.poll(() => lateErrors).toEqual(["after the close"]);
  });

  test("property: concurrent connections, each closed with its own code, each seen exactly once with that code", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 3000, max: 4999 }), { minLength: 1, maxLength: 8 }), async (codes) => {
        exits.clear();
        const sockets = await Promise.all(codes.map((code) => client.connect(`/mw/echo?id=c${code}`)));
        await Promise.all(sockets.map((ws, i) => ws.close(codes[i])));
        await expect.poll(() => exits.size).toBe(codes.length);
        for (const code of codes) expect(exits.get(`c${code}`)).toEqual([code]);
      }),
      { numRuns: runs },
    );
  });
});
