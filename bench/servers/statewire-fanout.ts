/**
 * statewire as a fan-out server: every client of `/ws` is subscribed, and a broadcast sends one
 * message to all of them. BROADCAST picks how:
 * - `channels-memory` (default) / `channels-redis`: the channels plugin (`createChannels` with
 *   the memory backend, or the Redis pub/sub backend at 127.0.0.1:6379); each connection joins
 *   the room "room" with `channels.join(socket, "room")`, and a broadcast is
 *   `channels.broadcast("room", payload)`;
 * - `loop`: a loop over the route's sockets, each sent the same string (`socket.sendText`).
 * Answers the harness's `broadcast` over IPC through `control.ts`. STATEWIRE_ENTRY: as in
 * `statewire-echo.ts`.
 */
import { Redis } from "ioredis";
import type { AnySocket } from "../../src/index.js";
import { serveControl } from "./control.js";
import { loadStatewire, loadStatewireRedis } from "./entry.js";

const { createApp, createChannels, memoryBackend, websocket } = await loadStatewire();
const { redisPubSubBackend } = await loadStatewireRedis();

const REDIS = "redis://127.0.0.1:6379";
const PREFIX = `statewire-bench:${process.pid}:`;
const mode = process.env.BROADCAST ?? "channels-memory";
if (!["channels-memory", "channels-redis", "loop"].includes(mode)) throw new Error(`unknown BROADCAST ${mode}: channels-memory, channels-redis or loop`);

const channels =
  mode === "loop"
    ? undefined
    : createChannels({
        backend:
          mode === "channels-redis" ? redisPubSubBackend({ url: REDIS, keyPrefix: PREFIX }) : memoryBackend(),
        history: 0,
      });
const ready = new Set<AnySocket>();

const route = websocket("/ws", async (socket) => {
  await socket.accept();
  // The socket class depends on the mode: the plugin's join works on any socket.
  if (channels !== undefined) await channels.join(socket, "room");
  ready.add(socket);
  try {
    for await (const _ of socket) {
      // subscribers only listen
    }
  } finally {
    ready.delete(socket);
  }
});

// HEARTBEAT=off: no pings (bench/callgrind-ab.ts, where valgrind's slowness would put a 30 s heartbeat round inside the counted broadcasts).
const app = createApp({ routes: [route], plugins: channels === undefined ? [] : [channels], ...(process.env.HEARTBEAT === "off" ? { heartbeat: false } : {}) });

const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: "127.0.0.1" });
serveControl(address.port, () => ready.size, {
  broadcast:
    channels !== undefined
      ? (payload) => channels.broadcast("room", payload)
      : (payload) => {
          for (const socket of ready) socket.sendText(payload).catch(() => {});
        },
  close: async () => {
    await app.close({ timeoutMs: 500 });
    if (mode !== "channels-redis") return;
    // The publish script's counter: the only key the pub/sub backend writes with history 0.
    const redis = new Redis(REDIS, { lazyConnect: true, maxRetriesPerRequest: 1 });
    redis.on("error", () => {});
    await redis.connect();
    await redis.del(`${PREFIX}seq:room`, `${PREFIX}h:room`);
    redis.disconnect();
  },
});
