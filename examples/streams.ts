/**
 * Streams (Litestar's `@websocket_stream`): push for as long as the client stays.
 * `PORT=8000 npx tsx examples/streams.ts`
 */
import { setTimeout as sleep } from "node:timers/promises";
import { createApp, websocketStream } from "../src/index.js";
import { isMain, serve } from "./serve.js";

/** A timestamp at once, then every `interval` ms (default 1000), until the client leaves. */
export const time = websocketStream("/time", async function* ({ query, signal }) {
  const interval = Math.max(10, Number(query.interval ?? 1000) || 1000);
  for (;;) {
    yield new Date().toISOString();
    await sleep(interval, undefined, { signal });
  }
});

/** A finite stream: 100 progress updates, then close 1000. */
export const progress = websocketStream("/progress", async function* ({ query, signal }) {
  const delay = Math.max(0, Number(query.delay ?? 100) || 0);
  for (let i = 0; i < 100; i++) {
    yield { status: "processing", progress: i / 100, timestamp: new Date().toISOString() };
    if (delay > 0) await sleep(delay, undefined, { signal });
  }
});

export const app = createApp({ routes: [time, progress] });

if (isMain(import.meta.url)) await serve(app);
