/**
 * A server process for `test/shutdown-under-load.test.ts`:
 * `PORT=… HOST=127.0.0.1 tsx test/support/stream-shutdown-server.ts`.
 *
 * One stream route, `/stream`, pushing a small message every 10 ms to each client, with a
 * per-connection dependency whose cleanup runs after the connection closed. The script keeps
 * its own counters next to the app's (streams started / finalized, dependencies acquired /
 * released), so the test can check the app's stats against what really ran.
 *
 * On SIGTERM: `await app.close({ timeoutMs: 5000 })`, then one line on stdout,
 * `SHUTDOWN {"stats": app.stats(), "counters": {...}, "closeMs": …}`, and nothing else: the
 * process must then exit by itself (no `process.exit`), so a timer, socket or handler left
 * behind by the shutdown shows up as a process that does not end.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { createApp, provide, websocketStream } from "../../src/index.js";

const counters = {
  streamsStarted: 0,
  streamsFinalized: 0,
  dependenciesAcquired: 0,
  dependenciesReleased: 0,
  /** Values yielded, over all streams. */
  yielded: 0,
};

/** A stand-in for a pooled resource: acquired before the handler runs, released after close. */
const resource = provide(async function* () {
  counters.dependenciesAcquired++;
  try {
    yield { id: counters.dependenciesAcquired };
  } finally {
    counters.dependenciesReleased++;
  }
});

const stream = websocketStream("/stream", {
  dependencies: { resource },
  stream: async function* ({ signal, resource }) {
    counters.streamsStarted++;
    try {
      for (let n = 0; ; n++) {
        counters.yielded++;
        yield `${resource.id}:${n}`;
        await sleep(10, undefined, { signal });
      }
    } finally {
      counters.streamsFinalized++;
    }
  },
});

// The default logger: warnings and errors as JSON lines on stderr, which the test shows on failure.
const app = createApp({ routes: [stream] });
const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? "127.0.0.1" });
console.log(`listening on ${address.url}`);

process.once("SIGTERM", () => {
  const started = Date.now();
  void app.close({ timeoutMs: 5000 }).then(
    () => {
      const closeMs = Date.now() - started;
      console.log(`SHUTDOWN ${JSON.stringify({ stats: app.stats(), counters, closeMs })}`);
      process.exitCode = 0;
    },
    (error: unknown) => {
      console.error("app.close() rejected", error);
      process.exitCode = 2;
    },
  );
});
