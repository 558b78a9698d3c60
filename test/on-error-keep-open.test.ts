/** A listener's `onError` may answer and keep the connection open (`keepOpen(reply?)`), or let it close 1011. */
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { createApp, keepOpen, type Logger, type Socket, WebSocketListener, websocketListener } from "../src/index.js";
import { testClient } from "../src/testing/index.js";

const runs = process.env.STATEWIRE_DEEP === "1" ? 500 : 60;
const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

class Calculator extends WebSocketListener<"json"> {
  readonly path = "/calc";
  override readonly receive = "json" as const;
  onReceive(data: unknown): unknown {
    const { op, n } = data as { op: string; n: number };
    if (op === "sync-fail") throw new Error(`bad ${n}`);
    if (op === "async-fail") return Promise.reject(new Error(`late ${n}`));
    return { ok: n };
  }
  override onError(error: unknown, _socket: Socket): unknown {
    const message = error instanceof Error ? error.message : String(error);
    if (message.startsWith("late")) return Promise.resolve(keepOpen({ error: message }));
    return keepOpen({ error: message });
  }
}

class Strict extends WebSocketListener {
  readonly path = "/strict";
  onReceive(): unknown {
    throw new Error("boom");
  }
  override onError(): unknown {
    return 42; // anything but keepOpen: the connection closes as before
  }
}

const app = createApp({
  logger: quiet,
  routes: [
    Calculator,
    Strict,
    websocketListener("/quiet", {
      handler: (text: string) => {
        if (text === "fail") throw new Error("x");
        return text;
      },
      onError: () => keepOpen(),
    }),
  ],
});
afterAll(() => app.close({ timeoutMs: 1000 }));

describe("onError keeps the connection", () => {
  test("a class handler's onError answers the failed message and the next one is handled", async () => {
    const ws = await testClient(app).connect("/calc");
    ws.sendJson({ op: "sync-fail", n: 1 });
    ws.sendJson({ op: "add", n: 2 });
    expect(await ws.receiveJson()).toEqual({ error: "bad 1" });
    expect(await ws.receiveJson()).toEqual({ ok: 2 });
    await ws.close();
  });

  test("keepOpen() without a reply sends nothing and stays open (functional listener)", async () => {
    const ws = await testClient(app).connect("/quiet");
    ws.sendText("fail");
    ws.sendText("after");
    expect(await ws.receiveText()).toBe("after");
    expect(ws.history).toHaveLength(1);
    await ws.close();
  });

  test("any other return value still closes 1011", async () => {
    const ws = await testClient(app).connect("/strict");
    ws.sendText("x");
    expect((await ws.closed).code).toBe(1011);
  });

  test("property: any mix of succeeding, throwing and rejecting messages gets one reply each, in order, and the connection stays open", async () => {
    const client = testClient(app);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom("add", "sync-fail", "async-fail"), { minLength: 1, maxLength: 30 }), async (ops) => {
        const ws = await client.connect("/calc");
        ops.forEach((op, n) => ws.sendJson({ op, n }));
        const replies: unknown[] = [];
        for (let i = 0; i < ops.length; i++) replies.push(await ws.receiveJson());
        expect(replies).toEqual(ops.map((op, n) => (op === "add" ? { ok: n } : { error: `${op === "sync-fail" ? "bad" : "late"} ${n}` })));
        expect((await ws.close()).code).toBe(1000);
      }),
      { numRuns: runs },
    );
  });
});
