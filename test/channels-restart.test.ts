/**
 * A Redis restart costs the application nothing: a private redis-server (spawned by this test
 * on a free 127.0.0.1 port) is killed with SIGKILL and started again on the same port, and
 * every subscription — plain subscriptions and a room member's socket — receives again without
 * the application doing anything.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  type Channels,
  createApp,
  createChannels,
  type Logger,
  type Subscription,
  websocket,
} from "../src/index.js";
import { redisPubSubBackend, redisStreamsBackend } from "../src/redis.js";
import { testClient } from "../src/testing/index.js";
import { type RedisServer, startRedisServer } from "./support/redis-server.js";
import { REDIS_SERVER, skipWithout } from "./support/system-tools.js";

const noRedis = await skipWithout(REDIS_SERVER, "the Redis backends across a Redis restart", import.meta.url);

const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

/** Read with a timeout, keeping the pending read across calls (a subscription has one consumer). */
function reader(subscription: Subscription): (timeoutMs: number) => Promise<string | undefined> {
  let pending: Promise<IteratorResult<unknown>> | undefined;
  return async (timeoutMs) => {
    pending ??= subscription.next();
    const result = await Promise.race([pending, sleep(timeoutMs).then(() => undefined)]);
    if (result === undefined) return undefined;
    pending = undefined;
    return result.done === true ? undefined : String(result.value);
  };
}

describe.skipIf(noRedis).each(["pubsub", "streams"] as const)("Redis %s backend across a Redis restart", (kind) => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis.stop();
  });

  test("every subscription is restored and messages published after the restart arrive in order", async () => {
    const backend = (): ReturnType<typeof redisPubSubBackend> =>
      kind === "pubsub" ? redisPubSubBackend({ url: redis.url, keyPrefix: "restart:" }) : redisStreamsBackend({ url: redis.url, keyPrefix: "restart:" });
    const publisher: Channels = createChannels({ backend: backend(), history: 10 });
    const receiver: Channels = createChannels({ backend: backend(), history: 10 });
    const app = createApp({
      logger: quiet,
      plugins: [receiver],
      routes: [
        websocket(
          "/room",
          async (socket) => {
            await socket.accept();
            await socket.join("r");
            await socket.sendText("joined");
            for await (const _ of socket);
          },
          { socketClass: receiver.socketClass },
        ),
      ],
    });
    const client = testClient(app, { receiveTimeoutMs: 15_000 });
    try {
      const subscription = receiver.subscribe("r");
      await subscription.ready;
      const next = reader(subscription);
      const member = await client.connect("/room");
      expect(await member.receiveText()).toBe("joined");
      await publisher.publish("before", "r");
      expect(await next(5000)).toBe("before");
      expect(await member.receiveText()).toBe("before");

      await redis.kill();
      await sleep(300);
      await redis.start();

      // Until the receiver has resubscribed, pub/sub loses what is published (that is pub/sub);
      // probe until one probe arrives. No call on the receiver's side: it recovers by itself.
      const deadline = Date.now() + 15_000;
      let first: string | undefined;
      for (let probe = 0; first === undefined; probe++) {
        if (Date.now() > deadline) throw new Error("no message arrived within 15 s of the restart");
        await publisher.publish(`probe ${probe}`, "r");
        first = await next(250);
      }
      expect(first).toMatch(/^probe \d+$/);
      // The streams reader resumes from the last id it saw: the first probe published after the restart is not lost.
      if (kind === "streams") expect(first).toBe("probe 0");

      // From now on nothing is lost, and the order is the publish order.
      const after = Array.from({ length: 50 }, (_, i) => `after ${i}`);
      for (const text of after) void publisher.publish(text, "r");
      const got: string[] = [];
      while (got.length < after.length) {
        const message = await next(5000);
        if (message === undefined) throw new Error(`only ${got.length} messages after the restart: ${JSON.stringify(got.slice(-3))}`);
        if (!message.startsWith("probe")) got.push(message);
      }
      expect(got).toEqual(after);

      // The socket's subscription came back too.
      const memberGot: string[] = [];
      while (memberGot.length < after.length) {
        const text = await member.receiveText();
        if (!text.startsWith("probe")) memberGot.push(text);
      }
      expect(memberGot).toEqual(after);
      expect(await publisher.history("r", 3)).toEqual(["after 47", "after 48", "after 49"]);
    } finally {
      await client.close();
      await app.close({ timeoutMs: 2000 });
      await publisher.close();
    }
  }, 60_000);
});
