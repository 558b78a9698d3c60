/**
 * The IPC side of a test server process (`fault-protocol.ts`): answers `stats` requests (after
 * full collections when asked), closes the app on SIGTERM / SIGINT, never outlives the test
 * runner, and reports `ready` with its port. Every server under test/support shares it.
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import type { App } from "../../src/index.js";
import type { FromServer, ToServer } from "./fault-protocol.js";

/** Listen on a free loopback port and serve the fault protocol over IPC; needs `--expose-gc` and an IPC channel. */
export async function serveOverIpc(name: string, app: App): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error(`${name} needs node --expose-gc`);
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error(`${name} must be started with an IPC channel`);
  const address = await app.listen({ port: 0, host: "127.0.0.1" });

  process.on("message", (message: ToServer) => {
    if (message.type !== "stats") return;
    void (async () => {
      if (message.gc) {
        // Several full collections with turns of the event loop between them, so that
        // finalizers and weak references queued by one collection are freed by the next.
        for (let i = 0; i < 4; i++) {
          gc();
          await nextTurn();
        }
      }
      const memory = process.memoryUsage();
      const reply: FromServer = {
        type: "stats",
        id: message.id,
        stats: app.stats(),
        heapUsed: memory.heapUsed,
        arrayBuffers: memory.arrayBuffers,
        rss: memory.rss,
        handles: process.getActiveResourcesInfo().length,
      };
      send(reply);
    })();
  });

  const stop = (): void => void app.close({ timeoutMs: 1000 }).finally(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  // The test runner went away: never outlive it.
  process.once("disconnect", () => process.exit(0));

  const ready: FromServer = { type: "ready", port: address.port };
  send(ready);
}
