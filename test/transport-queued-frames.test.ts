/**
 * The ws transport's `queuedFrames` (what the outbound budget charges per frame) stays exact
 * when frames the OS takes at once are written without a callback: a frame the OS took only
 * part of still counts, and so does every frame behind it, until they are written. Real TCP on
 * 127.0.0.1, a client that stops reading.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setImmediate as turn } from "node:timers/promises";
import { afterEach, expect, test } from "vitest";
import { WebSocket } from "ws";
import type { TransportConnection } from "../src/transport/transport.js";
import { createWsUpgradeListener } from "../src/transport/ws.js";

const NOOP = (): void => {};
let server: Server | undefined;
let client: WebSocket | undefined;
afterEach(async () => {
  client?.terminate();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
});

async function connected(): Promise<{ connection: TransportConnection; client: WebSocket }> {
  let resolveConnection: (connection: TransportConnection) => void = NOOP;
  const accepted = new Promise<TransportConnection>((resolve) => (resolveConnection = resolve));
  const upgrade = createWsUpgradeListener({ maxPayload: 1 << 20 }, (connection) => {
    connection.listen({ onMessage: NOOP, onPeerClose: NOOP, onProtocolError: NOOP, onClosed: NOOP, onPong: NOOP });
    connection.accept({ subprotocol: undefined, headers: {} });
    resolveConnection(connection);
  });
  server = createServer();
  server.on("upgrade", upgrade);
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  await new Promise((resolve, reject) => client!.once("open", resolve).once("error", reject));
  return { connection: await accepted, client };
}

test("frames the OS has not fully taken count as queued, the partly written one included; none once they are written", async () => {
  const { connection, client } = await connected();
  let received = 0;
  client.on("message", () => received++);
  client.pause();
  const frame = "y".repeat(500); // 504 bytes on the wire (a 4-byte header)
  let sent = 0;
  // Until the kernel's buffers are full and the transport holds bytes of its own.
  while (connection.bufferedAmount === 0 && sent < 200_000) {
    connection.send(frame, false);
    sent++;
  }
  expect(connection.bufferedAmount).toBeGreaterThan(0);
  for (let i = 0; i < 20; i++, sent++) connection.send(frame, false);
  await turn();
  const queued = connection.queuedFrames;
  const bytes = connection.bufferedAmount;
  // q frames held, the first of them partly written: (q - 1) whole frames < bytes <= q whole frames.
  expect(queued).toBeGreaterThanOrEqual(21);
  expect(bytes).toBeLessThanOrEqual(queued * 504);
  expect(bytes).toBeGreaterThan((queued - 1) * 504);

  client.resume();
  const deadline = Date.now() + 10_000;
  while ((received < sent || connection.queuedFrames > 0) && Date.now() < deadline) await turn();
  expect(received).toBe(sent);
  expect(connection.queuedFrames).toBe(0);
  expect(connection.bufferedAmount).toBe(0);
});

test("a frame written to an idle socket is never queued, and a callback still runs once it is written", async () => {
  const { connection } = await connected();
  connection.send("hello", false);
  expect(connection.queuedFrames).toBe(0);
  const written = new Promise<Error | undefined>((resolve) => connection.send("with callback", false, resolve));
  expect(await written).toBeUndefined();
  await turn();
  expect(connection.queuedFrames).toBe(0);
});
