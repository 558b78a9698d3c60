/**
 * Run as `node --expose-gc --import tsx test/support/inspector-retention.ts`: an app with the
 * inspector showing payloads echoes `CONNECTIONS` × `MESSAGES` text messages of `SIZE` bytes,
 * every connection closes, and it prints as JSON how much more heap is in use (after a full GC)
 * than before the traffic. The inspector keeps a 200-character preview of each message, so what
 * it retains should be a few megabytes at most — not the messages.
 */
import { createApp, websocket } from "../../src/index.js";
import { testClient } from "../../src/testing/index.js";
import { createInspector } from "../../src/inspector/index.js";

const CONNECTIONS = Number(process.env.CONNECTIONS ?? 10);
const MESSAGES = Number(process.env.MESSAGES ?? 100);
const SIZE = Number(process.env.SIZE ?? 100_000);

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with node --expose-gc");

function heapUsed(): number {
  for (let i = 0; i < 3; i++) gc!();
  return process.memoryUsage().heapUsed;
}

const echo = websocket("/echo", async (socket) => {
  await socket.accept();
  for await (const message of socket) if (typeof message === "string") await socket.sendText(message);
});
const quiet = { error() {}, warn() {}, info() {}, debug() {} };
const app = createApp({ routes: [echo], heartbeat: false, logger: quiet, plugins: [createInspector({ payloads: true, enabled: true })] });
const client = testClient(app);

// Warm up the code paths once, so that what stays is the traffic's, not compiled code.
const warm = await client.connect("/echo");
warm.sendText("warm");
await warm.receiveText();
await warm.close();

const before = heapUsed();
for (let c = 0; c < CONNECTIONS; c++) {
  const socket = await client.connect("/echo");
  for (let m = 0; m < MESSAGES; m++) {
    // A fresh string each time, as a client's message would be.
    socket.sendText(Buffer.alloc(SIZE, 97 + ((c * MESSAGES + m) % 26)).toString("latin1"));
    await socket.receiveText();
  }
  await socket.close();
}
await new Promise((resolve) => setTimeout(resolve, 50));
const after = heapUsed();
await client.close();
await app.close();
console.log(JSON.stringify({ retainedBytes: after - before, trafficBytes: CONNECTIONS * MESSAGES * SIZE }));
