/**
 * The test client as a scope (`await using`), its default close code, and application lifecycle
 * hooks over the in-memory transport — each checked over memory and TCP.
 */
import { describe, expect, test } from "vitest";
import { type AppOptions, createApp, type Logger, websocket } from "../src/index.js";
import { testClient } from "../src/testing/index.js";

const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

function observedApp(extra: Partial<AppOptions> = {}) {
  const closes: number[] = [];
  let settled!: () => void;
  const disconnected = new Promise<void>((resolve) => (settled = resolve));
  const app = createApp({
    logger: quiet,
    ...extra,
    routes: [
      websocket("/echo", async (socket) => {
        await socket.accept();
        for await (const text of socket.iterText()) await socket.sendText(text);
        closes.push((await socket.closed).code);
        settled();
      }),
    ],
  });
  return { app, closes, disconnected };
}

for (const transport of ["memory", "tcp"] as const) {
  describe(`test client over ${transport}`, () => {
    test("await using closes the socket with 1000 when the scope exits", async () => {
      const { app, closes, disconnected } = observedApp();
      const client = testClient(app, { transport });
      let kept: { closed: Promise<{ code: number }> } | undefined;
      {
        await using ws = await client.connect("/echo");
        ws.sendText("hi");
        expect(await ws.receiveText()).toBe("hi");
        kept = ws;
      }
      expect((await kept.closed).code).toBe(1000);
      await disconnected;
      expect(closes).toEqual([1000]);
      await app.close({ timeoutMs: 1000 });
    });

    test("close() without a code sends 1000; closeWithoutStatus() sends none (1005)", async () => {
      const { app, closes, disconnected } = observedApp();
      const client = testClient(app, { transport });
      const ws = await client.connect("/echo");
      expect((await ws.close()).code).toBe(1000);
      await disconnected;
      expect(closes).toEqual([1000]);
      const bare = await client.connect("/echo");
      expect((await bare.closeWithoutStatus()).code).toBe(1005);
      await app.close({ timeoutMs: 1000 });
    });

    test("onStartup runs before the first connection; await using on the client runs onShutdown", async () => {
      const events: string[] = [];
      const { app } = observedApp({
        onStartup: () => void events.push("startup"),
        onShutdown: () => void events.push("shutdown"),
      });
      {
        await using client = testClient(app, { transport });
        expect(events).toEqual([]);
        await using ws = await client.connect("/echo");
        expect(events).toEqual(["startup"]);
        ws.sendText("x");
        expect(await ws.receiveText()).toBe("x");
      }
      expect(events).toEqual(["startup", "shutdown"]);
    });
  });
}

test("memory transport: fetch also runs onStartup first", async () => {
  const events: string[] = [];
  const { app } = observedApp({ onStartup: () => void events.push("startup") });
  await using client = testClient(app);
  await client.fetch("/nothing");
  expect(events).toEqual(["startup"]);
});
