/**
 * The demo behind `npm start`: a page at `/` that tries a few of the tour's patterns from the
 * browser — the echo (`websocket`), a stream (`websocketStream`), a room chat — with a link to
 * the inspector at `/_statewire`, which watches every connection the page opens (off when
 * `NODE_ENV=production`). `GET /status` answers the open connection count. `PORT` (default
 * 8000) and `HOST` (default 127.0.0.1) choose where it listens.
 *
 * `npm start`, or `node --conditions=statewire-source --import tsx examples/demo.ts`.
 */
import { createApp, get, html, type WebSocketRoute } from "statewire";
import { createInspector } from "statewire/inspector";
import { echo } from "./echo.js";
import { room } from "./rooms.js";
import { time } from "./streams.js";
import { isMain, serve } from "./serve.js";

const INSPECTOR_PATH = "/_statewire";

/** One panel per pattern: its title, what it shows, the socket it opens, and whether it has an input. */
interface Panel {
  readonly id: string;
  readonly title: string;
  readonly about: string;
  readonly path: string;
  readonly input: boolean;
}

const panels: readonly Panel[] = [
  { id: "echo", title: "Echo", about: "websocket(): every text comes back as <code>Echo: …</code>", path: "/ws", input: true },
  { id: "stream", title: "Stream", about: "websocketStream(): a timestamp pushed every second while the socket is open", path: "/time?interval=1000", input: false },
  { id: "room", title: "Room chat", about: "each message to every member of <code>/rooms/lobby</code>, the sender too — open a second tab", path: "/rooms/lobby", input: true },
  // The protocol machine (examples/protocol.ts) gets its panel here once it exists: its route in
  // `routes` below and one entry in this list.
];

const panelHtml = (panel: Panel): string => `
<section id="${panel.id}">
  <h2>${panel.title}</h2>
  <p>${panel.about} — <code>${panel.path}</code></p>
  ${panel.input ? `<form><input autocomplete="off" placeholder="say something"> <button>send</button></form>` : ""}
  <button class="toggle">disconnect</button>
  <pre class="log"></pre>
</section>`;

export const page = `<!doctype html>
<meta charset="utf-8">
<title>statewire demo</title>
<style>
body{font:16px system-ui;max-width:46rem;margin:2rem auto;padding:0 1rem}
section{border:1px solid #ccc;border-radius:6px;padding:.25rem 1rem 1rem;margin:1rem 0}
.log{white-space:pre-wrap;background:#f6f6f6;padding:.5rem;height:7rem;overflow:auto;margin:.5rem 0 0}
h1 small{font-weight:normal;font-size:1rem}
</style>
<h1>statewire demo <small>— every connection is a state machine: <a id="inspector" href="${INSPECTOR_PATH}">watch them in the inspector</a></small></h1>
${panels.map(panelHtml).join("")}
<script>
const wsBase = location.origin.replace(/^http/, "ws");
for (const panel of ${JSON.stringify(panels.map(({ id, path }) => ({ id, path })))}) {
  const section = document.getElementById(panel.id);
  const log = (line) => { const pre = section.querySelector(".log"); pre.textContent += line + "\\n"; pre.scrollTop = pre.scrollHeight; };
  const toggle = section.querySelector(".toggle");
  let socket;
  const connect = () => {
    socket = new WebSocket(wsBase + panel.path);
    socket.onopen = () => { log("open"); toggle.textContent = "disconnect"; };
    socket.onmessage = (event) => log("← " + event.data);
    socket.onclose = (event) => { log("closed " + event.code + (event.reason ? " " + event.reason : "")); toggle.textContent = "connect"; };
  };
  toggle.onclick = () => (socket.readyState === WebSocket.OPEN ? socket.close(1000, "bye") : connect());
  const form = section.querySelector("form");
  if (form) form.onsubmit = (event) => {
    event.preventDefault();
    const input = form.querySelector("input");
    if (socket.readyState === WebSocket.OPEN) { socket.send(input.value); log("→ " + input.value); }
    input.value = "";
  };
  connect();
}
</script>`;

const routes: WebSocketRoute[] = [echo, time, room];

export const app = createApp({
  routes: [...routes, get("/", () => html(page)), get("/status", () => ({ connections: app.connectionCount }))],
  plugins: [createInspector({ path: INSPECTOR_PATH })],
});

if (isMain(import.meta.url)) {
  const address = await serve(app);
  console.log(`  page:   ${address.url}/`);
  console.log(`  echo:   ${address.url.replace(/^http/, "ws")}/ws`);
  if (process.env.NODE_ENV !== "production") console.log(`  inspector: ${address.url}${INSPECTOR_PATH}`);
}
