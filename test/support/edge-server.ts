/**
 * The server under test for `test/edge.test.ts` and `test/edge-fuzz.test.ts`: a small app with a
 * route of every kind, run as its own process so that a crash is seen as an exit, not as a
 * failed test worker:
 *
 *   node --expose-gc --import tsx test/support/edge-server.ts
 *
 * It speaks `fault-protocol.ts` over IPC (ready, stats with RSS) and exits when its parent goes.
 *
 * Routes:
 * - `/echo`: low-level echo (text → `Echo: …`, binary as is);
 * - `/listener`: the same as a listener;
 * - `/stream?count=C`: C short strings, then close 1000;
 * - `/deps?user=…`: a route with a dependency that reads the query and cookies;
 * - `/guarded?who=…`: a route with a guard that reads the query;
 * - `/chat/:room`: a parametric route that echoes the room name once, accepting any offered subprotocol's first;
 * - `/never-accept`: a handler that never answers (the handshake timeout ends it);
 * - HTTP: `GET /stats` (the app's counters as JSON), `POST /body` (echoes the body), `GET /slow` (answers after 100 ms).
 */
import { createApp, get, post, provide, silentLogger, websocket, websocketListener, websocketStream, type App } from "../../src/index.js";
import { serveOverIpc } from "./ipc-server.js";

const echo = websocket("/echo", async (socket) => {
  await socket.accept();
  for await (const message of socket) {
    if (typeof message === "string") await socket.sendText(`Echo: ${message}`);
    else await socket.sendBytes(message);
  }
});

const listener = websocketListener("/listener", (text) => `Echo: ${text}`);

const stream = websocketStream("/stream", async function* ({ query }) {
  const count = Math.min(Number(query.count ?? 3) || 0, 100);
  for (let i = 0; i < count; i++) yield `item ${i}`;
});

const withDependencies = websocket(
  "/deps",
  async (socket, { user }) => {
    await socket.accept();
    await socket.sendText(`hello ${user}`);
    for await (const message of socket) await socket.sendText(typeof message === "string" ? message : "bytes");
  },
  {
    dependencies: { user: provide(({ query, cookies }) => query.user ?? cookies.user ?? "anonymous") },
  },
);

const guarded = websocket(
  "/guarded",
  async (socket) => {
    await socket.accept();
    await socket.sendText(`guarded ${socket.state.who as string}`);
    for await (const _ of socket) {
      // drain
    }
  },
  {
    guards: [
      ({ query, state }, next) => {
        state.who = query.who ?? "nobody";
        return next();
      },
    ],
  },
);

const room = websocket("/chat/:room", async (socket) => {
  const [first] = socket.subprotocols;
  await socket.accept(first === undefined ? {} : { subprotocol: first });
  await socket.sendText(`room ${socket.params.room}`);
  for await (const _ of socket) {
    // drain
  }
});

const neverAccept = websocket("/never-accept", async (socket) => {
  await socket.closed;
});

let app: App;
const stats = get("/stats", () => app.stats());
const body = post("/body", async (request) => await request.text());
const slow = get("/slow", async () => {
  await new Promise((resolve) => setTimeout(resolve, 100));
  return "slow";
});

app = createApp({
  routes: [echo, listener, stream, withDependencies, guarded, room, neverAccept, stats, body, slow],
  logger: silentLogger,
  maxPayload: 64 * 1024,
  heartbeat: { intervalMs: 500, timeoutMs: 500 },
  handshakeTimeoutMs: 1000,
  closeTimeoutMs: 500,
});
await serveOverIpc("edge-server", app);
