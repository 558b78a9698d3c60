/**
 * Prometheus metrics: `node --conditions=statewire-source --import tsx examples/metrics.ts`, then point Prometheus at
 * http://127.0.0.1:8000/metrics. `/ws` echoes text; `/private` refuses every handshake (403);
 * `/fail` throws (1011), so each outcome shows up in the series.
 */
import { createApp, silentLogger, websocket } from "statewire";
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

/** The metrics plugin is the one option that turns metrics on; without it nothing is observed. */
export const prometheus = metrics({ path: "/metrics", labels: { service: "example" } });

export const app = createApp({ routes: [echo, closed, failing], plugins: [prometheus], logger: silentLogger });

if (isMain(import.meta.url)) await serve(app);
