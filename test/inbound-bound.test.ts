/**
 * Inbound bounding: a client that writes far faster than its handler reads cannot grow the
 * server's memory. Past `inboundHighWater` (default 64) queued messages the runtime pauses the
 * transport, so the rest of the flood stays where it was written: in the client's own socket
 * buffer (and the kernel's), not in the server process.
 *
 * Set-up: an in-process app (`createApp` + `app.listen()` on 127.0.0.1) with a low-level
 * `websocket()` route and a `websocketListener` route, both handling one message per 50 ms
 * while "slow". The flood comes from a separate process (`support/flood-client.ts`): 50,000
 * text messages of 1 KiB, written in one synchronous loop. Keeping the client out of this
 * process is what makes the memory measurement mean something: its ~49 MiB of queued frames
 * would otherwise sit in this process's `arrayBuffers` too.
 *
 * What is observed, all from outside the runtime:
 * - the handler's own count of what it handled (tiny while slow);
 * - the client's `bufferedAmount`: bytes its socket could not hand to the network. Loopback
 *   moves gigabytes per second, so if the server kept reading, it would be near 0 within
 *   milliseconds. It staying high for seconds means the server stopped reading.
 * - this process's memory (`heapUsed` + `arrayBuffers`, after a full GC), before the flood
 *   and while it is held back. Inbound frames are Buffers, so they show up in `arrayBuffers`
 *   (each message a slice of the 64 KiB chunk it was read in), the queues in `heapUsed`.
 * A control run with `inboundHighWater` and `inboundHighWaterBytes` at Infinity shows the same measurement does see the
 * flood when nothing bounds it.
 *
 * Then the handler is made fast and must handle every message, in the order sent.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, test } from "vitest";
import { type App, createApp, silentLogger, websocket, websocketListener, WebSocketDisconnect } from "../src/index.js";
import { type FloodClient, startFloodClient } from "./support/flood.js";

const COUNT = 50_000;
const SIZE = 1024;
const TOTAL = COUNT * SIZE;
const SLOW_MS = 50;
const MiB = 1024 * 1024;

/**
 * A real full GC. vitest's fork workers do not run with `--expose-gc`; the flag can still be set
 * at run time, and a fresh context then has `gc` defined.
 */
const gc: () => void = (() => {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === "function") return existing;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();

interface Memory {
  readonly heapUsed: number;
  readonly arrayBuffers: number;
  /** heapUsed + arrayBuffers: where queued inbound messages would live. */
  readonly total: number;
}

async function measure(): Promise<Memory> {
  // Two rounds with a turn of the event loop between: let finalizers and weak callbacks run.
  gc();
  await sleep(10);
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return { heapUsed, arrayBuffers, total: heapUsed + arrayBuffers };
}

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(2)} MiB`;
}

/** What the handlers share with the test: the sequence numbers they handled, and how slow they are. */
class Probe {
  readonly handled: number[] = [];
  malformed = 0;
  delayMs = SLOW_MS;
  #waiter: { readonly count: number; readonly resolve: () => void } | undefined;

  record(message: string | Buffer): void {
    const text = typeof message === "string" ? message : message.toString("utf8");
    if (text.length !== SIZE) this.malformed++;
    this.handled.push(Number(text.slice(0, 8)));
    if (this.#waiter !== undefined && this.handled.length >= this.#waiter.count) this.#waiter.resolve();
  }

  /** Only while slow: no timer at all once fast, or catching up on 50,000 messages would take 50,000 timer turns. */
  pace(): Promise<void> | undefined {
    return this.delayMs > 0 ? sleep(this.delayMs) : undefined;
  }

  handledAll(count: number, ms: number): Promise<void> {
    if (this.handled.length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`handled ${this.handled.length} of ${count} within ${ms} ms`)), ms);
      this.#waiter = {
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
    });
  }
}

function routes(probe: Probe) {
  return [
    websocket("/low-level", async (socket) => {
      await socket.accept();
      try {
        for (;;) {
          probe.record(await socket.receive());
          await probe.pace();
        }
      } catch (error) {
        if (!(error instanceof WebSocketDisconnect)) throw error;
      }
    }),
    websocketListener("/listener", async (text) => {
      probe.record(text);
      await probe.pace();
    }),
  ];
}

/** The first index where `handled` is not 0, 1, 2, …, or -1. */
function firstOutOfOrder(handled: readonly number[]): number {
  for (let i = 0; i < handled.length; i++) if (handled[i] !== i) return i;
  return -1;
}

interface FloodResult {
  readonly before: Memory;
  readonly held: Memory;
  readonly handledWhileSlow: number;
  /** Client `bufferedAmount` when the held memory was measured, and one second later. */
  readonly bufferedAtMeasure: number;
  readonly bufferedLater: number;
  readonly catchUpMs: number;
}

describe("a fast client cannot grow server memory", () => {
  let app: App | undefined;
  let client: FloodClient | undefined;

  afterEach(async () => {
    client?.kill();
    client = undefined;
    await app?.close({ timeoutMs: 1000 });
    app = undefined;
  }, 15_000);

  /** Open the app and the client, flood, observe while slow, then catch up and check order. */
  async function flood(path: string, inboundHighWater: number | undefined): Promise<FloodResult> {
    const probe = new Probe();
    const current = createApp({
      routes: routes(probe),
      logger: silentLogger,
      heartbeat: false,
      ...(inboundHighWater === undefined ? {} : { inboundHighWater, inboundHighWaterBytes: inboundHighWater }),
    });
    app = current;
    const { port } = await current.listen();
    const flooding = startFloodClient(`ws://127.0.0.1:${port}${path}`, COUNT, SIZE);
    client = flooding;
    await Promise.race([
      flooding.opened,
      sleep(15_000).then(() => {
        throw new Error(`flood client did not connect; stderr:\n${flooding.stderr()}`);
      }),
    ]);

    const before = await measure();
    flooding.go();
    // The client has handed all of its writes to its socket…
    await flooding.waitFor((status) => status.sent === COUNT, 15_000, "flood queued");
    // …and the network has carried whatever the server was willing to take: the client's buffer
    // has stopped shrinking (a condition, not a fixed sleep, so a busy machine only takes longer).
    let bufferedAtMeasure = flooding.latest()!.bufferedAmount;
    for (const settleBy = Date.now() + 20_000; Date.now() < settleBy; ) {
      await sleep(500);
      const now = flooding.latest()!.bufferedAmount;
      if (now === bufferedAtMeasure) break;
      bufferedAtMeasure = now;
    }
    const held = await measure();
    const handledWhileSlow = probe.handled.length;
    await sleep(1000);
    const bufferedLater = flooding.latest()!.bufferedAmount;

    // Catch up: every message handled, in the order sent.
    const fastFrom = Date.now();
    probe.delayMs = 0;
    await probe.handledAll(COUNT, 30_000);
    const catchUpMs = Date.now() - fastFrom;
    await flooding.waitFor((status) => status.bufferedAmount === 0, 5000, "client socket drained");
    expect(probe.handled).toHaveLength(COUNT);
    expect(firstOutOfOrder(probe.handled), "first message handled out of order").toBe(-1);
    expect(probe.malformed).toBe(0);

    // The client sees a normal server shutdown.
    await current.close({ timeoutMs: 5000 });
    expect(await flooding.closed).toBe(1001);
    expect(await flooding.exited).toBe(0);

    const result = { before, held, handledWhileSlow, bufferedAtMeasure, bufferedLater, catchUpMs };
    console.log(
      `${path} inboundHighWater=${inboundHighWater ?? "default"}: flood ${mib(TOTAL)}; while slow: ` +
        `handled ${handledWhileSlow}, client still buffering ${mib(bufferedAtMeasure)} then ${mib(bufferedLater)} 1 s later; ` +
        `server memory growth heapUsed ${mib(held.heapUsed - before.heapUsed)}, arrayBuffers ${mib(held.arrayBuffers - before.arrayBuffers)}, ` +
        `total ${mib(held.total - before.total)}; caught up on ${COUNT - handledWhileSlow} messages in ${catchUpMs} ms`,
    );
    return result;
  }

  for (const path of ["/low-level", "/listener"]) {
    test(`${path}: 50,000 × 1 KiB from a fast client stay out of the server; then all are handled in order`, async () => {
      const result = await flood(path, undefined);
      // The handler really was slow: at 50 ms a message, a few dozen in ~2 s (a generous ceiling).
      expect(result.handledWhileSlow).toBeLessThan(500);
      // The server stopped reading: most of the flood was still in the client, and stayed there.
      // What left the client is at most the kernel's socket buffers plus what the server read,
      // so `TOTAL - bufferedAmount` bounds from outside what reached the server at all.
      expect(result.bufferedAtMeasure).toBeGreaterThan(TOTAL / 2);
      expect(result.bufferedLater).toBeGreaterThan(TOTAL / 2);
      // In that second the client's buffer hardly shrank ('drain' is nowhere near): the server
      // reads only as the handler frees room. Unbounded, loopback empties it in milliseconds
      // (the control below measures 0 bytes left).
      expect(result.bufferedAtMeasure - result.bufferedLater).toBeLessThan(TOTAL / 8);
      // And the server's own memory barely moved: far below the 48.8 MiB flood.
      expect(result.held.total - result.before.total).toBeLessThan(TOTAL / 8);
    }, 60_000);
  }

  test("control: without the bound (inboundHighWater: Infinity) the same measurement sees the flood", async () => {
    const result = await flood("/low-level", Number.POSITIVE_INFINITY);
    // The server read everything the client wrote and holds it, waiting for the handler.
    expect(result.bufferedAtMeasure).toBeLessThan(TOTAL / 8);
    expect(result.held.total - result.before.total).toBeGreaterThan(TOTAL / 2);
  }, 60_000);
});
