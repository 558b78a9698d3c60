/**
 * Prometheus metrics: `node --conditions=statewire-source --import tsx examples/metrics.ts`, then point Prometheus at
 * http://127.0.0.1:8000/metrics. `/ws` echoes text; `/private` refuses every handshake (403);
 * `/fail` throws (1011); `/slow` answers after 50 ms (its time shows in the message-handling
 * histogram); `/flood` sends `n` 16 KiB frames on request, so a client that stops reading makes
 * them wait (backpressure): each outcome shows up in the series.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { createApp, silentLogger, websocket, websocketListener } from "statewire";
import { metrics } from "statewire/metrics";
import { isMain, serve } from "./serve.js";

const echo = websocket("/ws", async (socket) => {
  await socket.accept();
  for await (const message of socket) if (typeof message === "string") await socket.sendText(message);
});

const closed = websocket("/private", (socket) => socket.reject(403));

const failing = websocket("/fail", async (socket) => {
  await socket.accept();
  for await (const _message of socket) throw new Error("this handler fails on its first message");
});

const slow = websocketListener("/slow", async (text) => {
  await sleep(50);
  return text;
});

const FRAME = "x".repeat(16 * 1024);
const flood = websocket("/flood", async (socket) => {
  await socket.accept();
  for await (const message of socket) {
    // Bounded: a client asks for at most 4096 frames (64 MiB) at a time.
    const count = Math.min(Math.max(0, Math.trunc(Number(message)) || 0), 4096);
    for (let i = 0; i < count; i++) await socket.sendText(FRAME);
    await socket.sendText("done");
  }
});

/** The metrics plugin is the one option that turns metrics on; without it nothing is observed. */
export const prometheus = metrics({ path: "/metrics", labels: { service: "example" } });

export const app = createApp({
  routes: [echo, closed, failing, slow, flood],
  plugins: [prometheus],
  // Past 64 KiB queued for a client, sends wait for it to read (the default policy, a low mark).
  backpressure: { highWaterMark: 64 * 1024, policy: "wait" },
  logger: silentLogger,
});

if (isMain(import.meta.url)) await serve(app);
