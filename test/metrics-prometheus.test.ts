/**
 * Metrics scraped by a real Prometheus: examples/metrics.ts serves a known traffic pattern,
 * Prometheus (started here on a free port) scrapes it, and its HTTP API must answer the exact
 * counts. Outside CI a missing `prometheus` skips this file with one line; under CI=true it runs.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { WebSocket } from "ws";
import { app } from "../examples/metrics.js";
import type { ServerAddress } from "../src/index.js";
import { type Prometheus, type Sample, startPrometheus } from "./support/prometheus.js";
import { PROMETHEUS, skipWithout } from "./support/system-tools.js";

const run = !(await skipWithout(PROMETHEUS, "scraping by a real Prometheus", import.meta.url));

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

/** The status a refused handshake answered with. */
function refusedWith(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once("unexpected-response", (_request, response) => {
      resolve(response.statusCode ?? 0);
      ws.terminate();
    });
    ws.once("open", () => reject(new Error(`${url} opened`)));
    ws.once("error", () => {});
  });
}

async function echoTwice(ws: WebSocket): Promise<void> {
  const got: string[] = [];
  await new Promise<void>((resolve) => {
    ws.on("message", (data) => {
      got.push(String(data));
      if (got.length === 2) resolve();
    });
    ws.send("hello");
    ws.send("hello");
  });
  expect(got).toEqual(["hello", "hello"]);
}

/** The next text message. */
function nextText(ws: WebSocket): Promise<string> {
  return new Promise((resolve) => ws.once("message", (data) => resolve(String(data))));
}

/** Ask /flood for `count` 16 KiB frames without reading for `pauseMs`, then read them all up to "done". */
async function floodWhilePaused(ws: WebSocket, count: number, pauseMs: number): Promise<number> {
  let frames = 0;
  const done = new Promise<void>((resolve) => {
    ws.on("message", (data) => {
      if (String(data) === "done") resolve();
      else frames++;
    });
  });
  ws.pause();
  ws.send(String(count));
  await new Promise((resolve) => setTimeout(resolve, pauseMs));
  ws.resume();
  await done;
  return frames;
}

function closed(ws: WebSocket, code?: number): Promise<number> {
  return new Promise((resolve) => {
    ws.once("close", (received) => resolve(received));
    if (code !== undefined) ws.close(code);
  });
}

const value = (samples: Sample[], labels: Record<string, string> = {}): number | undefined =>
  samples.find((sample) => Object.entries(labels).every(([name, v]) => sample.labels[name] === v))?.value;

describe.skipIf(!run)("metrics scraped by a real Prometheus", () => {
  let address: ServerAddress;
  let prometheus: Prometheus;
  let stays: WebSocket;

  beforeAll(async () => {
    address = await app.listen({ port: 0 });
    const ws = address.url.replace("http", "ws");
    // Known traffic: 3 echo clients (2 messages each, 2 then close with 1000), one refused
    // handshake (403), one unknown path (404 at the door), one failing handler (1011), one
    // message to /slow (answered after 50 ms), 2000 frames of 16 KiB from /flood to a client
    // that does not read for 300 ms (32 MiB: more than loopback's kernel buffers hold, so sends
    // wait), both then closed with 1000.
    const clients = await Promise.all([open(`${ws}/ws`), open(`${ws}/ws`), open(`${ws}/ws`)]);
    for (const client of clients) await echoTwice(client);
    await Promise.all([closed(clients[0]!, 1000), closed(clients[1]!, 1000)]);
    stays = clients[2]!;
    expect(await refusedWith(`${ws}/private`)).toBe(403);
    expect(await refusedWith(`${ws}/nope`)).toBe(404);
    const failing = await open(`${ws}/fail`);
    const failed = closed(failing);
    failing.send("x");
    expect(await failed).toBe(1011);
    const slow = await open(`${ws}/slow`);
    const answer = nextText(slow);
    slow.send("hello");
    expect(await answer).toBe("hello");
    await closed(slow, 1000);
    const flood = await open(`${ws}/flood`);
    expect(await floodWhilePaused(flood, 2000, 300)).toBe(2000);
    await closed(flood, 1000);
    // Every connection but the open one has run its cleanup before Prometheus is asked.
    const deadline = Date.now() + 10_000;
    while (app.stats().closed < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(app.stats().closed).toBe(6);
    prometheus = await startPrometheus([{ url: `${address.url}/metrics`, job: "statewire" }]);
  }, 60_000);

  afterAll(async () => {
    stays?.terminate();
    await prometheus?.stop();
    await app.close({ timeoutMs: 2000 });
  });

  test("Prometheus answers the exact counts of the traffic", async () => {
    // The first successful scrape holds the settled state: traffic ended before Prometheus started.
    const up = await prometheus.until('up{job="statewire"}', (s) => value(s) === 1);
    expect(up).toHaveLength(1);
    const messages = await prometheus.until("statewire_messages_total", (s) => s.length === 2);
    expect(value(messages, { direction: "in" })).toBe(7 + 1 + 1);
    expect(value(messages, { direction: "out" })).toBe(6 + 1 + 2001);
    expect(value(messages, { service: "example" })).toBeDefined();
    const bytes = await prometheus.query("statewire_message_bytes_total");
    expect(value(bytes, { direction: "in" })).toBe(31 + 5 + 4);
    expect(value(bytes, { direction: "out" })).toBe(30 + 5 + 2000 * 16 * 1024 + 4);

    const handshakes = await prometheus.query("statewire_handshakes_total");
    expect(value(handshakes, { route: "/ws", outcome: "accepted", status: "101" })).toBe(3);
    expect(value(handshakes, { route: "/fail", outcome: "accepted" })).toBe(1);
    expect(value(handshakes, { route: "/private", outcome: "rejected", status: "403" })).toBe(1);
    expect(value(handshakes, { route: "/slow", outcome: "accepted" })).toBe(1);
    expect(value(handshakes, { route: "/flood", outcome: "accepted" })).toBe(1);
    expect(handshakes).toHaveLength(5);

    const closes = await prometheus.query("statewire_closes_total");
    expect(value(closes, { route: "/ws", code: "1000", initiator: "client" })).toBe(2);
    expect(value(closes, { route: "/fail", code: "1011", initiator: "server" })).toBe(1);
    expect(value(closes, { route: "/slow", code: "1000", initiator: "client" })).toBe(1);
    expect(value(closes, { route: "/flood", code: "1000", initiator: "client" })).toBe(1);
    expect(closes).toHaveLength(4);

    const connections = await prometheus.query("statewire_connections");
    expect(connections.map((s) => [s.labels.route, s.labels.state, s.value])).toEqual([["/ws", "open", 1]]);

    expect(value(await prometheus.query("statewire_upgrades_refused_total"))).toBe(1);
    expect(value(await prometheus.query("statewire_handler_errors_total"))).toBe(1);
    expect(value(await prometheus.query('statewire_handshake_duration_seconds_count{route="/ws"}'))).toBe(3);
    // Every handshake here took well under 2.5 s: the bucket holds all three.
    expect(value(await prometheus.query('statewire_handshake_duration_seconds_bucket{route="/ws",le="2.5"}'))).toBe(3);

    // Message handling: /slow's one message took its handler's 50 ms; /ws's six were taken by a
    // waiting receive() or soon after; /fail's one was taken too.
    expect(value(await prometheus.query('statewire_message_handling_seconds_count{route="/slow"}'))).toBe(1);
    expect(value(await prometheus.query('statewire_message_handling_seconds_sum{route="/slow"}'))).toBeGreaterThanOrEqual(0.05);
    expect(value(await prometheus.query('statewire_message_handling_seconds_bucket{route="/slow",le="0.025"}'))).toBe(0);
    expect(value(await prometheus.query('statewire_message_handling_seconds_count{route="/ws"}'))).toBe(6);
    expect(value(await prometheus.query('statewire_message_handling_seconds_count{route="/fail"}'))).toBe(1);
    expect(value(await prometheus.query("sum(statewire_message_handling_seconds_count)"))).toBe(7 + 1 + 1);
    // Backpressure: /flood's sends waited while the client did not read; at least one of those
    // waits spanned most of the 300 ms pause.
    const waits = value(await prometheus.query('statewire_backpressure_wait_seconds_count{route="/flood"}'))!;
    expect(waits).toBeGreaterThanOrEqual(1);
    expect(value(await prometheus.query("statewire_backpressure_waits_total"))).toBe(waits);
    expect(value(await prometheus.query('statewire_backpressure_wait_seconds_sum{route="/flood"}'))).toBeGreaterThanOrEqual(0.2);
    expect(value(await prometheus.query('statewire_backpressure_wait_seconds_count{route="/ws"}'))).toBe(0);
    expect(value(await prometheus.query("statewire_slow_consumer_closes_total"))).toBe(0);
  }, 60_000);
});
