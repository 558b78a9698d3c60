/**
 * The demo behind `npm start`: the echo route, a JSON status route, a page at `/` that talks
 * to the echo over a WebSocket from the browser, and the inspector at `/_statewire` watching
 * every connection (off when `NODE_ENV=production`). `PORT` (default 8000) and `HOST` (default
 * 127.0.0.1) choose where it listens.
 */
import { createApp, get, html } from "statewire";
import { echo } from "./echo.js";
import { isMain, serve } from "./serve.js";

const page = `<!doctype html>
<meta charset="utf-8">
<title>statewire demo</title>
<style>body{font:16px system-ui;max-width:40rem;margin:2rem auto}#log{white-space:pre-wrap;border:1px solid #ccc;padding:.5rem;min-height:8rem}</style>
<h1>statewire echo</h1>
<form id="form"><input id="text" autocomplete="off" placeholder="say something"> <button>send</button></form>
<div id="log"></div>
<script>
const log = (line) => { document.getElementById("log").textContent += line + "\\n"; };
const socket = new WebSocket(location.origin.replace(/^http/, "ws") + "/ws");
socket.onopen = () => log("open");
socket.onmessage = (event) => log("← " + event.data);
socket.onclose = (event) => log("closed " + event.code + " " + event.reason);
document.getElementById("form").onsubmit = (event) => {
  event.preventDefault();
  const input = document.getElementById("text");
  socket.send(input.value); log("→ " + input.value); input.value = "";
};
</script>`;

const INSPECTOR_PATH = "/_statewire";

export const app = createApp({
  routes: [echo, get("/", () => html(page)), get("/status", () => ({ connections: app.connectionCount }))],
  inspector: { path: INSPECTOR_PATH },
});

if (isMain(import.meta.url)) {
  const address = await serve(app);
  console.log(`  echo:   ${address.url.replace(/^http/, "ws")}/ws`);
  console.log(`  page:   ${address.url}/`);
  if (process.env.NODE_ENV !== "production") console.log(`  inspector: ${address.url}${INSPECTOR_PATH}`);
}
