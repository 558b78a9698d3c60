/**
 * Who is in a room, across processes:
 *
 *   PORT=8300 REDIS_URL=redis://127.0.0.1:6379 node --conditions=statewire-source --import tsx examples/presence.ts
 *   PORT=8301 REDIS_URL=redis://127.0.0.1:6379 node --conditions=statewire-source --import tsx examples/presence.ts   # another process
 *
 * WS `/rooms/:room?name=…`: the member first receives `{"members":[…]}` (everyone in the room on
 * every process), then `{"join":…}` / `{"leave":…}` as others come and go. A member leaves when
 * its connection closes; members of a process that crashed leave within the presence's bound.
 * GET `/rooms/:room/members` lists them. Without REDIS_URL presence lives in this process.
 */
import { createApp, createPresence, get, memoryPresence, websocket } from "statewire";
import { redisPresence } from "statewire/redis";
import { isMain, serve } from "./serve.js";

const url = process.env.REDIS_URL;
export const presence = createPresence({
  store: url === undefined || url === "" ? memoryPresence() : redisPresence({ url, keyPrefix: process.env.REDIS_PREFIX ?? "statewire:presence-example:" }),
  heartbeatMs: Number(process.env.PRESENCE_HEARTBEAT_MS ?? 5000),
});

const ROOM_NAME = /^[\w-]{1,64}$/;

export const room = websocket("/rooms/:room", async (socket) => {
  const { params, query } = socket;
  if (!ROOM_NAME.test(params.room)) return socket.reject(400);
  await socket.accept();
  const name = (query.name ?? "anonymous").slice(0, 64);
  // Events first, then the list: a join between the two is seen twice rather than missed.
  const stop = presence.on((event) => {
    void socket.sendJson({ [event.type]: { id: event.id, process: event.process, meta: event.meta } }).catch(() => {});
  }, params.room);
  try {
    await presence.track(socket, params.room, { name });
    await socket.sendJson({ members: await presence.list(params.room) });
    for await (const _message of socket) {
      // This room only listens.
    }
  } finally {
    stop();
  }
});

export const members = get("/rooms/:room/members", async (_request, { params }) => {
  if (!ROOM_NAME.test(params.room)) return new Response("Invalid room name", { status: 400 });
  return presence.list(params.room);
});

export const app = createApp({ routes: [room, members], plugins: [presence] });

if (isMain(import.meta.url)) await serve(app);
