/**
 * Redis down is visible, never silent: with a private redis-server killed (SIGKILL), a publish
 * and a history read reject with `BackendUnavailableError` within `publishTimeoutMs`, a client
 * whose message publishes gets close 1011 instead of silence, the app's logger gets one error
 * for the outage, and `app.stats().health` (and the inspector's feed) says the channels backend
 * is down — then up again, logged, once Redis is back. Joining a room and subscribing reject in
 * the same bounded time, leaving the connection in no room. Both Redis backends.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  BackendUnavailableError,
  createApp,
  createChannels,
  type Logger,
  type Subscription,
  websocketListener,
} from "../src/index.js";
import { redisPubSubBackend, redisStreamsBackend } from "../src/redis.js";
import type { FeedMessage } from "../src/inspector/protocol.js";
import { createInspector } from "../src/inspector/index.js";
import { testClient } from "../src/testing/index.js";
import { type RedisServer, startRedisServer } from "./support/redis-server.js";

interface Line {
  readonly level: "error" | "warn";
  readonly fields: Record<string, unknown>;
  readonly message: string | undefined;
}

function recordingLogger(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const logger: Logger = {
    error: (fields, message) => void lines.push({ level: "error", fields, message }),
    warn: (fields, message) => void lines.push({ level: "warn", fields, message }),
    info: () => {},
    debug: () => {},
  };
  return { logger, lines };
}

const TIMEOUT = 400;

describe.each(["redis-pubsub", "redis-streams"] as const)("%s backend with Redis down", (kind) => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis.stop();
  });

  test("publish and history reject in bounded time, the logger hears of it once, stats and inspector say down, then up", async () => {
    const options = { url: redis.url, keyPrefix: `down-${kind}:`, publishTimeoutMs: TIMEOUT, maxReconnectDelayMs: 100 };
    const channels = createChannels({ backend: kind === "redis-pubsub" ? redisPubSubBackend(options) : redisStreamsBackend(options), history: 10 });
    const { logger, lines } = recordingLogger();
    const app = createApp({
      logger,
      heartbeat: false,
      plugins: [channels, createInspector({ intervalMs: 20 })],
      routes: [websocketListener("/say", (text) => channels.publish(text, "room").then(() => "sent"))],
    });
    const client = testClient(app, { receiveTimeoutMs: 10_000 });
    try {
      await expect.poll(() => app.stats().health.status, { timeout: 5000 }).toBe("up");
      expect(app.stats().health.plugins.channels).toMatchObject({ status: "up", backend: kind });
      await channels.publish("before", "room");
      const feed = await client.connect("/_statewire/feed");

      await redis.kill();
      await expect.poll(() => app.stats().health.status, { timeout: 5000 }).toBe("down");
      expect(app.stats().health.plugins.channels).toMatchObject({ status: "down", backend: kind, error: expect.stringMatching(/ECONNREFUSED|closed/) });

      const started = Date.now();
      const refused = await channels.publish("lost", "room").catch((error: unknown) => error);
      const elapsed = Date.now() - started;
      expect(refused).toBeInstanceOf(BackendUnavailableError);
      expect((refused as BackendUnavailableError).message).toMatch(new RegExp(`^Cannot publish: the ${kind} channels backend did not answer within ${TIMEOUT} ms`));
      expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT - 20);
      expect(elapsed).toBeLessThan(TIMEOUT + 3000);
      await expect(channels.history("room")).rejects.toBeInstanceOf(BackendUnavailableError);

      // A client whose message publishes is told: close 1011, not silence.
      const say = await client.connect("/say");
      say.sendText("hello?");
      expect((await say.closed).code).toBe(1011);

      await expect.poll(() => lines.filter((line) => line.level === "error" && /cannot reach Redis/.test(line.message ?? "")).length, { timeout: 5000 }).toBe(1);
      expect(lines.find((line) => /cannot reach Redis/.test(line.message ?? ""))?.fields).toMatchObject({ backend: kind });

      // The inspector's feed carries the app's health.
      for (;;) {
        const message = (await feed.receiveJson()) as FeedMessage;
        if (message.type === "update" && message.health?.status === "down") {
          expect(message.health.plugins.channels).toMatchObject({ status: "down", backend: kind });
          break;
        }
      }

      await redis.start();
      await expect.poll(() => app.stats().health.status, { timeout: 10_000 }).toBe("up");
      await channels.publish("after", "room");
      expect(await channels.history("room", 10)).toContain("after");
      expect(lines.filter((line) => line.level === "warn" && /reached Redis again/.test(line.message ?? ""))).toHaveLength(1);
      // Exactly one error line for the whole outage, however many reconnection attempts failed.
      expect(lines.filter((line) => /cannot reach Redis/.test(line.message ?? ""))).toHaveLength(1);
      await feed.close();
    } finally {
      await client.close();
      await app.close({ timeoutMs: 2000 });
    }
  }, 60_000);

  test("join and subscribe while Redis is down reject in bounded time and leave nothing behind; both work once it is back", async () => {
    const options = { url: redis.url, keyPrefix: `join-${kind}:`, publishTimeoutMs: TIMEOUT, maxReconnectDelayMs: 100 };
    const channels = createChannels({ backend: kind === "redis-pubsub" ? redisPubSubBackend(options) : redisStreamsBackend(options) });
    const app = createApp({
      heartbeat: false,
      plugins: [channels],
      routes: [
        websocketListener("/join", async (_text, { socket }) => {
          try {
            await channels.join(socket, "room");
            return "joined";
          } catch (error) {
            // What the handler sees, and whether the connection stayed in the room anyway.
            return `${(error as Error).name} ${(error as Error).message} | rooms: ${channels.rooms(socket).join(",")}`;
          }
        }),
      ],
    });
    const client = testClient(app, { receiveTimeoutMs: 10_000 });
    try {
      await expect.poll(() => app.stats().health.status, { timeout: 5000 }).toBe("up");
      const member = await client.connect("/join");
      await redis.kill();
      await expect.poll(() => app.stats().health.status, { timeout: 5000 }).toBe("down");

      const started = Date.now();
      member.sendText("join");
      const refused = await member.receiveText();
      expect(Date.now() - started).toBeLessThan(TIMEOUT + 3000);
      expect(refused).toMatch(new RegExp(`^BackendUnavailableError Cannot subscribe: the ${kind} channels backend did not answer within ${TIMEOUT} ms.* \\| rooms: $`));

      const subscription: Subscription = channels.subscribe("room");
      await expect(subscription.ready).rejects.toBeInstanceOf(BackendUnavailableError);
      await expect(subscription[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(BackendUnavailableError);

      await redis.start();
      await expect.poll(() => app.stats().health.status, { timeout: 10_000 }).toBe("up");
      member.sendText("join");
      expect(await member.receiveText()).toBe("joined");
      await channels.publish("after the outage", "room");
      expect(await member.receiveText()).toBe("after the outage");
      await member.close();
    } finally {
      await client.close();
      await app.close({ timeoutMs: 2000 });
    }
  }, 60_000);

  test("a Redis that stops answering (SIGSTOP, connections open) fails publishes in bounded time and reads as down", async () => {
    const options = { url: redis.url, keyPrefix: `hung-${kind}:`, publishTimeoutMs: TIMEOUT };
    const channels = createChannels({ backend: kind === "redis-pubsub" ? redisPubSubBackend(options) : redisStreamsBackend(options), history: 10 });
    const { logger, lines } = recordingLogger();
    const app = createApp({ logger, heartbeat: false, plugins: [channels], routes: [] });
    try {
      await expect.poll(() => app.stats().health.status, { timeout: 5000 }).toBe("up");
      await channels.publish("before", "room");
      redis.pause();
      try {
        const started = Date.now();
        await expect(channels.publish("unanswered", "room")).rejects.toBeInstanceOf(BackendUnavailableError);
        expect(Date.now() - started).toBeLessThan(TIMEOUT + 3000);
        expect(app.stats().health).toMatchObject({ status: "down", plugins: { channels: { status: "down", error: `Redis did not answer within ${TIMEOUT} ms` } } });
        expect(lines.filter((line) => line.level === "error" && /cannot reach Redis/.test(line.message ?? ""))).toHaveLength(1);
      } finally {
        redis.resume();
      }
      await channels.publish("after", "room");
      expect(app.stats().health.status).toBe("up");
    } finally {
      await app.close({ timeoutMs: 2000 });
    }
  }, 30_000);

  test("unreachable from the start: listen() succeeds, but health says down and publish rejects", async () => {
    await redis.kill();
    try {
      const options = { url: redis.url, keyPrefix: `never-${kind}:`, publishTimeoutMs: TIMEOUT };
      const channels = createChannels({ backend: kind === "redis-pubsub" ? redisPubSubBackend(options) : redisStreamsBackend(options) });
      const { logger, lines } = recordingLogger();
      const app = createApp({ logger, heartbeat: false, plugins: [channels], routes: [] });
      await app.listen({ port: 0, host: "127.0.0.1" });
      try {
        expect(app.stats().health.status).toBe("down");
        await expect(channels.publish("x", "room")).rejects.toBeInstanceOf(BackendUnavailableError);
        await expect.poll(() => lines.some((line) => line.level === "error" && /cannot reach Redis/.test(line.message ?? "")), { timeout: 5000 }).toBe(true);
      } finally {
        await app.close({ timeoutMs: 2000 });
      }
    } finally {
      await redis.start();
    }
  }, 30_000);
});
