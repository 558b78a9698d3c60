/**
 * Chat rooms, across processes through Redis.
 *
 *   PORT=8200 REDIS_URL=redis://127.0.0.1:6379 node --conditions=statewire-source --import tsx examples/chat-rooms.ts
 *   PORT=8201 REDIS_URL=redis://127.0.0.1:6379 node --conditions=statewire-source --import tsx examples/chat-rooms.ts   # a second process
 *
 * - WS `/rooms/:room`: a new member first receives the room's last 20 messages, then live ones;
 *   each text message it sends is delivered to every member of the room on every process that
 *   shares the Redis, the sender included, in publish order.
 * - GET `/rooms/:room/history`: the last 50 message texts, as a JSON array.
 * - GET `/`: a page to chat in a room.
 *
 * Without `REDIS_URL` the rooms live in this process (memory backend). `REDIS_BACKEND=pubsub`
 * uses Redis pub/sub instead of streams; `REDIS_PREFIX` changes the key prefix
 * (default `statewire:chat:`).
 */
import {
  type ChannelBackend,
  createApp,
  createChannels,
  get,
  html,
  memoryBackend,
  websocketListener,
} from "statewire";
import { redisPubSubBackend, redisStreamsBackend } from "statewire/redis";
import { isMain, serve } from "./serve.js";

function backend(): ChannelBackend {
  const url = process.env.REDIS_URL;
  if (url === undefined || url === "") return memoryBackend();
  const options = { url, keyPrefix: process.env.REDIS_PREFIX ?? "statewire:chat:" };
  return process.env.REDIS_BACKEND === "pubsub" ? redisPubSubBackend(options) : redisStreamsBackend(options);
}

const ROOM_NAME = /^[\w-]{1,64}$/;

/**
 * The rooms: a channels plugin and the routes that use it. A plugin belongs to one app, so an app
 * that mounts these routes (the tour does) makes its own with `chatRooms()`.
 */
export function chatRooms() {
  const channels = createChannels({
    backend: backend(),
    history: 50,
    // A member that stops reading loses its oldest unread messages rather than growing server memory.
    backlog: { max: 500, strategy: "drop-oldest" },
  });

  const rooms = websocketListener("/rooms/:room", {
    // The plugin's socket class: `socket.join` is typed in the hooks and the handler.
    socketClass: channels.socketClass,
    onAccept: async ({ socket, params }) => {
      if (!ROOM_NAME.test(params.room)) return socket.close(1008, "Room names are 1-64 letters, digits, _ or -");
      await socket.join(params.room, { history: 20 });
    },
    handler: (text, { params }) => channels.publish(text, params.room),
  });

  const history = get("/rooms/:room/history", async (_request, { params }) => {
    if (!ROOM_NAME.test(params.room)) return new Response("Invalid room name", { status: 400 });
    return Response.json(await channels.history(params.room, 50));
  });

  return { channels, rooms, history };
}

export const { channels, rooms, history } = chatRooms();

export const page = get("/", () => html(PAGE));

export const app = createApp({ plugins: [channels], routes: [rooms, history, page], maxPayload: 16 * 1024 });

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>statewire chat rooms</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; }
  #log { list-style: none; padding: .5rem; margin: 1rem 0; height: 22rem; overflow-y: auto; border: 1px solid #ccc; border-radius: 4px; }
  #log li.note { color: #777; font-style: italic; }
  form { display: flex; gap: .5rem; }
  input[name=text] { flex: 1; }
</style>
</head>
<body>
<h1>Chat rooms</h1>
<form id="join">
  <label>Room <input name="room" value="lobby" pattern="[A-Za-z0-9_-]{1,64}" required></label>
  <label>Name <input name="name" value="guest" maxlength="32" required></label>
  <button>Join</button>
  <span id="status">not connected</span>
</form>
<ul id="log"></ul>
<form id="send">
  <input name="text" autocomplete="off" placeholder="Message" disabled>
  <button disabled>Send</button>
</form>
<script>
  const log = document.getElementById("log");
  const status = document.getElementById("status");
  const joinForm = document.getElementById("join");
  const sendForm = document.getElementById("send");
  let socket;

  function show(text, note) {
    const item = document.createElement("li");
    item.textContent = text;
    if (note) item.className = "note";
    log.append(item);
    log.scrollTop = log.scrollHeight;
  }

  function setConnected(connected) {
    for (const control of sendForm.elements) control.disabled = !connected;
  }

  joinForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (socket) socket.close(1000);
    const room = joinForm.elements.room.value;
    log.replaceChildren();
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(scheme + location.host + "/rooms/" + encodeURIComponent(room));
    socket = ws;
    status.textContent = "connecting to " + room + "…";
    ws.addEventListener("open", () => {
      status.textContent = "in " + room;
      setConnected(true);
    });
    ws.addEventListener("message", (event) => show(String(event.data)));
    ws.addEventListener("close", (event) => {
      if (socket !== ws) return;
      setConnected(false);
      status.textContent = "disconnected";
      show("closed " + event.code + (event.reason ? " (" + event.reason + ")" : ""), true);
    });
  });

  sendForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const input = sendForm.elements.text;
    if (!socket || socket.readyState !== WebSocket.OPEN || input.value === "") return;
    socket.send(joinForm.elements.name.value + ": " + input.value);
    input.value = "";
  });
</script>
</body>
</html>
`;

if (isMain(import.meta.url)) await serve(app, 8200);
