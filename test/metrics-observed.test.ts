/**
 * The metrics plugin over real TCP, read from its prom-client registry: the message-handling
 * histogram of the low-level kind (arrival → the receive() that takes it) and of a listener
 * (arrival → result settled), backpressure waits, and slow-consumer closes.
 * test/metrics-prometheus.test.ts checks the same series through a real Prometheus.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, expect, test } from "vitest";
import { type App, type AppOptions, createApp, silentLogger, websocket, websocketListener } from "../src/index.js";
import { metrics, type MetricsPlugin } from "../src/metrics/index.js";
import { testClient } from "../src/testing/index.js";

const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close({ timeoutMs: 2000 })));
});

function start(options: AppOptions): { app: App; plugin: MetricsPlugin; client: ReturnType<typeof testClient> } {
  const plugin = metrics({ path: false });
  const app = createApp({ logger: silentLogger, ...options, plugins: [plugin] });
  apps.push(app);
  return { app, plugin, client: testClient(app, { transport: "tcp", receiveTimeoutMs: 10_000 }) };
}

/** A sample of `name` with exactly these labels among its own (default labels aside). */
async function sample(plugin: MetricsPlugin, name: string, labels: Record<string, string | number> = {}): Promise<number | undefined> {
  const metric = plugin.registry.getSingleMetric(name.replace(/_(sum|count|bucket)$/, ""));
  if (metric === undefined) return undefined;
  const { values } = await metric.get();
  const found = values.find(
    (v) =>
      ((v as { metricName?: string }).metricName ?? name) === name &&
      Object.entries(labels).every(([key, value]) => (v.labels as Record<string, unknown>)[key] === value),
  );
  return found?.value;
}

const BURST = "z".repeat(16 * 1024);
/** Sends 2000 frames of 16 KiB (32 MiB: more than loopback's kernel buffers hold) when asked. */
const burst = websocket("/burst", async (socket) => {
  await socket.accept();
  await socket.receiveText();
  for (let i = 0; i < 2000; i++) await socket.sendText(BURST);
  await socket.sendText("end");
  for await (const _ of socket);
});

test("a listener's message counts from arrival until its result settles: one behind a 60 ms handler waits for it", async () => {
  const { plugin, client } = start({
    routes: [
      websocketListener("/slow", async (text) => {
        await sleep(60);
        return text;
      }),
    ],
  });
  const ws = await client.connect("/slow");
  ws.sendText("a");
  ws.sendText("b");
  expect(await ws.receiveText()).toBe("a");
  expect(await ws.receiveText()).toBe("b");
  expect(await sample(plugin, "statewire_message_handling_seconds_count", { route: "/slow" })).toBe(2);
  // 60 ms for the first; the second arrived with it and waited for it, then its own 60 ms.
  expect(await sample(plugin, "statewire_message_handling_seconds_sum", { route: "/slow" })).toBeGreaterThanOrEqual(0.17);
  expect(await sample(plugin, "statewire_message_handling_seconds_bucket", { route: "/slow", le: 0.05 })).toBe(0);
  expect(await sample(plugin, "statewire_message_handling_seconds_bucket", { route: "/slow", le: "+Inf" })).toBe(2);
  await ws.close();
});

test("a low-level handler's message counts from arrival until the receive() that takes it", async () => {
  const { plugin, client } = start({
    routes: [
      websocket("/slow", async (socket) => {
        await socket.accept();
        for await (const message of socket) {
          await sleep(60);
          await socket.sendText(String(message));
        }
      }),
    ],
  });
  const ws = await client.connect("/slow");
  ws.sendText("a");
  ws.sendText("b");
  expect(await ws.receiveText()).toBe("a");
  expect(await ws.receiveText()).toBe("b");
  expect(await sample(plugin, "statewire_message_handling_seconds_count", { route: "/slow" })).toBe(2);
  // The first was taken at once (its receive was waiting); the second waited out the first's 60 ms.
  const sum = (await sample(plugin, "statewire_message_handling_seconds_sum", { route: "/slow" }))!;
  expect(sum).toBeGreaterThanOrEqual(0.05);
  expect(await sample(plugin, "statewire_message_handling_seconds_bucket", { route: "/slow", le: 0.001 })).toBe(1);
  await ws.close();
});

test('"wait": sends to a client that does not read wait, counted with how long; nothing closes', async () => {
  const { plugin, client } = start({ backpressure: { highWaterMark: 16 * 1024, policy: "wait" }, routes: [burst] });
  const ws = await client.connect("/burst");
  ws.pauseReading();
  ws.sendText("go");
  await sleep(300);
  const waitingNow = (await sample(plugin, "statewire_backpressure_waits_total")) ?? 0;
  ws.resumeReading();
  let frames = 0;
  while ((await ws.receiveText()) !== "end") frames++;
  expect(frames).toBe(2000);
  const waits = (await sample(plugin, "statewire_backpressure_waits_total"))!;
  expect(waits).toBeGreaterThanOrEqual(1);
  // Counted when a wait ends: the one spanning the pause ended after it.
  expect(waits).toBeGreaterThan(waitingNow);
  expect(await sample(plugin, "statewire_backpressure_wait_seconds_count", { route: "/burst" })).toBe(waits);
  expect(await sample(plugin, "statewire_backpressure_wait_seconds_sum", { route: "/burst" })).toBeGreaterThanOrEqual(0.2);
  expect(await sample(plugin, "statewire_slow_consumer_closes_total")).toBe(0);
  await ws.close();
});

test('"close": a client that does not read is closed 1008 Slow consumer, and counted', async () => {
  const { app, plugin, client } = start({ backpressure: { highWaterMark: 16 * 1024, policy: "close" }, routes: [burst] });
  const ws = await client.connect("/burst");
  ws.pauseReading();
  ws.sendText("go");
  // Past the mark the frame is dropped and the close begins; the client then reads its way to the close frame.
  await expect.poll(() => app.stats().messages.dropped, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
  ws.resumeReading();
  const closed = await ws.closed;
  expect([closed.code, closed.reason]).toEqual([1008, "Slow consumer"]);
  await expect.poll(() => app.stats().closed, { timeout: 10_000 }).toBe(1);
  expect(await sample(plugin, "statewire_slow_consumer_closes_total")).toBe(1);
  expect(await sample(plugin, "statewire_backpressure_waits_total")).toBe(0);
  expect(await sample(plugin, "statewire_messages_dropped_total")).toBeGreaterThanOrEqual(1);
});

test("bytes in and out are the UTF-8 lengths of the payloads, short replies (framed here) and long ones (framed by ws) alike", async () => {
  const { plugin, client } = start({ routes: [websocketListener("/echo", (text) => `${text}✓`)] });
  const ws = await client.connect("/echo");
  const texts = ["héllo", "🌍 wide", "plain", "ü".repeat(1500), "x".repeat(70_000)];
  for (const text of texts) {
    ws.sendText(text);
    expect(await ws.receiveText()).toBe(`${text}✓`);
  }
  const utf8 = (text: string): number => Buffer.byteLength(text, "utf8");
  expect(await sample(plugin, "statewire_messages_total", { direction: "out" })).toBe(texts.length);
  expect(await sample(plugin, "statewire_message_bytes_total", { direction: "in" })).toBe(texts.reduce((sum, t) => sum + utf8(t), 0));
  expect(await sample(plugin, "statewire_message_bytes_total", { direction: "out" })).toBe(texts.reduce((sum, t) => sum + utf8(`${t}✓`), 0));
});
