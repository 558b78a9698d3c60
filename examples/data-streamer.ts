/**
 * A background producer with the app's lifecycle (Nexios' data streamer): started by
 * `onStartup`, it publishes a reading per topic every `TICK_MS`; clients subscribe to a topic at
 * `/stream/:topic`; `onShutdown` stops it once every connection has closed.
 * `PORT=8000 node --conditions=statewire-source --import tsx examples/data-streamer.ts`
 */
import { createApp, get, websocketStream } from "statewire";
import { isMain, serve } from "./serve.js";

const TICK_MS = Number(process.env.TICK_MS ?? 100);
const topics = ["temperature", "humidity", "pressure"] as const;
/** Readings kept for one subscriber that has not taken them yet. */
const MAX_QUEUED = 100;

/** Who listens to what: one queue per subscriber, fed by the producer. */
const subscribers = new Map<string, Set<(reading: Reading) => void>>();
interface Reading {
  readonly topic: string;
  readonly seq: number;
  readonly value: number;
}

export const producer = { running: false, ticks: 0, timer: undefined as NodeJS.Timeout | undefined };

export function startProducer(): void {
  producer.running = true;
  producer.timer = setInterval(() => {
    producer.ticks++;
    for (const topic of topics) {
      const reading = { topic, seq: producer.ticks, value: Math.round(Math.sin(producer.ticks / 10) * 1000) / 100 };
      for (const deliver of subscribers.get(topic) ?? []) deliver(reading);
    }
  }, TICK_MS);
}

export function stopProducer(): void {
  clearInterval(producer.timer);
  producer.timer = undefined;
  producer.running = false;
}

/** Each subscriber gets the readings of its topic, for as long as it stays. */
export const stream = websocketStream("/stream/:topic", {
  accept: ({ params, socket }) => {
    if (!(topics as readonly string[]).includes(params.topic)) void socket.close(1008, "Unknown topic");
    return {};
  },
  stream: async function* ({ params, signal }) {
    const queue: Reading[] = [];
    let wake: (() => void) | undefined;
    const deliver = (reading: Reading): void => {
      // A subscriber that reads slower than the producer ticks loses its oldest readings, not server memory.
      if (queue.push(reading) > MAX_QUEUED) queue.shift();
      wake?.();
    };
    const set = subscribers.get(params.topic) ?? new Set();
    subscribers.set(params.topic, set);
    set.add(deliver);
    try {
      while (!signal.aborted) {
        const next = queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          signal.addEventListener("abort", () => resolve(), { once: true });
        });
      }
    } finally {
      set.delete(deliver);
    }
  },
});

export const producerStatus = get("/producer", () => ({ running: producer.running, ticks: producer.ticks }));

export const app = createApp({
  onStartup: startProducer,
  onShutdown: stopProducer,
  routes: [stream, producerStatus],
});

if (isMain(import.meta.url)) await serve(app);
