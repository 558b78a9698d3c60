/**
 * src/connection/inbound.ts and src/connection/outbound.ts on their own: why reading is paused
 * (two reasons, read again only when neither holds), and the outbound policy at the high-water
 * mark (write, wait, drop, close), with a transport that records what it is asked.
 */
import { describe, expect, test } from "vitest";
import { pauseFor, PAUSED_BY_OUTBOUND, PAUSED_BY_QUEUE, resumeAll, resumeFor } from "../../src/connection/inbound.js";
import { type BackpressurePolicy, type OutboundHost, SendWaits, writeFrame } from "../../src/connection/outbound.js";
import { AppStats } from "../../src/connection/counting.js";
import { ObserverHub } from "../../src/connection/observer.js";
import { FRAME_COST } from "../../src/limits/budget.js";
import type { TransportConnection } from "../../src/transport/transport.js";

function recorder(): { log: string[]; pause(): void; resume(): void } {
  const log: string[] = [];
  return { log, pause: () => void log.push("pause"), resume: () => void log.push("resume") };
}

describe("inbound.ts: pause reasons", () => {
  test("the transport pauses on the first reason and resumes when the last one goes", () => {
    const transport = recorder();
    let reasons = pauseFor(transport, 0, PAUSED_BY_QUEUE);
    reasons = pauseFor(transport, reasons, PAUSED_BY_OUTBOUND);
    expect(transport.log).toStrictEqual(["pause"]);
    reasons = resumeFor(transport, reasons, PAUSED_BY_QUEUE);
    expect(transport.log).toStrictEqual(["pause"]);
    reasons = resumeFor(transport, reasons, PAUSED_BY_OUTBOUND);
    expect(reasons).toBe(0);
    expect(transport.log).toStrictEqual(["pause", "resume"]);
  });

  test("resuming a reason that does not hold changes nothing; resumeAll reads again whatever held it", () => {
    const transport = recorder();
    expect(resumeFor(transport, 0, PAUSED_BY_QUEUE)).toBe(0);
    const reasons = pauseFor(transport, 0, PAUSED_BY_OUTBOUND);
    expect(resumeFor(transport, reasons, PAUSED_BY_QUEUE)).toBe(PAUSED_BY_OUTBOUND);
    expect(resumeAll(transport, reasons)).toBe(0);
    expect(resumeAll(transport, 0)).toBe(0);
    expect(transport.log).toStrictEqual(["pause", "resume"]);
  });
});

interface FakeTransport {
  readonly transport: TransportConnection;
  readonly sent: { data: string | Uint8Array; callback: ((error?: Error) => void) | undefined }[];
  bufferedAmount: number;
}

function fakeTransport(): FakeTransport {
  const fake: FakeTransport = {
    sent: [],
    bufferedAmount: 0,
    transport: undefined as unknown as TransportConnection,
  };
  (fake as { transport: TransportConnection }).transport = {
    send: (data: string | Uint8Array, _isBinary: boolean, callback?: (error?: Error) => void) => void fake.sent.push({ data, callback }),
    get bufferedAmount() {
      return fake.bufferedAmount;
    },
    queuedFrames: 0,
  } as unknown as TransportConnection;
  return fake;
}

function host(backpressure: BackpressurePolicy, outboundHighWater = 100): OutboundHost & { log: string[]; stats: AppStats } {
  const log: string[] = [];
  const stats = new AppStats();
  let waits: SendWaits | undefined;
  const self: OutboundHost & { log: string[]; stats: AppStats } = {
    id: 1,
    messagesIn: 0,
    messagesOut: 0,
    log,
    stats,
    settings: { stats, observers: new ObserverHub(), outboundHighWater, backpressure },
    sendWaits: () => (waits ??= new SendWaits(self)),
    pauseReading: (reason) => void log.push(`pause ${reason}`),
    resumeReading: (reason) => void log.push(`resume ${reason}`),
    closeSlowConsumer: () => void log.push("close"),
  };
  return self;
}

describe("outbound.ts: writeFrame", () => {
  test("below the mark: written at once, counted out, no promise", () => {
    const { transport, sent } = fakeTransport();
    const h = host("wait");
    expect(writeFrame(h, transport, "hi", false)).toBeUndefined();
    expect(sent.map((s) => s.data)).toStrictEqual(["hi"]);
    expect(h.messagesOut).toBe(1);
  });

  test("queued frames count FRAME_COST each against the mark", () => {
    const fake = fakeTransport();
    (fake.transport as { queuedFrames: number }).queuedFrames = 1;
    const h = host("drop", FRAME_COST);
    expect(writeFrame(h, fake.transport, "x", false)).toBeUndefined();
    expect(fake.sent).toHaveLength(0);
    expect(h.stats.messagesDropped).toBe(1);
  });

  test("drop: past the mark the frame is not written, counted dropped", () => {
    const fake = fakeTransport();
    fake.bufferedAmount = 100;
    const h = host("drop");
    expect(writeFrame(h, fake.transport, "x", false)).toBeUndefined();
    expect(fake.sent).toHaveLength(0);
    expect(h.stats.messagesDropped).toBe(1);
    expect(h.log).toStrictEqual([]);
  });

  test("close: dropped, and the connection closes as a slow consumer", () => {
    const fake = fakeTransport();
    fake.bufferedAmount = 100;
    const h = host("close");
    writeFrame(h, fake.transport, "x", false);
    expect(h.log).toStrictEqual(["close"]);
    expect(h.stats.messagesDropped).toBe(1);
  });

  test("wait: written, the promise settles once written; reading pauses while any send waits", async () => {
    const fake = fakeTransport();
    fake.bufferedAmount = 100;
    const h = host("wait");
    const first = writeFrame(h, fake.transport, "a", false)!;
    const second = writeFrame(h, fake.transport, "b", false)!;
    expect(fake.sent.map((s) => s.data)).toStrictEqual(["a", "b"]);
    expect(h.log).toStrictEqual([`pause ${PAUSED_BY_OUTBOUND}`]);
    const waits = h.sendWaits();
    expect(waits.size).toBe(2);
    expect(waits.since).toBeGreaterThan(0);
    fake.sent[0]!.callback!();
    await first;
    expect(waits.size).toBe(1);
    expect(h.log).toStrictEqual([`pause ${PAUSED_BY_OUTBOUND}`]);
    fake.sent[1]!.callback!();
    await second;
    expect(waits.since).toBe(0);
    expect(h.log).toStrictEqual([`pause ${PAUSED_BY_OUTBOUND}`, `resume ${PAUSED_BY_OUTBOUND}`]);
  });

  test("releaseAll lets every waiting sender go on and reads again; a later write callback is harmless", async () => {
    const fake = fakeTransport();
    fake.bufferedAmount = 100;
    const h = host("wait");
    const pending = [writeFrame(h, fake.transport, "a", false)!, writeFrame(h, fake.transport, "b", false)!];
    h.sendWaits().releaseAll();
    await Promise.all(pending);
    expect(h.sendWaits().size).toBe(0);
    expect(h.log).toStrictEqual([`pause ${PAUSED_BY_OUTBOUND}`, `resume ${PAUSED_BY_OUTBOUND}`]);
    fake.sent[0]!.callback!();
    expect(h.log).toHaveLength(2);
    h.sendWaits().releaseAll();
    expect(h.log).toHaveLength(2);
  });
});

describe("outbound.ts: SENT_AT_ONCE, the identity a fan-out reads", () => {
  test("a send that left at once returns the one shared settled promise; one past the mark, another", async () => {
    const { createApp, websocket } = await import("../../src/index.js");
    const { testClient } = await import("../../src/testing/index.js");
    const { SENT_AT_ONCE } = await import("../../src/connection/outbound.js");
    const results: boolean[] = [];
    const app = createApp({
      backpressure: { highWaterMark: 1024, policy: "wait" },
      routes: [
        websocket("/s", async (socket) => {
          await socket.accept();
          results.push(socket.sendText("small") === SENT_AT_ONCE);
          results.push(socket.sendText("x".repeat(4096)) === SENT_AT_ONCE); // over the mark: this one is written
          results.push(socket.sendText("after") === SENT_AT_ONCE); // past the mark now: it must wait
          await socket.close();
        }),
      ],
    });
    const ws = await testClient(app).connect("/s");
    await ws.closed;
    await app.close({ timeoutMs: 1000 });
    expect(results).toStrictEqual([true, true, false]);
  });
});
