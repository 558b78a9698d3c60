/**
 * Channels on the memory backend, driven over the memory and the TCP transports:
 * publish / subscribe, ready-made routes, rooms (`join`, `leave`, `broadcast` with `except`),
 * history and replay, undeclared channels, backlog strategies, subscriptions that end with
 * their connection, and one serialization per publish for 10,000 subscribers.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  type App,
  BacklogOverflowError,
  type BackendSink,
  type ChannelBackend,
  type ChannelMessage,
  type Channels,
  ChannelsClosedError,
  createApp,
  createChannels,
  type Logger,
  memoryBackend,
  UnknownChannelError,
  websocket,
  websocketListener,
  websocketStream,
} from "../src/index.js";
import { testClient, type TestSocket } from "../src/testing/index.js";

const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

/** Poll `check` until true (bounded). */
async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(2);
  }
}

/** Read `n` text messages. */
async function texts(socket: TestSocket, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await socket.receiveText());
  return out;
}

interface Reports {
  subscribed: string[];
  unsubscribed: string[];
}

function buildApp(channels: Channels, reports: Reports): App {
  const app = createApp({
    logger: quiet,
    plugins: [channels],
    routes: [
      // Rooms: join on connect, then each message is a command or published to the room.
      websocket("/rooms/:room", async (socket) => {
        await socket.accept();
        await socket.join(socket.params.room, { history: Number(socket.query.history ?? 0) });
        await socket.sendText("joined");
        for await (const message of socket) {
          if (typeof message !== "string") continue;
          if (message === "leave") {
            socket.leave(socket.params.room);
            await socket.sendText("left");
          } else if (message.startsWith("join:")) {
            await socket.join(message.slice(5));
            await socket.sendText(`joined ${message.slice(5)}`);
          } else if (message === "rooms") {
            await socket.sendText(socket.rooms.join(","));
          } else if (message.startsWith("others:")) {
            await socket.broadcast(socket.params.room, message.slice(7));
          } else {
            await channels.publish(message, socket.params.room);
          }
        }
      }, { socketClass: channels.socketClass }),
      // A subscription bound to its connection, in a stream handler.
      websocketStream("/feed/:topic", {
        closeOnEnd: false,
        stream: ({ socket, params }) => channels.subscribe([params.topic], { socket }),
      }),
      // `channels.join(socket, …)` works whatever the socket class.
      websocketListener("/plain/:room", {
        onAccept: ({ socket, params }) => channels.join(socket, params.room),
        handler: (text, { params }) => channels.broadcast(params.room, text),
      }),
    ],
  });
  app.observe({
    subscribed: (_id, channel) => void reports.subscribed.push(channel),
    unsubscribed: (_id, channel) => void reports.unsubscribed.push(channel),
  });
  return app;
}

describe.each(["memory", "tcp"] as const)("channels over %s", (transport) => {
  const reports: Reports = { subscribed: [], unsubscribed: [] };
  let channels: Channels;
  let app: App;
  let client: ReturnType<typeof testClient>;

  beforeAll(() => {
    channels = createChannels({ history: 10, routes: { history: 3 } });
    app = buildApp(channels, reports);
    client = testClient(app, { transport });
  });
  afterAll(async () => {
    await client.close();
    await app.close({ timeoutMs: 2000 });
  });

  test("the ready-made route streams a channel: text, JSON and bytes, each as published", async () => {
    const ws = await client.connect("/ws/news");
    await until(() => channels.stats().subscriptions === 1, "the route's subscription");
    await channels.publish("plain text", "news");
    await channels.publish({ headline: "json", n: 1 }, ["news"]);
    await channels.publish(Uint8Array.of(1, 2, 3), "news");
    expect(await ws.receiveText()).toBe("plain text");
    expect(await ws.receiveJson()).toEqual({ headline: "json", n: 1 });
    expect([...(await ws.receiveBytes())]).toEqual([1, 2, 3]);
    await ws.close();
    await until(() => channels.stats().subscriptions === 0, "the subscription to end with its connection");
  });

  test("the route replays the last messages before live ones, in order", async () => {
    for (let i = 1; i <= 5; i++) await channels.publish(`old ${i}`, "replayed");
    const ws = await client.connect("/ws/replayed");
    expect(await texts(ws, 3)).toEqual(["old 3", "old 4", "old 5"]);
    await until(() => channels.stats().subscriptions === 1, "the route's subscription");
    await channels.publish("live", "replayed");
    expect(await ws.receiveText()).toBe("live");
    await ws.close();
  });

  test("rooms: every member receives each message, the sender included, in publish order", async () => {
    const a = await client.connect("/rooms/lobby");
    const b = await client.connect("/rooms/lobby");
    expect(await a.receiveText()).toBe("joined");
    expect(await b.receiveText()).toBe("joined");
    for (let i = 0; i < 20; i++) a.sendText(`a${i}`);
    const expected = Array.from({ length: 20 }, (_, i) => `a${i}`);
    expect(await texts(a, 20)).toEqual(expected);
    expect(await texts(b, 20)).toEqual(expected);
    await a.close();
    await b.close();
  });

  test("broadcast with except skips the sender; leave stops delivery; rooms lists them", async () => {
    const a = await client.connect("/rooms/hall");
    const b = await client.connect("/rooms/hall");
    await a.receiveText();
    await b.receiveText();
    a.sendText("others:only for b");
    expect(await b.receiveText()).toBe("only for b");
    a.sendText("join:side");
    expect(await a.receiveText()).toBe("joined side");
    a.sendText("rooms");
    expect(await a.receiveText()).toBe("hall,side");
    b.sendText("leave");
    expect(await b.receiveText()).toBe("left");
    a.sendText("after leave");
    // a gets its own message and nothing from the broadcast before it; b gets nothing.
    expect(await a.receiveText()).toBe("after leave");
    await sleep(30);
    expect(b.pending).toBe(0);
    await channels.publish("to side", "side");
    expect(await a.receiveText()).toBe("to side");
    await a.close();
    await b.close();
  });

  test("channels.join works on any socket class; broadcast from a listener reaches the others", async () => {
    const a = await client.connect("/plain/den");
    const b = await client.connect("/plain/den");
    await until(() => channels.stats().subscriptions >= 2, "both joined");
    a.sendText("hello den");
    expect(await b.receiveText()).toBe("hello den");
    expect(await a.receiveText()).toBe("hello den");
    await a.close();
    await b.close();
  });

  test("a subscription bound to its connection ends when the connection closes, and each is reported once", async () => {
    const before = { subscribed: reports.subscribed.length, unsubscribed: reports.unsubscribed.length };
    const sockets = await Promise.all([client.connect("/feed/t1"), client.connect("/rooms/r1"), client.connect("/rooms/r1")]);
    await sockets[1]!.receiveText();
    await sockets[2]!.receiveText();
    await until(() => channels.stats().subscriptions === 3, "three subscriptions");
    await sockets[0]!.close();
    await sockets[1]!.abort();
    await sockets[2]!.close(4000, "bye");
    await until(() => channels.stats().subscriptions === 0, "every subscription to end");
    await until(() => reports.unsubscribed.length - before.unsubscribed === 3, "three unsubscriptions reported");
    expect(reports.subscribed.slice(before.subscribed).sort()).toEqual(["r1", "r1", "t1"]);
    expect(reports.unsubscribed.slice(before.unsubscribed).sort()).toEqual(["r1", "r1", "t1"]);
    expect(channels.stats().channels).toBe(0);
  });

  test("a room member joining with history gets the last N, then live, without gap or duplicate", async () => {
    const a = await client.connect("/rooms/archive");
    await a.receiveText();
    for (let i = 0; i < 8; i++) a.sendText(`m${i}`);
    await texts(a, 8);
    const b = await client.connect("/rooms/archive?history=5");
    // "joined" is sent by the handler itself and may come anywhere among the history.
    expect((await texts(b, 6)).filter((text) => text !== "joined")).toEqual(["m3", "m4", "m5", "m6", "m7"]);
    a.sendText("m8");
    expect(await b.receiveText()).toBe("m8");
    expect(await channels.history("archive", 3)).toEqual(["m6", "m7", "m8"]);
    await a.close();
    await b.close();
  });
});

describe("channels API", () => {
  test("an undeclared channel is a clear error when arbitrary channels are off", async () => {
    const channels = createChannels({ channels: ["news"], routes: true });
    expect(() => channels.publish("x", "sport")).toThrow(UnknownChannelError);
    expect(() => channels.publish("x", "sport")).toThrow(/Unknown channel "sport".*arbitraryChannels: true/);
    expect(() => channels.subscribe(["news", "sport"])).toThrow(UnknownChannelError);
    expect(() => channels.broadcast("sport", "x")).toThrow(UnknownChannelError);
    expect(() => channels.history("sport", 1)).toThrow(UnknownChannelError);
    expect(() => channels.publish("x", "")).toThrow(TypeError);
    expect(channels.allows("news")).toBe(true);
    expect(createChannels({ channels: ["a"], arbitraryChannels: true }).allows("anything")).toBe(true);
    expect(() => createChannels({ arbitraryChannels: false })).toThrow(/no channels declared/);

    const app = createApp({ logger: quiet, plugins: [channels], routes: [] });
    const client = testClient(app);
    try {
      const refused = await client.connect("/ws/sport");
      expect(await refused.closed).toMatchObject({ code: 1008, reason: "Unknown channel" });
      const allowed = await client.connect("/ws/news");
      await until(() => channels.stats().subscriptions === 1, "the subscription");
      await channels.publish("ok", "news");
      expect(await allowed.receiveText()).toBe("ok");
    } finally {
      await client.close();
      await app.close({ timeoutMs: 1000 });
    }
    await expect(async () => channels.publish("late", "news")).rejects.toThrow(ChannelsClosedError);
  });

  test("client messages can be published by the ready-made route", async () => {
    const channels = createChannels({ routes: { path: "/chat/:channel", clientMessages: "publish" } });
    const app = createApp({ logger: quiet, plugins: [channels], routes: [] });
    const client = testClient(app);
    try {
      const a = await client.connect("/chat/x");
      const b = await client.connect("/chat/x");
      await until(() => channels.stats().subscriptions === 2, "two subscribers");
      a.sendText("from a");
      expect(await a.receiveText()).toBe("from a");
      expect(await b.receiveText()).toBe("from a");
    } finally {
      await client.close();
      await app.close({ timeoutMs: 1000 });
    }
    expect(() => createChannels({ routes: { path: "/ws/:room" } })).toThrow(/:channel/);
  });

  test("history is bounded by count, oldest first, and never expires by itself", async () => {
    const channels = createChannels({ history: 4 });
    for (let i = 0; i < 10; i++) await channels.publish(`h${i}`, ["one", "two"]);
    expect(await channels.history("one", 2)).toEqual(["h8", "h9"]);
    expect(await channels.history("two")).toEqual(["h6", "h7", "h8", "h9"]);
    expect(await channels.history("two", 100)).toEqual(["h6", "h7", "h8", "h9"]);
    expect(await channels.history("empty", 5)).toEqual([]);
    await sleep(50);
    expect(await channels.history("one", 1)).toEqual(["h9"]);
    const none = createChannels({ history: 0 });
    await none.publish("x", "c");
    expect(await none.history("c", 5)).toEqual([]);
    await channels.close();
  });

  test("subscribe(): an async iterable, with history replay and several channels", async () => {
    const channels = createChannels({ history: 10 });
    await channels.publish("before 1", "a");
    await channels.publish("before 2", "a");
    const subscription = channels.subscribe(["a", "b"], { history: 1 });
    await subscription.ready;
    await channels.publish("live b", "b");
    await channels.publish({ live: "a" }, "a");
    const got: string[] = [];
    for await (const payload of subscription) {
      got.push(String(payload));
      if (got.length === 3) break;
    }
    expect(got).toEqual(["before 2", "live b", '{"live":"a"}']);
    expect(subscription.ended).toBe(true);
    expect(channels.stats().subscriptions).toBe(0);

    const tagged = channels.subscribe(["a", "b"]);
    await channels.publish("x", ["b", "a"]);
    const first = await tagged.messages().next();
    expect(first.value).toMatchObject({ channel: "b", payload: "x" });
    const controller = new AbortController();
    const bound = channels.subscribe("a", { signal: controller.signal });
    const pending = bound.next();
    controller.abort();
    expect(await pending).toEqual({ value: undefined, done: true });
    tagged.unsubscribe();
    expect(channels.stats().subscriptions).toBe(0);
    await channels.close();
  });

  test("replay seam: publishing without pause while subscribing loses and repeats nothing", async () => {
    const channels = createChannels({ history: 1000 });
    const total = 2000;
    let n = 0;
    const publisher = (async () => {
      for (; n < total; n++) {
        await channels.publish(String(n), "seam");
        if (n % 50 === 0) await sleep(0);
      }
    })();
    await until(() => n >= 300, "the publisher to be under way");
    const subscription = channels.subscribe("seam", { history: 1000, backlog: { max: 10_000, strategy: "disconnect" } });
    expect(n).toBeLessThan(total);
    await publisher;
    const got: number[] = [];
    for await (const payload of subscription) {
      got.push(Number(payload));
      if (got.length === total) break;
    }
    expect(got).toEqual(Array.from({ length: total }, (_, i) => i));
    await channels.close();
  });

  test("backlog: drop-oldest keeps the newest, drop-newest the oldest, disconnect ends the subscriber; drops are counted", async () => {
    const oldest = createChannels({ backlog: { max: 3, strategy: "drop-oldest" } });
    const keepNew = oldest.subscribe("c");
    for (let i = 0; i < 10; i++) await oldest.publish(i, "c");
    expect(keepNew.dropped).toBe(7);
    expect(oldest.stats().dropped).toBe(7);
    expect([await keepNew.next(), await keepNew.next(), await keepNew.next()].map((r) => r.value)).toEqual(["7", "8", "9"]);

    const newest = createChannels({ backlog: { max: 3, strategy: "drop-newest" } });
    const keepOld = newest.subscribe("c");
    for (let i = 0; i < 10; i++) await newest.publish(i, "c");
    expect(keepOld.dropped).toBe(7);
    expect([await keepOld.next(), await keepOld.next(), await keepOld.next()].map((r) => r.value)).toEqual(["0", "1", "2"]);

    const strict = createChannels({ backlog: { max: 3, strategy: "disconnect" } });
    const slow = strict.subscribe("c");
    for (let i = 0; i < 4; i++) await strict.publish(i, "c");
    expect(slow.ended).toBe(true);
    await expect(slow.next()).rejects.toThrow(BacklogOverflowError);
    // A per-subscription backlog overrides the plugin's.
    const roomy = strict.subscribe("c", { backlog: { max: 100, strategy: "disconnect" } });
    for (let i = 0; i < 50; i++) await strict.publish(i, "c");
    expect(roomy.ended).toBe(false);
    expect(() => createChannels({ backlog: { max: 0 } })).toThrow(RangeError);
  });

  test("a subscriber that ends while a publish reaches its channel costs no other subscriber that publish", async () => {
    // The first subscriber overflows (and leaves the channel) in the middle of the second
    // publish's walk over the channel's subscribers: every other one still gets it, once.
    const channels = createChannels({ backlog: { max: 1, strategy: "disconnect" } });
    const first = channels.subscribe("c");
    const others = [0, 1, 2, 3].map(() => channels.subscribe("c", { backlog: { max: 100, strategy: "drop-newest" } }));
    for (let i = 0; i < 3; i++) await channels.publish(i, "c");
    expect(first.ended).toBe(true);
    expect(channels.stats().subscriptions).toBe(4);
    expect(others.map((other) => other.backlog)).toEqual([3, 3, 3, 3]);
    for (const other of others) {
      expect([await other.next(), await other.next(), await other.next()].map((r) => r.value)).toEqual(["0", "1", "2"]);
    }
    await channels.close();
  });

  test.each(["memory", "tcp"] as const)("backlog disconnect closes a slow connection with 1008 over %s", async (transport) => {
    const channels = createChannels({ backlog: { max: 8, strategy: "disconnect" } });
    const app = createApp({
      logger: quiet,
      plugins: [channels],
      backpressure: { highWaterMark: 16 * 1024 },
      routes: [
        websocket(
          "/slow",
          async (socket) => {
            await socket.accept();
            await socket.join("firehose");
            await socket.sendText("joined");
            for await (const _ of socket);
          },
          { socketClass: channels.socketClass },
        ),
      ],
    });
    const client = testClient(app, { transport, receiveTimeoutMs: 10_000 });
    try {
      const ws = await client.connect("/slow");
      expect(await ws.receiveText()).toBe("joined");
      ws.pauseReading();
      const chunk = "x".repeat(64 * 1024);
      for (let i = 0; i < 400 && channels.stats().disconnected === 0; i++) {
        await channels.publish(chunk, "firehose");
        if (i % 8 === 0) await sleep(1);
      }
      expect(channels.stats().disconnected).toBe(1);
      expect(channels.stats().dropped).toBeGreaterThanOrEqual(1);
      ws.resumeReading();
      expect(await ws.closed).toMatchObject({ code: 1008, reason: "Slow consumer" });
      await until(() => channels.stats().subscriptions === 0, "the slow member to be unsubscribed");
    } finally {
      await client.close();
      await app.close({ timeoutMs: 1000 });
    }
  });

  test("joining before accept is a SocketStateError; a closed connection joins nothing", async () => {
    const channels = createChannels();
    const outcomes: string[] = [];
    const app = createApp({
      logger: quiet,
      plugins: [channels],
      routes: [
        websocket(
          "/early",
          async (socket) => {
            try {
              await socket.join("r");
            } catch (error) {
              outcomes.push((error as Error).name);
            }
            await socket.accept();
            await socket.close();
            await socket.join("r");
            outcomes.push(`after close: ${socket.rooms.length}`);
          },
          { socketClass: channels.socketClass },
        ),
      ],
    });
    const client = testClient(app);
    try {
      const ws = await client.connect("/early");
      await ws.closed;
      await until(() => outcomes.length === 2, "the handler");
      expect(outcomes).toEqual(["SocketStateError", "after close: 0"]);
      expect(channels.stats().subscriptions).toBe(0);
    } finally {
      await client.close();
      await app.close({ timeoutMs: 1000 });
    }
  });

  test("a memory backend shared by two channels instances carries messages between them", async () => {
    const backend = memoryBackend();
    const one = createChannels({ backend });
    const two = createChannels({ backend });
    const sub = two.subscribe("shared");
    await one.publish("across", "shared");
    expect((await sub.next()).value).toBe("across");
    await one.close();
    await two.close();
  });
});

describe("serialization once per publish", () => {
  test("10,000 local subscribers: one toJSON call, every socket receives the same text", async () => {
    const channels = createChannels();
    const app = createApp({
      logger: quiet,
      plugins: [channels],
      routes: [
        websocket(
          "/many",
          async (socket) => {
            await socket.accept();
            await socket.join("crowd");
            for await (const _ of socket);
          },
          { socketClass: channels.socketClass },
        ),
      ],
    });
    const client = testClient(app, { receiveTimeoutMs: 30_000 });
    const N = 10_000;
    try {
      const sockets: TestSocket[] = [];
      for (let i = 0; i < N; i += 500) {
        sockets.push(...(await Promise.all(Array.from({ length: Math.min(500, N - i) }, () => client.connect("/many")))));
      }
      await until(() => channels.stats().subscriptions === N, `${N} members`, 30_000);
      let calls = 0;
      const value = {
        toJSON() {
          calls++;
          return { hello: "crowd", at: 1 };
        },
      };
      await channels.publish(value, "crowd");
      const received = await Promise.all(sockets.map((socket) => socket.receiveText()));
      expect(calls).toBe(1);
      expect(channels.stats().serialized).toBe(1);
      expect(channels.stats().offered).toBe(N);
      expect(new Set(received)).toEqual(new Set(['{"hello":"crowd","at":1}']));
      expect(received).toHaveLength(N);
    } finally {
      await client.close();
      await app.close({ timeoutMs: 5000 });
    }
  }, 120_000);
});

describe("replay seam against a backend whose live feed lags behind its history", () => {
  test("messages the history held, arriving live afterwards, are not delivered twice", async () => {
    const stored: ChannelMessage[] = [];
    let sink: BackendSink | undefined;
    const lagging: ChannelBackend = {
      kind: "lagging",
      attach: (attached) => {
        sink = attached;
        return () => (sink = undefined);
      },
      publish: (envelope, names) => {
        for (const channel of names) stored.push({ ...envelope, channel, id: String(stored.length + 1) });
        return Promise.resolve();
      },
      listen: () => Promise.resolve(),
      unlisten: () => Promise.resolve(),
      history: (channel, count) => Promise.resolve(stored.filter((m) => m.channel === channel).slice(-count)),
      close: () => Promise.resolve(),
    };
    const channels = createChannels({ backend: lagging, history: 10 });
    for (let i = 1; i <= 5; i++) await channels.publish(`m${i}`, "c");
    const subscription = channels.subscribe("c", { history: 3 });
    await subscription.ready;
    // The live feed now delivers 4 and 5 (already in the history), then 6.
    await channels.publish("m6", "c");
    for (const message of stored.slice(3)) sink!.deliver(message);
    const got: string[] = [];
    for await (const payload of subscription) {
      got.push(String(payload));
      if (got.length === 4) break;
    }
    expect(got).toEqual(["m3", "m4", "m5", "m6"]);
  });
});
