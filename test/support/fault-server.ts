/**
 * The server under test for `test/faults.test.ts`, run in its own process so its heap can be
 * measured without the test's own allocations:
 *
 *   node --expose-gc --import tsx test/support/fault-server.ts
 *
 * It listens on 127.0.0.1:0, sends `{ type: "ready", port }` over IPC, and answers
 * `{ type: "stats", id, gc }` with the app's counters and, when `gc` is set, the heap used after
 * a few full collections. It exits when its parent goes away (IPC disconnect) or on SIGTERM.
 *
 * Routes:
 * - `/echo`: the low-level echo of examples/echo.ts (text → `Echo: …`, binary as is);
 * - `/listener`: the same as a listener (`websocketListener`), text only;
 * - `/stream?size=N&count=C`: pushes C strings of N bytes (default: forever, 16 KiB), then closes 1000;
 * - `/never-accept`: a handler that never answers the handshake (it waits for the close).
 */
import { createApp, websocket, websocketListener, websocketStream } from "../../src/index.js";
import { FAULT_SERVER_OPTIONS } from "./fault-protocol.js";
import { serveOverIpc } from "./ipc-server.js";

const echo = websocket("/echo", async (socket) => {
  await socket.accept();
  for await (const message of socket) {
    if (typeof message === "string") await socket.sendText(`Echo: ${message}`);
    else await socket.sendBytes(message);
  }
});

const listener = websocketListener("/listener", (text) => `Echo: ${text}`);

const stream = websocketStream("/stream", async function* ({ query, signal }) {
  const size = Number(query.size ?? 16 * 1024);
  const count = query.count === undefined ? Infinity : Number(query.count);
  const chunk = "x".repeat(size);
  for (let i = 0; i < count && !signal.aborted; i++) yield chunk;
});

const neverAccept = websocket("/never-accept", async (socket) => {
  // Never accepts: the handshake timeout must end it. Returns once the connection is gone.
  await socket.closed;
});

await serveOverIpc("fault-server", createApp({ routes: [echo, listener, stream, neverAccept], ...FAULT_SERVER_OPTIONS }));
