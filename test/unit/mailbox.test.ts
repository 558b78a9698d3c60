/**
 * src/connection/mailbox.ts on its own: the inbound queue behind `socket.receive()` — wire
 * order, one waiting receive, the disconnect after the queue drains, and the bound (pause at the
 * high-water mark, resume at half of it).
 */
import fc from "fast-check";
import { afterEach, describe, expect, test, vi } from "vitest";
import { ReceiveTimeoutError, WebSocketDisconnect } from "../../src/wire/errors.js";
import { Mailbox } from "../../src/connection/mailbox.js";
import { ObserverHub } from "../../src/connection/observer.js";

const RUNS = process.env.STATEWIRE_DEEP === "1" ? 20_000 : process.env.STATEWIRE_MUTATION === "1" ? 50 : 500;

function mailbox(highWater = 16): { box: Mailbox; flow: string[] } {
  const flow: string[] = [];
  const box = new Mailbox({ pause: () => void flow.push("pause"), resume: () => void flow.push("resume"), inboundHighWater: highWater, inboundHighWaterBytes: Infinity });
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

/** `promise`'s outcome, failing at once (rather than hanging the test) if it is still pending. */
async function now<T>(promise: Promise<T>): Promise<T> {
  if (!(await isSettled(promise))) throw new Error("still pending");
  return promise;
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

  test("queued bytes pause at highWaterBytes (inclusive), count down on take, and resume at half of them", async () => {
    const flow: string[] = [];
    const box = new Mailbox({ pause: () => void flow.push("pause"), resume: () => void flow.push("resume"), inboundHighWater: 1000, inboundHighWaterBytes: 10 });
    box.push(bytes("12345"), false);
    box.push(bytes("1234"), false); // 9 bytes
    expect(flow).toStrictEqual([]);
    box.push(bytes("1"), false); // 10 bytes: exactly the mark
    expect(flow).toStrictEqual(["pause"]);
    await box.take(); // 5 bytes left: half, inclusive
    expect(flow).toStrictEqual(["pause", "resume"]);
    await box.take(); // 1 byte
    await box.take(); // 0 bytes
    expect(box.size).toBe(0);
    // The count went back to zero: 9 bytes stay under the mark again.
    box.push(bytes("123456789"), false);
    expect(flow).toStrictEqual(["pause", "resume"]);
    box.push(bytes("1"), false);
    expect(flow).toStrictEqual(["pause", "resume", "pause"]);
  });

  test("resumes only once the queued bytes are down to half, not while still above it", async () => {
    const flow: string[] = [];
    const box = new Mailbox({ pause: () => void flow.push("pause"), resume: () => void flow.push("resume"), inboundHighWater: 1000, inboundHighWaterBytes: 10 });
    box.push(bytes("1"), false);
    box.push(bytes("123456789"), false); // 10 bytes
    box.push(bytes("12"), false); // 12 bytes
    expect(flow).toStrictEqual(["pause"]);
    await box.take(); // 11 bytes: well above half
    expect(flow).toStrictEqual(["pause"]);
    await box.take(); // 2 bytes
    expect(flow).toStrictEqual(["pause", "resume"]);
  });

  test("resumes at exactly half the bytes, not before (6 bytes left of a 10-byte mark stays paused)", async () => {
    const flow: string[] = [];
    const box = new Mailbox({ pause: () => void flow.push("pause"), resume: () => void flow.push("resume"), inboundHighWater: 1000, inboundHighWaterBytes: 10 });
    box.push(bytes("1234"), false);
    box.push(bytes("123456"), false); // 10 bytes
    expect(flow).toStrictEqual(["pause"]);
    await box.take(); // 6 bytes: above 5
    expect(flow).toStrictEqual(["pause"]);
    box.push(bytes("1234"), false); // 10 bytes again, already paused
    await box.take(); // 4 bytes
    expect(flow).toStrictEqual(["pause", "resume"]);
  });
});

describe("Mailbox receive bounds", () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  const fakeTimers = (): void => void vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });

  test("timeoutMs: rejects with ReceiveTimeoutError after exactly that long, and the mailbox is as if nobody waited", async () => {
    fakeTimers();
    const { box } = mailbox();
    const waiting = settled(box.take({ timeoutMs: 100 }));
    vi.advanceTimersByTime(99);
    expect(await isSettled(waiting)).toBe(false);
    vi.advanceTimersByTime(1);
    const result = await now(waiting);
    expect("error" in result && result.error).toBeInstanceOf(ReceiveTimeoutError);
    const error = (result as { error: ReceiveTimeoutError }).error;
    expect({ name: error.name, message: error.message, timeoutMs: error.timeoutMs }).toStrictEqual({
      name: "ReceiveTimeoutError",
      message: "No message within 100 ms",
      timeoutMs: 100,
    });
    // The waiter was withdrawn: the next message queues, and a new receive is allowed.
    box.push(bytes("later"), false);
    expect(box.size).toBe(1);
    expect(await now(box.take({ timeoutMs: 100 }))).toStrictEqual({ data: bytes("later"), isBinary: false });
    const next = box.take();
    box.push(bytes("n"), true);
    expect(await now(next)).toStrictEqual({ data: bytes("n"), isBinary: true });
  });

  test("timeoutMs 0 is allowed and times out on the next timer turn", async () => {
    fakeTimers();
    const { box } = mailbox();
    const waiting = settled(box.take({ timeoutMs: 0 }));
    vi.advanceTimersByTime(0);
    const result = (await now(waiting)) as { error: ReceiveTimeoutError };
    expect(result.error).toBeInstanceOf(ReceiveTimeoutError);
    expect(result.error.message).toBe("No message within 0 ms");
  });

  test("a message before the deadline resolves the receive and clears its timer", async () => {
    fakeTimers();
    const { box } = mailbox();
    const waiting = box.take({ timeoutMs: 50 });
    expect(vi.getTimerCount()).toBe(1);
    expect(await isSettled(waiting)).toBe(false);
    box.push(bytes("in time"), true);
    expect(vi.getTimerCount()).toBe(0);
    expect(box.size).toBe(0);
    expect(await now(waiting)).toStrictEqual({ data: bytes("in time"), isBinary: true });
    vi.advanceTimersByTime(1000);
    // The next message queues: the old waiter is gone.
    box.push(bytes("queued"), false);
    expect(box.size).toBe(1);
  });

  test("the largest timeoutMs (2147483647) is accepted; out-of-range and NaN are refused with a RangeError", async () => {
    fakeTimers();
    const { box } = mailbox();
    const longest = box.take({ timeoutMs: 2_147_483_647 });
    expect(await isSettled(longest)).toBe(false);
    box.push(bytes("x"), false);
    expect(await now(longest)).toStrictEqual({ data: bytes("x"), isBinary: false });
    for (const timeoutMs of [-1, 2_147_483_648, Number.NaN]) {
      const result = (await settled(box.take({ timeoutMs }))) as { error: RangeError };
      expect(result.error).toBeInstanceOf(RangeError);
      expect(result.error.message).toBe(`timeoutMs must be between 0 and 2147483647, got ${timeoutMs}`);
      expect(vi.getTimerCount()).toBe(0);
    }
    // A refused receive never waited: the next message queues.
    box.push(bytes("y"), false);
    expect(box.size).toBe(1);
  });

  test("a message queued already is taken even with a deadline or a live signal", async () => {
    const { box } = mailbox();
    box.push(bytes("a"), false);
    box.push(bytes("b"), false);
    expect(await now(box.take({ timeoutMs: 10 }))).toStrictEqual({ data: bytes("a"), isBinary: false });
    expect(await now(box.take({ signal: new AbortController().signal }))).toStrictEqual({ data: bytes("b"), isBinary: false });
  });

  test("an already aborted signal rejects at once with its reason, even with a message queued", async () => {
    const { box } = mailbox();
    box.push(bytes("kept"), false);
    const controller = new AbortController();
    const reason = new Error("stop");
    controller.abort(reason);
    await expect(box.take({ signal: controller.signal })).rejects.toBe(reason);
    // The message stays for the next receive.
    expect(box.size).toBe(1);
    expect(await box.take()).toStrictEqual({ data: bytes("kept"), isBinary: false });
  });

  test("an abort reason that is not an Error becomes an AbortError DOMException", async () => {
    const { box } = mailbox();
    const before = new AbortController();
    before.abort("not an error");
    const early = (await settled(box.take({ signal: before.signal }))) as { error: DOMException };
    expect(early.error).toBeInstanceOf(DOMException);
    expect({ name: early.error.name, message: early.error.message }).toStrictEqual({
      name: "AbortError",
      message: "The receive was aborted",
    });
    const during = new AbortController();
    const waiting = settled(box.take({ signal: during.signal }));
    during.abort(42);
    const late = (await now(waiting)) as { error: DOMException };
    expect(late.error).toBeInstanceOf(DOMException);
    expect({ name: late.error.name, message: late.error.message }).toStrictEqual({
      name: "AbortError",
      message: "The receive was aborted",
    });
  });

  test("aborting while waiting rejects with the reason, withdraws the waiter, and clears the timer", async () => {
    fakeTimers();
    const { box } = mailbox();
    const controller = new AbortController();
    const reason = new Error("cancelled");
    const waiting = settled(box.take({ signal: controller.signal, timeoutMs: 1000 }));
    expect(await isSettled(waiting)).toBe(false);
    controller.abort(reason);
    expect(await now(waiting)).toStrictEqual({ error: reason });
    expect(vi.getTimerCount()).toBe(0);
    box.push(bytes("after"), false);
    expect(box.size).toBe(1);
    expect(await now(box.take({ signal: new AbortController().signal }))).toStrictEqual({ data: bytes("after"), isBinary: false });
  });

  test("a signal-only receive waits until a message comes, then stops listening to the signal", async () => {
    fakeTimers();
    const { box } = mailbox();
    const controller = new AbortController();
    const added = vi.spyOn(controller.signal, "addEventListener");
    const removed = vi.spyOn(controller.signal, "removeEventListener");
    const waiting = box.take({ signal: controller.signal });
    expect(await isSettled(waiting)).toBe(false);
    // No deadline without timeoutMs: however long it takes.
    vi.advanceTimersByTime(2_147_483_647);
    expect(await isSettled(waiting)).toBe(false);
    expect(added).toHaveBeenCalledTimes(1);
    expect(added.mock.calls[0]![0]).toBe("abort");
    expect(added.mock.calls[0]![2]).toStrictEqual({ once: true });
    box.push(bytes("m"), false);
    expect(await now(waiting)).toStrictEqual({ data: bytes("m"), isBinary: false });
    expect(removed).toHaveBeenCalledTimes(1);
    expect(removed.mock.calls[0]![0]).toBe("abort");
    expect(removed.mock.calls[0]![1]).toBe(added.mock.calls[0]![1]);
    // Aborting later changes nothing.
    controller.abort(new Error("late"));
    box.push(bytes("n"), false);
    expect(box.size).toBe(1);
  });

  test("a timeout-only receive resolves with the message when it comes", async () => {
    const { box } = mailbox();
    const waiting = box.take({ timeoutMs: 10_000 });
    expect(await isSettled(waiting)).toBe(false);
    expect(() => box.push(bytes("t"), true)).not.toThrow();
    expect(await now(waiting)).toStrictEqual({ data: bytes("t"), isBinary: true });
  });

  test("empty bounds ({}) wait like no bound at all", async () => {
    const { box } = mailbox();
    const waiting = box.take({});
    expect(await isSettled(waiting)).toBe(false);
    box.push(bytes("e"), false);
    expect(await now(waiting)).toStrictEqual({ data: bytes("e"), isBinary: false });
  });

  test("the end during a bounded wait rejects with the disconnect (or resolves with `ended` for takeAs), clearing the timer", async () => {
    fakeTimers();
    const { box } = mailbox();
    const controller = new AbortController();
    const removed = vi.spyOn(controller.signal, "removeEventListener");
    const waiting = settled(box.take({ timeoutMs: 500, signal: controller.signal }));
    box.end(1001, "bye");
    const result = (await now(waiting)) as { error: WebSocketDisconnect };
    expect(result.error).toBeInstanceOf(WebSocketDisconnect);
    expect({ code: result.error.code, reason: result.error.reason }).toStrictEqual({ code: 1001, reason: "bye" });
    expect(vi.getTimerCount()).toBe(0);
    expect(removed).toHaveBeenCalledTimes(1);

    const other = mailbox().box;
    const mapped = other.takeAs((data) => data.toString(), "done", { timeoutMs: 500 });
    other.end(1000, "");
    expect(await now(mapped)).toBe("done");
    expect(vi.getTimerCount()).toBe(0);
  });

  test("takeAs with a bound maps the message", async () => {
    const { box } = mailbox();
    const waiting = box.takeAs((data, isBinary) => `${data.toString()}:${isBinary}`, "done", { timeoutMs: 10_000 });
    box.push(bytes("hi"), true);
    expect(await now(waiting)).toBe("hi:true");
  });

  test("a second bounded receive while one waits is refused, and the first still works", async () => {
    const { box } = mailbox();
    const first = box.take({ timeoutMs: 10_000 });
    await expect(box.take({ timeoutMs: 10 })).rejects.toThrow(
      new Error("Another receive() is already waiting on this socket: receive one message at a time"),
    );
    box.push(bytes("m"), false);
    expect(await now(first)).toStrictEqual({ data: bytes("m"), isBinary: false });
  });
});

describe("Mailbox: message-handling latency for observers (arrival → the receive() that takes it)", () => {
  afterEach(() => void vi.restoreAllMocks());

  function observed(): { box: Mailbox; handled: [number, number][] } {
    const observers = new ObserverHub();
    const handled: [number, number][] = [];
    observers.add({ messageHandled: (id, durationMs) => void handled.push([id, durationMs]) });
    return { box: new Mailbox({ pause: () => {}, resume: () => {}, id: 3, observers, inboundHighWater: 16, inboundHighWaterBytes: Infinity }), handled };
  }

  test("unobserved, no clock read per message", async () => {
    const now = vi.spyOn(performance, "now");
    const { box } = mailbox();
    for (let i = 0; i < 10; i++) box.push(bytes(String(i)), false);
    for (let i = 0; i < 10; i++) await box.take();
    const waiting = box.take();
    box.push(bytes("x"), false);
    await waiting;
    expect(now).toHaveBeenCalledTimes(0);
  });

  test("a queued message counts its time in the queue; one a receive was waiting for counts 0", async () => {
    const { box, handled } = observed();
    box.push(bytes("a"), false);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(handled).toStrictEqual([]);
    expect((await box.take()).data.toString()).toBe("a");
    expect(handled).toHaveLength(1);
    expect(handled[0]![0]).toBe(3);
    expect(handled[0]![1]).toBeGreaterThanOrEqual(25);
    const waiting = box.take();
    box.push(bytes("b"), false);
    expect((await waiting).data.toString()).toBe("b");
    expect(handled[1]).toStrictEqual([3, 0]);
  });
});
