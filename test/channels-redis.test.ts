/**
 * The Redis backends against a real Redis (127.0.0.1:6379, or a private redis-server when that
 * one does not answer). Two channels instances on separate connections play two processes.
 * Each test uses its own key prefix and deletes its keys afterwards.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import {
  type App,
  type ChannelBackend,
  type Channels,
  createApp,
  createChannels,
  type Logger,
  type Subscription,
  websocket,
} from "../src/index.js";
import { redisPubSubBackend, redisStreamsBackend } from "../src/redis.js";
import { testClient } from "../src/testing/index.js";
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from "./support/redis-server.js";
import { REDIS, skipWithout } from "./support/system-tools.js";

const noRedis = await skipWithout(REDIS, "the Redis backends", import.meta.url);

const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

type Kind = "pubsub" | "streams";

function backendOf(kind: Kind, url: string, keyPrefix: string, extra: { expireAfterMs?: number } = {}): ChannelBackend {
  return kind === "pubsub" ? redisPubSubBackend({ url, keyPrefix }) : redisStreamsBackend({ url, keyPrefix, ...extra });
}

async function take(subscription: Subscription, n: number, timeoutMs = 10_000): Promise<string[]> {
  const out: string[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < n) {
    const next = await Promise.race([subscription.next(), sleep(Math.max(1, deadline - Date.now())).then(() => "timeout" as const)]);
    if (next === "timeout") throw new Error(`Received ${out.length} of ${n} messages: ${JSON.stringify(out.slice(-5))}`);
    if (next.done === true) throw new Error(`Subscription ended after ${out.length} of ${n} messages`);
    out.push(typeof next.value === "string" ? next.value : `bytes:${[...next.value].join(",")}`);
  }
  return out;
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe.skipIf(noRedis).each(["pubsub", "streams"] as const)("Redis %s backend", (kind) => {
  let url: string;
  let prefix: string;
  const open: Channels[] = [];
  const make = (options: { history?: number; expireAfterMs?: number; keyPrefix?: string } = {}): Channels => {
    const channels = createChannels({
      backend: backendOf(kind, url, options.keyPrefix ?? prefix, options.expireAfterMs === undefined ? {} : { expireAfterMs: options.expireAfterMs }),
      history: options.history ?? 100,
      backlog: { max: 10_000, strategy: "disconnect" },
    });
    open.push(channels);
    return channels;
  };

  beforeAll(async () => {
    url = await redisUrl();
  });
  afterEach(async () => {
    for (const channels of open.splice(0)) await channels.close();
    await deleteKeys(url, prefix);
  });
  beforeAll(() => {
    prefix = uniquePrefix(`channels-${kind}`);
  });
  afterAll(async () => {
    await deleteKeys(url, prefix);
  });

  test("one process publishes, another receives every message, in publish order; text, JSON and bytes", async () => {
    const a = make();
    const b = make();
    const remote = b.subscribe("orders");
    const local = a.subscribe("orders");
    await Promise.all([remote.ready, local.ready]);
    // Not awaited one by one: order must hold for a burst too.
    const sent = Array.from({ length: 300 }, (_, i) => `m${i}`);
    await Promise.all(sent.map((text) => a.publish(text, "orders")));
    await a.publish({ json: true }, "orders");
    await a.publish(Buffer.from([0, 255, 10, 32]), "orders");
    const expected = [...sent, '{"json":true}', "bytes:0,255,10,32"];
    expect(await take(remote, expected.length)).toEqual(expected);
    expect(await take(local, expected.length)).toEqual(expected);
  });

  test("two publishers at once: each publisher's messages arrive in its order", async () => {
    const a1 = make();
    const a2 = make();
    const b = make();
    const sub = b.subscribe("mixed");
    await sub.ready;
    await Promise.all([
      Promise.all(Array.from({ length: 150 }, (_, i) => a1.publish(`x${i}`, "mixed"))),
      Promise.all(Array.from({ length: 150 }, (_, i) => a2.publish(`y${i}`, "mixed"))),
    ]);
    const got = await take(sub, 300);
    expect(got.filter((m) => m.startsWith("x"))).toEqual(Array.from({ length: 150 }, (_, i) => `x${i}`));
    expect(got.filter((m) => m.startsWith("y"))).toEqual(Array.from({ length: 150 }, (_, i) => `y${i}`));
  });

  test("history: the last N, oldest first, the same from every process, bounded by count, no expiry", async () => {
    const a = make({ history: 5 });
    const b = make({ history: 5 });
    for (let i = 0; i < 12; i++) await a.publish(`h${i}`, ["log", "other"]);
    const expected = ["h7", "h8", "h9", "h10", "h11"];
    expect(await a.history("log", 5)).toEqual(expected);
    expect(await b.history("log", 5)).toEqual(expected);
    expect(await b.history("log", 50)).toEqual(expected);
    expect(await b.history("log", 2)).toEqual(["h10", "h11"]);
    expect(await b.history("other", 1)).toEqual(["h11"]);
    expect(await b.history("nothing-here", 3)).toEqual([]);
    const redis = redisClient(url);
    try {
      const key = kind === "streams" ? `${prefix}s:log` : `${prefix}h:log`;
      expect(await redis.ttl(key)).toBe(-1);
      if (kind === "pubsub") expect(await redis.llen(key)).toBe(5);
    } finally {
      redis.disconnect();
    }
  });

  test("subscribe with history: the last N then live, without gap or duplicate while another process publishes", async () => {
    const a = make({ history: 2000 });
    const b = make({ history: 2000 });
    const total = 1500;
    let n = 0;
    const publisher = (async () => {
      for (; n < total; n++) {
        void a.publish(String(n), "seam");
        if (n % 25 === 0) await sleep(1);
      }
    })();
    await until(() => n >= 300, "the publisher to be under way");
    const sub = b.subscribe("seam", { history: 2000 });
    await publisher;
    const got = (await take(sub, total)).map(Number);
    expect(got).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  test("rooms across processes: broadcast with except skips only that sender's socket", async () => {
    const a = make();
    const b = make();
    const apps: App[] = [a, b].map((channels) =>
      createApp({
        logger: quiet,
        plugins: [channels],
        routes: [
          websocket(
            "/room",
            async (socket) => {
              await socket.accept();
              await socket.join("hall");
              await socket.sendText(`id ${socket.id}`);
              for await (const message of socket) await socket.broadcast("hall", message);
            },
            { socketClass: channels.socketClass },
          ),
        ],
      }),
    );
    const [clientA, clientB] = apps.map((app) => testClient(app));
    try {
      const sender = await clientA!.connect("/room");
      const neighbour = await clientA!.connect("/room");
      const remote = await clientB!.connect("/room");
      for (const socket of [sender, neighbour, remote]) expect(await socket.receiveText()).toMatch(/^id \d+$/);
      sender.sendText("hello all but me");
      expect(await neighbour.receiveText()).toBe("hello all but me");
      expect(await remote.receiveText()).toBe("hello all but me");
      await sleep(100);
      expect(sender.pending).toBe(0);
    } finally {
      await clientA!.close();
      await clientB!.close();
      for (const app of apps) await app.close({ timeoutMs: 1000 });
    }
  });

  test("the last local subscriber leaving stops listening", async () => {
    const a = make();
    const sub1 = a.subscribe("quiet");
    const sub2 = a.subscribe("quiet");
    await Promise.all([sub1.ready, sub2.ready]);
    expect(a.stats()).toMatchObject({ subscriptions: 2, channels: 1 });
    sub1.unsubscribe();
    sub2.unsubscribe();
    expect(a.stats()).toMatchObject({ subscriptions: 0, channels: 0 });
    if (kind === "pubsub") {
      const redis = redisClient(url);
      try {
        await until(async () => {
          const reply = (await redis.call("PUBSUB", "NUMSUB", `${prefix}ch:quiet`)) as [string, number];
          return Number(reply[1]) === 0;
        }, "the Redis subscription to go");
      } finally {
        redis.disconnect();
      }
    }
    // A later subscriber still gets live messages.
    const sub3 = a.subscribe("quiet");
    await sub3.ready;
    await a.publish("again", "quiet");
    expect(await take(sub3, 1)).toEqual(["again"]);
  });
});

describe.skipIf(noRedis)("Redis streams backend specifics", () => {
  let url: string;
  const prefix = uniquePrefix("channels-streams-specifics");
  beforeAll(async () => {
    url = await redisUrl();
  });
  afterAll(async () => {
    await deleteKeys(url, prefix);
  });

  test("history outlives the process that wrote it; the stream is bounded by MAXLEN ~; no TTL unless configured", async () => {
    const writer = createChannels({ backend: redisStreamsBackend({ url, keyPrefix: prefix, maxLen: 10 }), history: 10 });
    for (let i = 0; i < 1000; i++) void writer.publish(`w${i}`, "durable");
    await writer.publish("last", "durable");
    await writer.close();
    // A new process (here: a new instance with new connections) sees the same history.
    const reader = createChannels({ backend: redisStreamsBackend({ url, keyPrefix: prefix }), history: 10 });
    const expected = [...Array.from({ length: 9 }, (_, i) => `w${991 + i}`), "last"];
    expect(await reader.history("durable", 10)).toEqual(expected);
    const live = reader.subscribe("durable", { history: 3 });
    expect(await take(live, 3)).toEqual(["w998", "w999", "last"]);
    await reader.close();

    const redis = redisClient(url);
    try {
      const length = await redis.xlen(`${prefix}s:durable`);
      expect(length).toBeGreaterThanOrEqual(10);
      expect(length).toBeLessThan(300); // approximate trimming keeps whole nodes (100 entries each by default)
      expect(await redis.ttl(`${prefix}s:durable`)).toBe(-1);
    } finally {
      redis.disconnect();
    }

    const expiring = createChannels({ backend: redisStreamsBackend({ url, keyPrefix: prefix, expireAfterMs: 60_000 }) });
    await expiring.publish("soon gone", "ephemeral");
    await expiring.close();
    const check = redisClient(url);
    try {
      const ttl = await check.pttl(`${prefix}s:ephemeral`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
    } finally {
      check.disconnect();
    }
  });

  test("channels added while the reader is blocked are picked up at once", async () => {
    const a = createChannels({ backend: redisStreamsBackend({ url, keyPrefix: prefix, blockMs: 30_000 }) });
    const b = createChannels({ backend: redisStreamsBackend({ url, keyPrefix: prefix, blockMs: 30_000 }) });
    try {
      const first = b.subscribe("first");
      await first.ready;
      await sleep(50); // the reader is now blocked on "first" for up to 30 s
      const second = b.subscribe("second");
      await second.ready;
      const started = Date.now();
      await a.publish("to second", "second");
      expect(await take(second, 1, 5000)).toEqual(["to second"]);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
