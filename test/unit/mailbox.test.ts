/**
 * src/connection/mailbox.ts on its own: the inbound queue behind `socket.receive()` — wire
 * order, one waiting receive, the disconnect after the queue drains, and the bound (pause at the
 * high-water mark, resume at half of it).
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { WebSocketDisconnect } from "../../src/connection/errors.js";
import { Mailbox } from "../../src/connection/mailbox.js";

const RUNS = process.env.STATEWIRE_DEEP === "1" ? 20_000 : process.env.STATEWIRE_MUTATION === "1" ? 50 : 500;

function mailbox(highWater = 16): { box: Mailbox; flow: string[] } {
  const flow: string[] = [];
  const box = new Mailbox({ pause: () => void flow.push("pause"), resume: () => void flow.push("resume") }, highWater);
  return { box, flow };
}

const bytes = (text: string): Buffer => Buffer.from(text);
const settled = async <T>(promise: Promise<T>): Promise<{ value: T } | { error: unknown }> =>
  promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
/** Whether `promise` has settled once pending callbacks ran. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe("Mailbox", () => {
  test("hands out queued messages in wire order, with their kind", async () => {
    const { box } = mailbox();
    box.push(bytes("a"), false);
    box.push(bytes("b"), true);
    expect(box.size).toBe(2);
    expect(await box.take()).toStrictEqual({ data: bytes("a"), isBinary: false });
    expect(box.size).toBe(1);
    expect(await box.take()).toStrictEqual({ data: bytes("b"), isBinary: true });
    expect(box.size).toBe(0);
  });

  test("a waiting receive gets the next message directly, without queueing it", async () => {
    const { box } = mailbox(1);
    const waiting = box.take();
    expect(await isSettled(waiting)).toBe(false);
    box.push(bytes("x"), true);
    expect(box.size).toBe(0);
    expect(await waiting).toStrictEqual({ data: bytes("x"), isBinary: true });
    // The waiter is gone: the next message queues.
    box.push(bytes("y"), false);
    expect(box.size).toBe(1);
  });

  test("takeAs maps the message, and resolves with `ended` once the peer is gone", async () => {
    const { box } = mailbox();
    box.push(bytes("hi"), false);
    expect(await box.takeAs((data, isBinary) => `${data.toString()}:${isBinary}`, "done")).toBe("hi:false");
    const waiting = box.takeAs((data) => data.toString(), "done");
    box.push(bytes("next"), true);
    expect(await waiting).toBe("next");
    const last = box.takeAs((data) => data.toString(), "done");
    box.end(1000, "");
    expect(await last).toBe("done");
    expect(await box.takeAs((data) => data.toString(), { over: true })).toStrictEqual({ over: true });
  });

  test("a second receive while one waits is refused, and the first still gets the message", async () => {
    const { box } = mailbox();
    const first = box.take();
    await expect(box.take()).rejects.toThrow(new Error("Another receive() is already waiting on this socket: receive one message at a time"));
    box.push(bytes("m"), false);
    expect(await first).toStrictEqual({ data: bytes("m"), isBinary: false });
  });

  test("end rejects a waiting receive with the disconnect's code and reason", async () => {
    const { box } = mailbox();
    const waiting = settled(box.take());
    box.end(1001, "going away");
    const result = await waiting;
    expect("error" in result && result.error).toBeInstanceOf(WebSocketDisconnect);
    const error = (result as { error: WebSocketDisconnect }).error;
    expect({ code: error.code, reason: error.reason, message: error.message }).toStrictEqual({
      code: 1001,
      reason: "going away",
      message: "WebSocket disconnected with code 1001 (going away)",
    });
  });

  test("messages queued before the end are still delivered, then every receive rejects with the same disconnect", async () => {
    const { box } = mailbox();
    box.push(bytes("1"), false);
    box.push(bytes("2"), false);
    box.end(1000, "");
    box.push(bytes("after"), false);
    expect(box.size).toBe(2);
    expect((await box.take()).data.toString()).toBe("1");
    expect((await box.take()).data.toString()).toBe("2");
    const first = await settled(box.take());
    const second = await settled(box.take());
    expect(first).toStrictEqual({ error: expect.any(WebSocketDisconnect) });
    expect((first as { error: WebSocketDisconnect }).error.message).toBe("WebSocket disconnected with code 1000");
    // One error object: building a stack trace per receive would cost on every late call.
    expect((second as { error: unknown }).error).toBe((first as { error: unknown }).error);
  });

  test("the first end wins", async () => {
    const { box } = mailbox();
    box.end(4001, "first");
    box.end(4002, "second");
    const result = await settled(box.take());
    expect((result as { error: WebSocketDisconnect }).error).toMatchObject({ code: 4001, reason: "first" });
  });

  test("end with nobody waiting rejects nothing until asked", async () => {
    const { box } = mailbox();
    box.end(1006, "");
    expect(box.size).toBe(0);
    const result = await settled(box.take());
    expect((result as { error: WebSocketDisconnect }).error).toMatchObject({ code: 1006, reason: "" });
  });

  test("pauses the transport once at the high-water mark and resumes once at half of it", async () => {
    const { box, flow } = mailbox(4);
    for (let i = 0; i < 3; i++) box.push(bytes(String(i)), false);
    expect(flow).toStrictEqual([]);
    box.push(bytes("3"), false);
    expect(flow).toStrictEqual(["pause"]);
    box.push(bytes("4"), false);
    box.push(bytes("5"), false);
    expect(flow).toStrictEqual(["pause"]);
    expect(box.size).toBe(6);
    for (let i = 0; i < 3; i++) await box.take(); // 3 left: more than half
    expect(flow).toStrictEqual(["pause"]);
    await box.take(); // 2 left: half
    expect(flow).toStrictEqual(["pause", "resume"]);
    await box.take();
    await box.take();
    expect(flow).toStrictEqual(["pause", "resume"]);
    // And again, from empty.
    for (let i = 0; i < 4; i++) box.push(bytes(String(i)), false);
    expect(flow).toStrictEqual(["pause", "resume", "pause"]);
  });

  test("an odd high-water mark resumes at the half rounded down", async () => {
    const { box, flow } = mailbox(5);
    for (let i = 0; i < 5; i++) box.push(bytes(String(i)), false);
    expect(flow).toStrictEqual(["pause"]);
    await box.take(); // 4
    await box.take(); // 3
    expect(flow).toStrictEqual(["pause"]);
    await box.take(); // 2 = 5 >> 1
    expect(flow).toStrictEqual(["pause", "resume"]);
  });

  test("a message handed to a waiting receive does not count toward the bound", () => {
    const { box, flow } = mailbox(1);
    void box.take();
    box.push(bytes("direct"), false);
    expect(flow).toStrictEqual([]);
    box.push(bytes("queued"), false);
    expect(flow).toStrictEqual(["pause"]);
  });

  test(`any interleaving of pushes and takes keeps order, the size, and pause/resume alternating (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.array(fc.boolean(), { maxLength: 40 }), async (highWater, ops) => {
        const { box, flow } = mailbox(highWater);
        let pushed = 0;
        let taken = 0;
        for (const push of ops) {
          if (push) box.push(bytes(String(pushed++)), false);
          else if (box.size > 0) expect((await box.take()).data.toString()).toBe(String(taken++));
          expect(box.size).toBe(pushed - taken);
          const paused = flow.length % 2 === 1;
          if (paused) expect(box.size).toBeGreaterThan(highWater >> 1);
          else expect(box.size).toBeLessThan(highWater);
          expect(flow.every((step, index) => step === (index % 2 === 0 ? "pause" : "resume"))).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
