/**
 * `receive*({ timeoutMs, signal })`: a receive that gives up withdraws from the mailbox, so the
 * next receive works and a message that arrives later is neither lost nor reordered.
 */
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { Schema } from "effect";
import { createApp, type Logger, ReceiveTimeoutError, websocket } from "../src/index.js";
import { Mailbox } from "../src/connection/mailbox.js";
import { testClient } from "../src/testing/index.js";

const runs = process.env.STATEWIRE_DEEP === "1" ? 5000 : 300;
const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

const app = createApp({
  logger: quiet,
  routes: [
    websocket("/deadline", async (socket) => {
      await socket.accept();
      const outcomes: string[] = [];
      try {
        await socket.receiveText({ timeoutMs: 30 });
        outcomes.push("message");
      } catch (error) {
        outcomes.push(error instanceof ReceiveTimeoutError ? `timeout ${error.timeoutMs}` : String(error));
      }
      await socket.sendJson(outcomes); // the client sends only once it has read this
      outcomes.push(await socket.receiveText()); // the withdrawn receive left no waiter behind
      const controller = new AbortController();
      const aborted = socket.receive({ signal: controller.signal }).then(() => "message", (error: Error) => error.name);
      controller.abort();
      outcomes.push(await aborted);
      await socket.sendJson("aborted");
      outcomes.push(JSON.stringify(await socket.receiveJson(Schema.Struct({ n: Schema.Number }), { timeoutMs: 1000 })));
      await socket.sendJson(outcomes);
    }),
  ],
});
afterAll(() => app.close({ timeoutMs: 1000 }));

describe("receive with a deadline", () => {
  for (const transport of ["memory", "tcp"] as const) {
    test(`a timed-out receive rejects with ReceiveTimeoutError and the next receive gets the late message (${transport})`, async () => {
      const ws = await testClient(app, { transport }).connect("/deadline");
      expect(await ws.receiveJson()).toEqual(["timeout 30"]);
      ws.sendText("late");
      expect(await ws.receiveJson()).toBe("aborted");
      ws.sendJson({ n: 1 });
      expect(await ws.receiveJson()).toEqual(["timeout 30", "late", "AbortError", '{"n":1}']);
      await ws.close();
    });
  }

  test("an already aborted signal rejects at once, even with a message queued, and leaves it queued", async () => {
    const mailbox = new Mailbox({ pause: () => {}, resume: () => {}, inboundHighWater: 64, inboundHighWaterBytes: Infinity });
    mailbox.push(Buffer.from("a"), false);
    await expect(mailbox.take({ signal: AbortSignal.abort() })).rejects.toMatchObject({ name: "AbortError" });
    expect((await mailbox.take()).data.toString()).toBe("a");
  });

  test("a timeout outside 0..2^31-1 ms is a RangeError", async () => {
    const mailbox = new Mailbox({ pause: () => {}, resume: () => {}, inboundHighWater: 64, inboundHighWaterBytes: Infinity });
    await expect(mailbox.take({ timeoutMs: -1 })).rejects.toBeInstanceOf(RangeError);
    await expect(mailbox.take({ timeoutMs: Number.NaN })).rejects.toBeInstanceOf(RangeError);
  });

  test("property: any interleaving of arrivals, receives that give up, and plain receives loses and reorders nothing", async () => {
    type Step = "push" | "bounded" | "giveUp" | "plain" | "tick";
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom<Step>("push", "bounded", "giveUp", "plain", "tick"), { maxLength: 80 }), async (steps) => {
        const mailbox = new Mailbox({ pause: () => {}, resume: () => {}, inboundHighWater: 4, inboundHighWaterBytes: Infinity });
        const received: number[] = [];
        const settled: Promise<void>[] = [];
        let sent = 0;
        let pending: { controller: AbortController | undefined } | undefined;
        const start = (bounded: boolean): void => {
          const controller = bounded ? new AbortController() : undefined;
          const current = { controller };
          pending = current;
          const taken = mailbox.take(controller === undefined ? undefined : { signal: controller.signal });
          settled.push(
            taken.then(
              (message) => void received.push(Number(message.data.toString())),
              (error: Error) => expect(error.name).toMatch(/^(AbortError|WebSocketDisconnect)$/),
            ).finally(() => {
              if (pending === current) pending = undefined;
            }),
          );
        };
        for (const step of steps) {
          if (step === "push") mailbox.push(Buffer.from(String(sent++)), false);
          else if (step === "tick") await new Promise((resolve) => setImmediate(resolve));
          else if (step === "giveUp") pending?.controller?.abort();
          else if (pending === undefined) start(step === "bounded");
        }
        pending?.controller?.abort();
        mailbox.end(1000, "");
        await Promise.all(settled);
        while (mailbox.size > 0) received.push(Number((await mailbox.take()).data.toString()));
        expect(received).toEqual(Array.from({ length: sent }, (_, i) => i));
      }),
      { numRuns: runs },
    );
  });

  test("a timer that fires as a message arrives: the message goes to exactly one receive", async () => {
    const mailbox = new Mailbox({ pause: () => {}, resume: () => {}, inboundHighWater: 64, inboundHighWaterBytes: Infinity });
    for (let round = 0; round < 50; round++) {
      const first = mailbox.take({ timeoutMs: 1 }).then((m) => m.data.toString(), (error: Error) => error.name);
      await new Promise((resolve) => setTimeout(resolve, 1));
      mailbox.push(Buffer.from(String(round)), false);
      const outcome = await first;
      if (outcome === "ReceiveTimeoutError") expect((await mailbox.take()).data.toString()).toBe(String(round));
      else expect(outcome).toBe(String(round));
      expect(mailbox.size).toBe(0);
    }
  });
});

describe("sendJson in a binary frame", () => {
  const binaryApp = createApp({
    logger: quiet,
    routes: [
      websocket("/json", async (socket) => {
        await socket.accept();
        const value = await socket.receiveJson();
        await socket.sendJson(value, { binary: true });
        await socket.sendJson(value);
      }),
    ],
  });
  afterAll(() => binaryApp.close({ timeoutMs: 1000 }));

  for (const transport of ["memory", "tcp"] as const) {
    test(`sendJson(value, { binary: true }) sends UTF-8 JSON in a binary frame; the default stays text (${transport})`, async () => {
      const ws = await testClient(binaryApp, { transport }).connect("/json");
      const value = { name: "zoë", list: [1, 2] };
      ws.sendJson(value);
      const bytes = await ws.receiveBytes();
      expect(JSON.parse(bytes.toString("utf8"))).toEqual(value);
      expect(JSON.parse(await ws.receiveText())).toEqual(value);
      await ws.close();
    });
  }
});
