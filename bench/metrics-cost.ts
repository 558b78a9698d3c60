/**
 * What metrics add to the frame path: the cost of one `messageIn` + `messageOut` +
 * `messageHandled` through the app's observer hub with the metrics plugin attached, against no
 * observer (one boolean read), for reads of 16 messages (the latency's two clock reads are per
 * turn: src/connection/turn-clock.ts), and the cost of a scrape with N live connections. `npm run bench` measures the same end to end (its "listener, metrics on" row).
 *
 *   node --import tsx bench/metrics-cost.ts
 */
import { ObserverHub } from "../src/connection/observer.js";
import type { PluginHost } from "../src/app/plugin.js";
import { metrics } from "../src/metrics/index.js";
import { silentLogger } from "../src/connection/logger.js";
import { AppStats } from "../src/connection/counting.js";
import { snapshot } from "../src/app/stats.js";

const bare = new ObserverHub();
const hub = new ObserverHub();
const stats = new AppStats();
const host: PluginHost = { observe: (o) => hub.add(o), subscribed() {}, unsubscribed() {}, stats: () => snapshot(stats, 0), logger: silentLogger };
const plugin = metrics({ path: false });
plugin.setup?.(host);
const data = Buffer.from("hello");
hub.connectionStarted({ id: 1, route: "/a", url: "/a", client: { host: "127.0.0.1", port: 1 }, startedAt: Date.now() });
const ROUNDS = 5;
const N = 2_000_000;
/** Messages per TCP read. */
const READ = 16;

function perCall(observers: ObserverHub): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i += READ) {
    // What connection.ts, pipeline.ts and turn-clock.ts do for the frames of one read.
    const arrivedAt = observers.active ? performance.now() : 0;
    for (let m = 0; m < READ; m++) {
      if (observers.active) observers.messageIn(1, 5, false, data);
      if (observers.active) observers.messageOut(1, 5, false, "hello");
    }
    if (arrivedAt !== 0) {
      const duration = performance.now() - arrivedAt;
      for (let m = 0; m < READ; m++) observers.messageHandled(1, duration);
    }
  }
  return Number(process.hrtime.bigint() - start) / N;
}
const off: number[] = [];
const on: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  off.push(perCall(bare));
  on.push(perCall(hub));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`frame path, one message in + one out + handled: no observer ${median(off).toFixed(1)} ns, metrics on ${median(on).toFixed(1)} ns (median of ${ROUNDS} x ${N})`);

for (let id = 2; id < 10_002; id++) {
  hub.connectionStarted({ id, route: id % 2 === 0 ? "/a" : "/b", url: "/a", client: { host: "127.0.0.1", port: id }, startedAt: Date.now() });
  hub.transition(id, "connecting", "accept", "open");
}
const scrapes: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const start = process.hrtime.bigint();
  await plugin.render();
  scrapes.push(Number(process.hrtime.bigint() - start) / 1e6);
}
console.log(`scrape with 10 000 live connections: ${median(scrapes).toFixed(2)} ms (median of ${ROUNDS})`);
