/**
 * Seed parity (issue 10), each over real TCP: application lifecycle hooks and the data streamer
 * built on them, MessagePack, permessage-deflate per app and per route, `onConnect` on class
 * handlers, and quiet iterators.
 */
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { Schema } from "effect";
import { afterEach, describe, expect, test } from "vitest";
import { WebSocket } from "ws";
import { app as streamerApp, producer } from "../examples/data-streamer.js";
import {
  type App,
  type AppOptions,
  createApp,
  type Logger,
  type Socket,
  StartupError,
  WebSocketListener,
  websocket,
  websocketListener,
} from "../src/index.js";
import { HandshakeRejected, testClient } from "../src/testing/index.js";

const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };
const apps: App[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close({ timeoutMs: 1000 });
});
function start(options: AppOptions) {
  const app = createApp({ logger: quiet, ...options });
  apps.push(app);
  return { app, client: testClient(app, { transport: "tcp" }) };
}

const portIsFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });

describe("application lifecycle hooks", () => {
  test("startup hooks run in order before serving; shutdown hooks once, after connections closed", async () => {
    const events: string[] = [];
    const { app, client } = start({
      onStartup: [async () => void events.push("startup 1"), () => void events.push("startup 2")],
      onShutdown: [() => void events.push("shutdown 1"), async () => void events.push("shutdown 2")],
      routes: [
        websocketListener("/x", {
          onDisconnect: async () => {
            await sleep(20);
            events.push("disconnect");
          },
          handler: (text) => text,
        }),
      ],
    });
    const ws = await client.connect("/x");
    expect(events).toEqual(["startup 1", "startup 2"]);
    await app.close();
    expect((await ws.closed).code).toBe(1001);
    expect(events).toEqual(["startup 1", "startup 2", "disconnect", "shutdown 1", "shutdown 2"]);
    await app.close();
    expect(events.filter((event) => event.startsWith("shutdown"))).toHaveLength(2);
  });

  test("a failing startup hook makes listen fail with a clear error, and nothing is left listening", async () => {
    const probe = createServer();
    const port = await new Promise<number>((resolve) => probe.listen(0, "127.0.0.1", () => resolve((probe.address() as { port: number }).port)));
    await new Promise((resolve) => probe.close(resolve));
    const shutdowns: string[] = [];
    const app = createApp({
      logger: quiet,
      onStartup: async function connectDatabase() {
        throw new Error("database unreachable");
      },
      onShutdown: () => void shutdowns.push("ran"),
      routes: [],
    });
    const error = await app.listen({ port }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StartupError);
    expect((error as Error).message).toBe('onStartup hook "connectDatabase" failed: database unreachable');
    expect(((error as Error).cause as Error).message).toBe("database unreachable");
    expect(await portIsFree(port)).toBe(true);
    await app.close();
    expect(shutdowns).toEqual([]);
  });

  test("the data streamer: a producer started at startup feeds /stream/:topic, and stops at shutdown", async () => {
    apps.push(streamerApp);
    const client = testClient(streamerApp, { transport: "tcp" });
    const ws = await client.connect("/stream/temperature");
    expect(producer.running).toBe(true);
    const first = (await ws.receiveJson()) as { topic: string; seq: number };
    const second = (await ws.receiveJson()) as { topic: string; seq: number };
    expect(first.topic).toBe("temperature");
    expect(second.seq).toBeGreaterThan(first.seq);
    const unknown = await client.connect("/stream/nope");
    expect(await unknown.closed).toMatchObject({ code: 1008, reason: "Unknown topic" });
    await streamerApp.close();
    expect((await ws.closed).code).toBe(1001);
    expect(producer.running).toBe(false);
    const ticks = producer.ticks;
    await sleep(250);
    expect(producer.ticks).toBe(ticks);
  });
});

describe("MessagePack", () => {
  const Point = Schema.Struct({ x: Schema.Number, y: Schema.Number });

  test("listeners receive and reply MessagePack; a schema validates it; bad input closes 1007 / 1003", async () => {
    const { client } = start({
      routes: [
        websocketListener("/raw", { receive: "msgpack", handler: (value) => ({ got: value }) }),
        websocketListener("/points", { receive: { msgpack: Point }, handler: (point) => ({ sum: point.x + point.y }) }),
      ],
    });
    const raw = await client.connect("/raw");
    raw.sendMsgpack({ list: [1, "two", true], nested: { n: null } });
    expect(await raw.receiveMsgpack()).toEqual({ got: { list: [1, "two", true], nested: { n: null } } });
    raw.sendBytes(Uint8Array.of(0xc1));
    expect(await raw.closed).toMatchObject({ code: 1007, reason: "invalid MessagePack" });

    const points = await client.connect("/points");
    points.sendMsgpack({ x: 2, y: 3 });
    expect(await points.receiveMsgpack()).toEqual({ sum: 5 });
    points.sendMsgpack({ x: "2" });
    expect(await points.closed).toMatchObject({ code: 1007, reason: "x: expected number" });

    const text = await client.connect("/raw");
    text.sendText("not binary");
    expect((await text.closed).code).toBe(1003);
  });

  test("socket.receiveMsgpack and sendMsgpack on a low-level route", async () => {
    const { client } = start({
      routes: [
        websocket("/low", async (socket) => {
          await socket.accept();
          const value = await socket.receiveMsgpack(Point);
          await socket.sendMsgpack({ doubled: { x: value.x * 2, y: value.y * 2 } });
        }),
      ],
    });
    const ws = await client.connect("/low");
    ws.sendMsgpack({ x: 1, y: 4 });
    expect(await ws.receiveMsgpack()).toEqual({ doubled: { x: 2, y: 8 } });
    expect((await ws.closed).code).toBe(1000);
  });
});

describe("permessage-deflate", () => {
  const big = JSON.stringify(Array.from({ length: 20_000 }, (_, i) => ({ i, text: "compressible text" })));

  test("negotiated with a compressing client on an app that enables it, round-tripping large messages", async () => {
    const { client } = start({
      perMessageDeflate: { threshold: 256 },
      maxPayload: 4 * 1024 * 1024,
      routes: [websocketListener("/echo", (text) => text)],
    });
    const ws = await client.connect("/echo", { perMessageDeflate: true });
    expect(ws.headers["sec-websocket-extensions"]).toMatch(/^permessage-deflate/);
    ws.sendText(big);
    expect(await ws.receiveText()).toBe(big);
    await ws.close();
  });

  test("per route: one route compresses, its neighbour does not; off by default", async () => {
    const { client } = start({
      maxPayload: 4 * 1024 * 1024,
      routes: [
        websocketListener("/compressed", { perMessageDeflate: true, handler: (text) => text }),
        websocketListener("/plain", (text) => text),
      ],
    });
    const compressed = await client.connect("/compressed", { perMessageDeflate: true });
    expect(compressed.headers["sec-websocket-extensions"]).toMatch(/^permessage-deflate/);
    compressed.sendText(big);
    expect(await compressed.receiveText()).toBe(big);
    const plain = await client.connect("/plain", { perMessageDeflate: true });
    expect(plain.headers["sec-websocket-extensions"]).toBeUndefined();
    plain.sendText("small");
    expect(await plain.receiveText()).toBe("small");
    await Promise.all([compressed.close(), plain.close()]);
  });

  test("the bytes on the wire are compressed: a foreign ws client reads its socket's byte count", async () => {
    const { app } = start({ perMessageDeflate: true, maxPayload: 4 * 1024 * 1024, routes: [websocketListener("/echo", (text) => text)] });
    const { url } = await app.listen();
    const ws = new WebSocket(`${url.replace("http", "ws")}/echo`, { perMessageDeflate: true });
    await new Promise((resolve) => ws.once("open", resolve));
    const received = new Promise<string>((resolve) => ws.once("message", (data) => resolve(String(data))));
    ws.send(big);
    expect(await received).toBe(big);
    const socket = (ws as unknown as { _socket: { bytesRead: number } })._socket;
    expect(socket.bytesRead).toBeLessThan(big.length / 10);
    ws.close();
  });
});

describe("onConnect on class handlers, before accept", () => {
  class Guarded extends WebSocketListener {
    readonly path = "/guarded";
    override onConnect(socket: Socket): void {
      const token = socket.query.token;
      if (token === "reject") socket.reject(403);
      else if (token !== "ok") void socket.close(4001, "Invalid token");
      else socket.state.user = "Ada";
    }
    override onReceive(text: string, socket: Socket): string {
      return `${String(socket.state.user)}: ${text}`;
    }
  }

  test("refuse with an HTTP status, close with a code, or let through", async () => {
    const { client } = start({ routes: [Guarded] });
    const refused = await client.connect("/guarded?token=reject").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(HandshakeRejected);
    expect((refused as HandshakeRejected).status).toBe(403);
    const closed = await client.connect("/guarded?token=bad");
    expect(await closed.closed).toMatchObject({ code: 4001, reason: "Invalid token" });
    const ok = await client.connect("/guarded?token=ok");
    ok.sendText("hi");
    expect(await ok.receiveText()).toBe("Ada: hi");
    await ok.close();
  });
});

describe("quiet iterators", () => {
  test("iterText, iterBytes and iterJson end without an exception when the client leaves", async () => {
    const seen: string[] = [];
    const { client } = start({
      routes: [
        websocket("/text", async (socket) => {
          await socket.accept();
          for await (const text of socket.iterText()) seen.push(`text:${text}`);
          seen.push("text ended quietly");
        }),
        websocket("/bytes", async (socket) => {
          await socket.accept();
          for await (const bytes of socket.iterBytes()) seen.push(`bytes:${bytes.length}`);
          seen.push("bytes ended quietly");
        }),
        websocket("/json", async (socket) => {
          await socket.accept();
          for await (const value of socket.iterJson(Schema.Struct({ n: Schema.Number }))) seen.push(`json:${value.n}`);
          seen.push("json ended quietly");
        }),
      ],
    });
    const text = await client.connect("/text");
    text.sendText("a");
    text.sendText("b");
    await text.close(1000);
    const bytes = await client.connect("/bytes");
    bytes.sendBytes(Uint8Array.of(1, 2));
    await bytes.abort();
    const json = await client.connect("/json");
    json.sendJson({ n: 7 });
    await json.close(4000);
    await expect
      .poll(() => seen.filter((entry) => entry.endsWith("quietly")).length)
      .toBe(3);
    expect(seen).toEqual(expect.arrayContaining(["text:a", "text:b", "bytes:2", "json:7"]));
  });

  test("a frame of the wrong kind still throws (and closes 1003): only the disconnect is quiet", async () => {
    const { client } = start({
      routes: [
        websocket("/text", async (socket) => {
          await socket.accept();
          for await (const _ of socket.iterText());
        }),
      ],
    });
    const ws = await client.connect("/text");
    ws.sendBytes(Uint8Array.of(1));
    expect((await ws.closed).code).toBe(1003);
  });
});
