/**
 * Fan-out: how long until the last of N subscribers has a published message, for the memory
 * backend and the two Redis backends; and how many times the message was serialized.
 *
 *   node --import tsx bench/fanout.ts                      # N = 1,000 and 10,000; 5 rounds each
 *   node --import tsx bench/fanout.ts --sizes=1000 --rounds=3 --backends=memory
 *   REDIS_URL=redis://127.0.0.1:6379 node --import tsx bench/fanout.ts
 *
 * Each subscriber is a WebSocket connection (in-memory transport, in this process, so the
 * number measures the server side only) that joined the room through `socket.join`. A round
 * publishes one JSON message whose `toJSON` counts its calls, and waits until every client has
 * received it (one warm-up round first, not counted). Redis is 127.0.0.1 only and skipped when it does not answer; every key this
 * script writes is under a fresh prefix and deleted at the end. Bounded: each round gives up
 * after 60 s.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import {
  type ChannelBackend,
  createApp,
  createChannels,
  memoryBackend,
  websocket,
} from "../src/index.js";
import { redisPubSubBackend, redisStreamsBackend } from "../src/redis.js";
import { testClient, type TestSocket } from "../src/testing/index.js";

const args = new Map(
  process.argv.slice(2).flatMap((arg) => {
    const match = /^--([\w-]+)=(.*)$/.exec(arg);
    return match === null ? [] : [[match[1]!, match[2]!] as const];
  }),
);
const sizes = (args.get("sizes") ?? "1000,10000").split(",").map(Number);
const rounds = Number(args.get("rounds") ?? 5);
const backends = (args.get("backends") ?? "memory,redis-pubsub,redis-streams").split(",");
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
if (!/^redis:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/\d+)?$/.test(redisUrl)) throw new Error("REDIS_URL must point at 127.0.0.1");
const prefix = `statewire-bench:${randomUUID()}:`;

async function redisAnswers(): Promise<boolean> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on("error", () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

function makeBackend(kind: string): ChannelBackend {
  if (kind === "memory") return memoryBackend();
  if (kind === "redis-pubsub") return redisPubSubBackend({ url: redisUrl, keyPrefix: prefix });
  if (kind === "redis-streams") return redisStreamsBackend({ url: redisUrl, keyPrefix: prefix });
  throw new Error(`Unknown backend ${kind}`);
}

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

interface Row {
  backend: string;
  subscribers: number;
  medianMs: number;
  maxMs: number;
  serializationsPerPublish: number;
}

async function measure(kind: string, subscribers: number): Promise<Row> {
  const channels = createChannels({ backend: makeBackend(kind), history: 0, backlog: { max: 16, strategy: "drop-oldest" } });
  const app = createApp({
    plugins: [channels],
    heartbeat: false,
    routes: [
      websocket(
        "/member",
        async (socket) => {
          await socket.accept();
          await socket.join("room");
          await socket.sendText("joined");
          for await (const _ of socket);
        },
        { socketClass: channels.socketClass },
      ),
    ],
  });
  const client = testClient(app, { receiveTimeoutMs: 60_000 });
  try {
    const sockets: TestSocket[] = [];
    for (let i = 0; i < subscribers; i += 500) {
      const batch = await Promise.all(Array.from({ length: Math.min(500, subscribers - i) }, () => client.connect("/member")));
      await Promise.all(batch.map((socket) => socket.receiveText()));
      sockets.push(...batch);
    }
    let serializations = 0;
    const times: number[] = [];
    // Round -1 warms the code paths up and is not counted.
    for (let round = -1; round < rounds; round++) {
      const message = {
        round,
        toJSON() {
          serializations++;
          return { round, text: "fan-out" };
        },
      };
      const started = process.hrtime.bigint();
      const received = Promise.all(sockets.map((socket) => socket.receiveText()));
      await channels.publish(message, "room");
      const texts = await withTimeout(received, 60_000, `${kind} round ${round}`);
      if (round >= 0) times.push(Number(process.hrtime.bigint() - started) / 1e6);
      if (texts.some((text) => text !== texts[0])) throw new Error("subscribers received different texts");
    }
    times.sort((a, b) => a - b);
    return {
      backend: kind,
      subscribers,
      medianMs: percentile(times, 0.5),
      maxMs: times[times.length - 1]!,
      serializationsPerPublish: serializations / (rounds + 1),
    };
  } finally {
    await client.close();
    await app.close({ timeoutMs: 5000 });
  }
}

async function cleanUp(): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

const haveRedis = backends.some((kind) => kind.startsWith("redis")) && (await redisAnswers());
const rows: Row[] = [];
for (const kind of backends) {
  if (kind.startsWith("redis") && !haveRedis) {
    console.log(`${kind}: skipped (no Redis answers at ${redisUrl})`);
    continue;
  }
  for (const size of sizes) {
    const row = await measure(kind, size);
    rows.push(row);
    console.log(
      `${row.backend.padEnd(14)} ${String(row.subscribers).padStart(6)} subscribers: last one has the message after ` +
        `${row.medianMs.toFixed(2)} ms (median of ${rounds}), ${row.maxMs.toFixed(2)} ms max; ${row.serializationsPerPublish} serialization(s) per publish`,
    );
  }
}
if (haveRedis) await cleanUp();
console.log(JSON.stringify({ benchmark: "fanout", node: process.version, rounds, rows }));
