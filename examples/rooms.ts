/**
 * Chat rooms (Velithon's and Nexios' connection managers, Responder's broadcast): each text
 * message goes to every member of its room, the sender included. A client is a member from the
 * moment its handshake completes until it leaves. `GET /` serves a page (plain JavaScript, no
 * CDN) that chats in `/rooms/lobby`.
 * `PORT=8000 node --conditions=statewire-source --import tsx examples/rooms.ts`, then open http://127.0.0.1:8000/ in two tabs.
 */
import { type AnySocket, createApp, get, html, websocket } from "statewire";
import { isMain, serve } from "./serve.js";

const rooms = new Map<string, Set<AnySocket>>();

/** The members of `name`, with `socket` added (the room is made on first use). */
function join(name: string, socket: AnySocket): Set<AnySocket> {
  const members = rooms.get(name) ?? new Set<AnySocket>();
  rooms.set(name, members.add(socket));
  return members;
}

export const room = websocket("/rooms/:room", async (socket) => {
  const name = socket.params.room;
  await socket.accept();
  const members = join(name, socket); // in the same turn as the handshake: a member before any message can arrive
  try {
    for await (const message of socket) {
      if (typeof message !== "string") continue;
      // Everyone in the room, the sender included; a member that just left is skipped.
      await Promise.all([...members].map((member) => member.sendText(message).catch(() => {})));
    }
  } finally {
    members.delete(socket);
    if (members.size === 0) rooms.delete(name);
  }
});

export const page = `<!doctype html>
<meta charset="utf-8">
<title>statewire lobby</title>
<style>body{font:16px system-ui;max-width:40rem;margin:2rem auto}#log{white-space:pre-wrap;border:1px solid #ccc;padding:.5rem;min-height:8rem}</style>
<h1>lobby <small id="status">connecting</small></h1>
<form id="form"><input id="text" autocomplete="off" placeholder="say something"> <button>send</button></form>
<div id="log"></div>
<script>
const status = document.getElementById("status");
const log = document.getElementById("log");
const show = (line) => { const row = document.createElement("div"); row.className = "message"; row.textContent = line; log.append(row); };
const socket = new WebSocket(location.origin.replace(/^http/, "ws") + "/rooms/lobby");
socket.onopen = () => { status.textContent = "open"; };
socket.onmessage = (event) => show(event.data);
socket.onclose = (event) => { status.textContent = "closed " + event.code + " " + event.reason; };
document.getElementById("form").onsubmit = (event) => {
  event.preventDefault();
  const input = document.getElementById("text");
  if (input.value !== "" && socket.readyState === WebSocket.OPEN) socket.send(input.value);
  input.value = "";
};
</script>`;

export const lobbyPage = get("/", () => html(page));

export const app = createApp({ routes: [room, lobbyPage] });

if (isMain(import.meta.url)) await serve(app);
