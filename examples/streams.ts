/**
 * Streams (Litestar's `@websocket_stream`): push for as long as the client stays.
 * `PORT=8000 node --conditions=statewire-source --import tsx examples/streams.ts`
 *
 * Each generator counts itself in `streamStats` (the tour's `/stats` shows them): `started` when
 * it begins, `finalized` in its `finally`, which runs when the stream ends and when the client
 * leaves early (its `signal` aborts the pending wait and the generator is closed).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { createApp, type Guard, websocketStream } from "statewire";
import { isMain, serve } from "./serve.js";

export const streamStats = { started: 0, finalized: 0 };

/** A timestamp at once, then every `interval` ms (default 1000), until the client leaves. */
export const time = websocketStream("/time", async function* ({ query, signal }) {
  streamStats.started++;
  try {
    const interval = Math.max(10, Number(query.interval ?? 1000) || 1000);
    for (;;) {
      yield new Date().toISOString();
      await sleep(interval, undefined, { signal });
    }
  } finally {
    streamStats.finalized++;
  }
});

/** A finite stream: 100 progress updates `delay` ms apart (default 100), then close 1000. */
export const progress = websocketStream("/progress", async function* ({ query, signal }) {
  streamStats.started++;
  try {
    const delay = Math.max(0, Number(query.delay ?? 100) || 0);
    for (let i = 0; i < 100; i++) {
      yield { status: "processing", progress: i / 100, timestamp: new Date().toISOString() };
      if (delay > 0 && i < 99) await sleep(delay, undefined, { signal });
    }
  } finally {
    streamStats.finalized++;
  }
});

/** The socket in a stream (Litestar's `socket` argument): `{"user": U, "n": k}` for k = 1, 2, 3, … every 100 ms. */
export const notifications = websocketStream("/notifications", async function* ({ socket, signal }) {
  streamStats.started++;
  try {
    const user = socket.query.user ?? "anonymous";
    for (let n = 1; ; n++) {
      yield { user, n };
      await sleep(100, undefined, { signal });
    }
  } finally {
    streamStats.finalized++;
  }
});

/**
 * Each countdown starts from `?from=K` (default 5), kept in the connection's `socket.state` for
 * the stream and `onMessage`. A guard that declares what it adds types `socket.state`: no cast.
 */
const startCount: Guard<{ remaining: number }> = (context, next) => {
  context.state.remaining = Number(context.query.from ?? 5) || 5;
  return next();
};

/**
 * A stream that listens too (Litestar's `send_websocket_stream` beside a listener): a countdown
 * pushed every `interval` ms, which the client can `reset` or `stop` with messages.
 */
export const countdown = websocketStream("/countdown", {
  guards: [startCount],
  closeOnEnd: { code: 1000, reason: "liftoff" },
  stream: async function* ({ query, signal, socket }) {
    const interval = Math.max(10, Number(query.interval ?? 200) || 200);
    const state = socket.state;
    while (state.remaining > 0) {
      yield { remaining: state.remaining };
      state.remaining--;
      await sleep(interval, undefined, { signal });
    }
  },
  onMessage: (text, { socket }) => {
    if (text === "reset") socket.state.remaining = 5;
    if (text === "stop") socket.state.remaining = 0;
    return { ack: text };
  },
});

export const app = createApp({ routes: [time, progress, notifications, countdown] });

if (isMain(import.meta.url)) await serve(app);
