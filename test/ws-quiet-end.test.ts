/**
 * `transport/ws-quiet-end.ts`: ws's socket `'end'` / `'close'` listeners, minus the errors they
 * build and throw away. First that ws does build them (when a later ws stops, this module can
 * go), then that the copies build none, then, as a property over close scenarios, that a ws
 * server behaves the same with the copies as with ws's own listeners: the messages it reads,
 * its close event, the client's close event, and that both sockets end up closed. Real TCP on
 * 127.0.0.1.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex, Writable } from "node:stream";
import fc from "fast-check";
import { afterAll, beforeAll, expect, test } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { quietEnds } from "../src/transport/ws-quiet-end.js";

interface Observed {
  readonly serverMessages: string[];
  serverClose: { code: number; reason: string } | undefined;
  clientClose: { code: number; reason: string } | undefined;
  /** `end()` calls on a stream already finished or destroyed: each builds an error. */
  wastedEnds: number;
  quieted: boolean | undefined;
  socketDestroyed: boolean;
}

let quiet = false;
let onServerSocket: ((ws: WebSocket, observed: Observed) => void) | undefined;
let current: Observed | undefined;
let server: Server;
let port = 0;

function countWastedEnds(stream: Writable, observed: Observed): void {
  const end = stream.end;
  // An own property on this one instance (test only): each call is checked, then passed on.
  stream.end = function (this: Writable, ...args: unknown[]) {
    const state = (this as unknown as { _writableState: { finished: boolean; destroyed: boolean } })._writableState;
    if (state.finished || state.destroyed) observed.wastedEnds++;
    return (end as (...a: unknown[]) => Writable).apply(this, args);
  } as Writable["end"];
}

beforeAll(async () => {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  server = createServer();
  server.on("upgrade", (request, socket, head) => {
    wss.handleUpgrade(request, socket, head, (ws) => {
      const observed = current!;
      const internals = ws as unknown as { _socket: Duplex; _receiver: Writable };
      countWastedEnds(internals._socket, observed);
      countWastedEnds(internals._receiver, observed);
      observed.quieted = quiet ? quietEnds(internals._socket, ws) : undefined;
      ws.on("message", (data) => observed.serverMessages.push(String(data)));
      ws.on("close", (code, reason) => {
        observed.serverClose = { code, reason: String(reason) };
        observed.socketDestroyed = internals._socket.destroyed;
      });
      ws.on("error", () => {});
      onServerSocket?.(ws, observed);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

type Ending =
  | { readonly kind: "clientClose"; readonly code: number; readonly reason: string }
  | { readonly kind: "serverClose"; readonly code: number; readonly reason: string }
  | { readonly kind: "clientTerminate" }
  | { readonly kind: "serverTerminate" }
  | { readonly kind: "clientReset" }
  /** The server stops reading, the client sends `pausedMessages` more and resets the connection. */
  | { readonly kind: "resetWhilePaused"; readonly pausedMessages: number };

interface Scenario {
  readonly messages: readonly string[];
  readonly ending: Ending;
}

const waitFor = async (condition: () => boolean, what: string): Promise<void> => {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
};

async function run(scenario: Scenario, withQuietEnds: boolean): Promise<Observed> {
  quiet = withQuietEnds;
  const observed: Observed = { serverMessages: [], serverClose: undefined, clientClose: undefined, wastedEnds: 0, quieted: undefined, socketDestroyed: false };
  current = observed;
  let serverWs: WebSocket | undefined;
  onServerSocket = (ws) => (serverWs = ws);
  const client = new WebSocket(`ws://127.0.0.1:${port}/`);
  client.on("error", () => {});
  client.on("close", (code, reason) => (observed.clientClose = { code, reason: String(reason) }));
  await new Promise((resolve, reject) => client.once("open", resolve).once("error", reject));
  await waitFor(() => serverWs !== undefined, "the server socket");
  for (const message of scenario.messages) client.send(message);
  await waitFor(() => observed.serverMessages.length === scenario.messages.length, "the messages");
  const ending = scenario.ending;
  const clientSocket = (client as unknown as { _socket: Duplex & { resetAndDestroy(): void } })._socket;
  switch (ending.kind) {
    case "clientClose":
      client.close(ending.code, ending.reason);
      break;
    case "serverClose":
      serverWs!.close(ending.code, ending.reason);
      break;
    case "clientTerminate":
      client.terminate();
      break;
    case "serverTerminate":
      serverWs!.terminate();
      break;
    case "clientReset":
      clientSocket.resetAndDestroy();
      break;
    case "resetWhilePaused": {
      serverWs!.pause();
      for (let i = 0; i < ending.pausedMessages; i++) client.send(`paused ${i}`);
      // Let the frames reach the server's socket buffer before the reset.
      await new Promise((resolve) => setTimeout(resolve, 10));
      clientSocket.resetAndDestroy();
      break;
    }
  }
  await waitFor(() => observed.serverClose !== undefined && observed.clientClose !== undefined, "both sides closed");
  return observed;
}

test("ws calls end() on finished streams when a client closes; the quiet listeners never do", async () => {
  const scenario: Scenario = { messages: ["a"], ending: { kind: "clientClose", code: 1000, reason: "bye" } };
  const plain = await run(scenario, false);
  expect(plain.wastedEnds).toBeGreaterThanOrEqual(2);
  const quieted = await run(scenario, true);
  expect(quieted.quieted).toBe(true);
  expect(quieted.wastedEnds).toBe(0);
  expect(quieted.serverClose).toEqual(plain.serverClose);
});

test("where ws's listeners are not found as expected, nothing is replaced and ws's own stay", async () => {
  const { Duplex, PassThrough } = await import("node:stream");
  // A socket ws never marked: no WebSocket behind it.
  const bare = new PassThrough();
  const onEnd = function socketOnEnd(): void {};
  bare.on("end", onEnd);
  expect(quietEnds(bare, {})).toBe(false);
  expect(bare.listeners("end")).toEqual([onEnd]);

  // A real upgraded socket whose 'end' listener is there twice (or renamed, in a later ws): untouched.
  let upgraded: { socket: InstanceType<typeof Duplex>; ws: WebSocket } | undefined;
  onServerSocket = (ws) => {
    upgraded = { socket: (ws as unknown as { _socket: InstanceType<typeof Duplex> })._socket, ws };
  };
  current = { serverMessages: [], serverClose: undefined, clientClose: undefined, wastedEnds: 0, quieted: undefined, socketDestroyed: false };
  quiet = false;
  const client = new WebSocket(`ws://127.0.0.1:${port}/`);
  await new Promise((resolve, reject) => client.once("open", resolve).once("error", reject));
  await waitFor(() => upgraded !== undefined, "the server socket");
  const { socket, ws } = upgraded!;
  const wsOnEnd = socket.listeners("end").find((listener) => listener.name === "socketOnEnd") as () => void;
  socket.on("end", wsOnEnd);
  const before = { end: socket.listeners("end"), close: socket.listeners("close") };
  expect(quietEnds(socket, ws)).toBe(false);
  expect(socket.listeners("end")).toEqual(before.end);
  expect(socket.listeners("close")).toEqual(before.close);
  socket.removeListener("end", wsOnEnd);
  // Exactly one again: now it is replaced.
  expect(quietEnds(socket, ws)).toBe(true);
  expect(socket.listeners("end").some((listener) => listener.name === "socketOnEnd")).toBe(false);
  expect(socket.listeners("close").some((listener) => listener.name === "socketOnClose")).toBe(false);
  client.close();
  await waitFor(() => current!.serverClose !== undefined, "the close");
  onServerSocket = undefined;
});

const closeCode = fc.constantFrom(1000, 1001, 1003, 1008, 1011, 4000, 4999);
const reason = fc.string({ maxLength: 20 });
const scenarios: fc.Arbitrary<Scenario> = fc.record({
  messages: fc.array(fc.string({ maxLength: 40 }), { maxLength: 5 }),
  ending: fc.oneof(
    fc.record({ kind: fc.constant("clientClose" as const), code: closeCode, reason }),
    fc.record({ kind: fc.constant("serverClose" as const), code: closeCode, reason }),
    fc.constant({ kind: "clientTerminate" as const }),
    fc.constant({ kind: "serverTerminate" as const }),
    fc.constant({ kind: "clientReset" as const }),
    fc.record({ kind: fc.constant("resetWhilePaused" as const), pausedMessages: fc.integer({ min: 0, max: 4 }) }),
  ),
});

test("property: with the quiet listeners a ws server reads and closes exactly as with ws's own", async () => {
  await fc.assert(
    fc.asyncProperty(scenarios, async (scenario) => {
      const plain = await run(scenario, false);
      const quieted = await run(scenario, true);
      expect(quieted.quieted).toBe(true);
      expect(quieted.serverMessages).toEqual(plain.serverMessages);
      expect(quieted.serverClose).toEqual(plain.serverClose);
      expect(quieted.clientClose).toEqual(plain.clientClose);
      expect(quieted.socketDestroyed).toBe(plain.socketDestroyed);
      expect(quieted.wastedEnds).toBe(0);
    }),
    { numRuns: 150 },
  );
}, 60_000);
