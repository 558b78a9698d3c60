/**
 * Soak: well-behaved and hostile clients together against a real server process
 * (test/support/budget-server.ts, production defaults), for a bounded time — 3 s in `npm test`,
 * 30 s with STATEWIRE_DEEP=1. Well-behaved clients echo and check every answer; hostile ones
 * never read and flood (empty messages, pings, largest messages), send unsolicited pongs,
 * violate the protocol after valid messages, or reset mid-frame. Afterwards every connection's
 * cleanup ran exactly once, and memory and open handles are back where a warm-up round left them.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, test } from "vitest";
import { WebSocket } from "ws";
import { type FaultProcess, type ServerSample, startFaultServer } from "./support/fault-process.js";
import { encodeFrame, Opcode, RawClient } from "./support/raw-client.js";

const DEEP = process.env.STATEWIRE_DEEP === "1";
const DURATION_MS = DEEP ? 30_000 : 3000;
const MiB = 1024 * 1024;

let server: FaultProcess;
beforeAll(async () => {
  // glibc raises its mmap threshold as large blocks are freed, after which freed 1 MiB
  // messages stay in the heap's pages: RSS then measures the allocator, not the server. A
  // fixed threshold gives large blocks back to the system when freed.
  server = await startFaultServer(20_000, "test/support/budget-server.ts", { MALLOC_MMAP_THRESHOLD_: "131072" });
});
afterAll(async () => {
  await server?.stop();
});

const EMPTY = encodeFrame({ opcode: Opcode.TEXT });
const PING = encodeFrame({ opcode: Opcode.PING });
const PONG = encodeFrame({ opcode: Opcode.PONG, payload: Buffer.alloc(8) });
const LARGE = encodeFrame({ opcode: Opcode.BINARY, payload: Buffer.alloc(MiB - 16, 1) });
const batch = (frame: Buffer, count: number): Buffer => Buffer.concat(Array.from({ length: count }, () => frame));
const EMPTIES = batch(EMPTY, 20_000);
const PINGS = batch(PING, 20_000);
const VIOLATION = Buffer.concat([encodeFrame({ opcode: Opcode.TEXT, payload: "a" }), encodeFrame({ opcode: 3, payload: "x" })]);

type Hostile = (port: number, until: number) => Promise<void>;

/** Connect, then run `act` on a client that never reads; always destroyed at the end. */
const nonReader =
  (path: string, act: (client: RawClient) => void | Promise<void>): Hostile =>
  async (port) => {
    const client = await RawClient.connect(port, path, { autoPong: false });
    client.pause();
    try {
      await act(client);
      await sleep(200);
    } finally {
      client.destroy();
    }
  };

const hostiles: readonly Hostile[] = [
  nonReader("/echo", (client) => client.writeNow(EMPTIES)),
  nonReader("/listener", (client) => client.writeNow(EMPTIES)),
  nonReader("/echo", (client) => client.writeNow(PINGS)),
  nonReader("/echo", (client) => {
    for (let i = 0; i < 8; i++) client.writeNow(LARGE);
  }),
  nonReader("/room", async (client) => {
    for (let i = 0; i < 5; i++) {
      client.writeNow(PONG);
      await sleep(20);
    }
  }),
  async (port) => {
    const client = await RawClient.connect(port, "/listener", { autoPong: false });
    await client.write(VIOLATION);
    await client.closeFrame(5000).catch(() => undefined);
    client.destroy();
  },
  async (port) => {
    const client = await RawClient.connect(port, "/echo");
    client.writeNow(LARGE.subarray(0, 1000));
    await sleep(10);
    client.reset();
  },
];

/** A client that does everything right: each message echoed, in order. */
async function wellBehaved(port: number, until: number, path: string): Promise<number> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  let echoed = 0;
  try {
    while (Date.now() < until) {
      const text = `hello ${echoed}`;
      const answer = new Promise<string>((resolve, reject) => {
        ws.once("message", (data) => resolve(String(data)));
        ws.once("close", () => reject(new Error("closed while waiting for an echo")));
      });
      ws.send(text);
      expect(await answer).toBe(text);
      echoed++;
    }
  } finally {
    ws.close(1000);
    await new Promise((resolve) => ws.once("close", resolve));
  }
  return echoed;
}

async function round(durationMs: number): Promise<{ connections: number; echoed: number }> {
  const until = Date.now() + durationMs;
  let connections = 0;
  const good = ["/echo", "/listener", "/echo", "/listener"].map((path) => {
    connections++;
    return wellBehaved(server.port, until, path);
  });
  const bad = (async () => {
    let i = 0;
    while (Date.now() < until) {
      const wave = hostiles.map((hostile, j) => {
        connections++;
        return hostiles[(i + j) % hostiles.length]!(server.port, until);
      });
      await Promise.all(wave);
      i++;
    }
  })();
  const echoed = (await Promise.all(good)).reduce((a, b) => a + b, 0);
  await bad;
  return { connections, echoed };
}

async function settled(): Promise<ServerSample> {
  await expect.poll(async () => (await server.sample()).stats.open, { timeout: 15_000, interval: 100 }).toBe(0);
  // Connections close before their handlers settle; wait for those too.
  await expect
    .poll(async () => {
      const { stats } = await server.sample();
      return stats.handlers.finished === stats.handlers.started && stats.closed === stats.started;
    }, { timeout: 10_000, interval: 100 })
    .toBe(true);
  return server.sample(true);
}

test(`soak: well-behaved and hostile clients for ${DURATION_MS / 1000} s; every cleanup ran once, memory and handles come back`, async () => {
  // Warm-up, a full round: pools and lazily built things (ws servers, zones, code paths) reach
  // their steady size before the baseline. (Measured: after one such round, four more rounds
  // left heap and buffers within ±0.5 MiB.)
  await round(Math.min(DURATION_MS, 3000));
  const before = await settled();
  const { connections, echoed } = await round(DURATION_MS);
  const after = await settled();

  const started = after.stats.started - before.stats.started;
  console.log(
    `soak ${DURATION_MS} ms: ${connections} connections (${started} reached the app), ${echoed} echoes; ` +
      `heap ${((after.heapUsed - before.heapUsed) / MiB).toFixed(2)} MiB, buffers ${((after.arrayBuffers - before.arrayBuffers) / MiB).toFixed(2)} MiB, ` +
      `RSS ${((after.rss - before.rss) / MiB).toFixed(1)} MiB, handles ${before.handles} → ${after.handles}`,
  );
  expect(echoed).toBeGreaterThan(0);
  // Every connection we opened reached the app, and its cleanup ran once.
  expect(started).toBe(connections);
  expect(after.stats.closed - before.stats.closed).toBe(connections);
  expect(after.stats.handlers.finished - before.stats.handlers.finished).toBe(after.stats.handlers.started - before.stats.handlers.started);
  expect(after.stats.errors).toBe(0);
  // No growth: what the heap and buffers hold comes back. Slack: 4 MiB, as rounds in a row
  // differ by up to two of the largest (1 MiB) messages in buffers still being collected; a leak of
  // 10 KiB per connection would show in the deep run (~500 connections).
  expect(after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers)).toBeLessThan(4 * MiB);
  expect(after.rss - before.rss).toBeLessThan(32 * MiB);
  expect(after.handles).toBeLessThanOrEqual((before.handles ?? 0) + 1);
}, DURATION_MS + 120_000);
