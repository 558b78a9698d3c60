/**
 * Listener, stream and class-based handlers, over memory and real TCP.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Schema, Stream } from "effect";
import * as v from "valibot";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { z } from "zod";
import {
  type App,
  type ConnectionOutcome,
  createApp,
  group,
  type Logger,
  Socket,
  SocketStateError,
  WebSocketListener,
  type AnySocket,
  websocketListener,
  websocketStream,
} from "../src/index.js";
import { testClient } from "../src/testing/index.js";

const Message = Schema.Struct({ user: Schema.String, content: Schema.String });

class NamedSocket extends Socket {
  get greeting(): string {
    return `hello from ${this.client.host}`;
  }
}

interface Observed {
  errors: unknown[];
  hookErrors: unknown[];
  events: string[];
  finalized: { at: number; id: string }[];
  pulls: number;
  disconnects: ConnectionOutcome[];
}

class RoomListener extends WebSocketListener {
  static readonly members = new Set<RoomListener>();
  readonly path = "/class/room";
  name = "";
  socket: AnySocket | undefined;

  override onAccept(socket: Socket): void {
    this.name = socket.query.name ?? "anon";
    this.socket = socket;
    RoomListener.members.add(this);
  }

  override async onReceive(text: string): Promise<string> {
    for (const member of RoomListener.members) {
      if (member !== this) await member.socket?.sendText(`${this.name}: ${text}`);
    }
    return `${this.name}: ${text}`;
  }

  override onDisconnect(): void {
    RoomListener.members.delete(this);
  }
}

function buildApp(observed: Observed): App {
  const logger: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };
  return createApp({
    logger,
    onError: (error) => observed.errors.push(error),
    backpressure: { highWaterMark: 16 * 1024 },
    routes: [
      websocketListener("/echo", (text) => `Echo: ${text}`),
      websocketListener("/ordered", {
        receive: "json",
        handler: async (data) => {
          const { i, delay } = data as { i: number; delay: number };
          await sleep(delay);
          return { i };
        },
      }),
      websocketListener("/kinds", (text) => {
        if (text === "silent") return undefined;
        if (text === "bytes") return Uint8Array.of(1, 2, 3);
        if (text === "json") return { ok: true };
        return text.toUpperCase();
      }),
      websocketListener("/chat", {
        receive: Message,
        handler: (message) => ({ user: message.user, response: `Received: ${message.content}` }),
      }),
      websocketListener("/bytes", { receive: "bytes", handler: (bytes) => Buffer.from(bytes).reverse() }),
      websocketListener("/binary-text", { receive: "text", receiveMode: "binary", handler: (text) => `got ${text}` }),
      websocketListener("/send-binary", { sendMode: "binary", handler: (text) => text }),
      websocketListener("/send-schema", {
        send: Schema.Struct({ at: Schema.DateFromString }),
        handler: () => ({ at: new Date(0) }),
      }),
      websocketListener("/invalid-reply", { receive: Message, onInvalid: "reply", handler: (m) => m.content }),
      websocketListener("/invalid-custom", {
        receive: "json",
        onInvalid: (invalid) => `bad (${invalid.code}): ${invalid.problem}`,
        handler: () => "fine",
      }),
      websocketListener("/zod", { receive: z.object({ n: z.number() }), handler: (value) => ({ doubled: value.n * 2 }) }),
      websocketListener("/valibot", { receive: v.object({ n: v.number() }), handler: (value) => ({ tripled: value.n * 3 }) }),
      websocketListener("/rooms/:room", (text, { params, query, socket }) => `${params.room}|${query.x ?? ""}|${socket.client.host}|${text}`),
      websocketListener("/throws", {
        onError: (error) => void observed.hookErrors.push(error),
        handler: () => {
          throw new Error("listener internals");
        },
      }),
      websocketListener("/custom-accept", {
        accept: ({ socket }) => ({
          headers: { "x-custom": "value" },
          ...(socket.subprotocols.includes("chat-v1") ? { subprotocol: "chat-v1" } : {}),
        }),
        onAccept: async ({ socket }) => {
          observed.events.push("accept");
          await socket.sendText("welcome");
        },
        onDisconnect: (_context, close) => {
          observed.events.push(`disconnect ${close.code}`);
          observed.disconnects.push(close);
        },
        handler: (text) => text,
      }),
      websocketListener("/reads-socket", {
        handler: async (_text, { socket }) => {
          try {
            await socket.receive();
            return "no error";
          } catch (error) {
            return error instanceof SocketStateError ? "SocketStateError" : String(error);
          }
        },
      }),
      // The group chooses the class at run time; the route names it too, so its handler sees it typed.
      group("/named", [websocketListener("/who", { socketClass: NamedSocket, handler: (_text, { socket }) => socket.greeting })], {
        socketClass: NamedSocket,
      }),
      websocketStream("/count", async function* () {
        yield "one";
        yield "two";
        yield "three";
      }),
      websocketStream("/count-custom-close", {
        closeOnEnd: { code: 4000, reason: "done" },
        stream: async function* () {
          yield { n: 1 };
        },
      }),
      websocketStream("/effect-stream", () => Stream.make(1, 2, 3)),
      websocketStream("/waits", async function* ({ signal, query }) {
        const id = query.id ?? "?";
        try {
          yield "started";
          await sleep(60_000, undefined, { signal });
          yield "never";
        } finally {
          observed.finalized.push({ at: Date.now(), id });
        }
      }),
      websocketStream("/firehose", async function* () {
        const chunk = "x".repeat(1024);
        for (;;) {
          observed.pulls++;
          yield chunk;
        }
      }),
      websocketStream("/listens", {
        closeOnEnd: false,
        stream: async function* ({ signal }) {
          yield "tick";
          await sleep(60_000, undefined, { signal }).catch(() => {});
        },
        onMessage: (text) => (text === "ping" ? "pong" : undefined),
      }),
      websocketStream("/ignores", async function* ({ signal }) {
        yield "only";
        await sleep(60_000, undefined, { signal });
      }),
      RoomListener,
    ],
  });
}

describe.each(["memory", "tcp"] as const)("handlers over %s", (transport) => {
  const observed: Observed = { errors: [], hookErrors: [], events: [], finalized: [], pulls: 0, disconnects: [] };
  let app: App;
  let client: ReturnType<typeof testClient>;

  beforeAll(() => {
    app = buildApp(observed);
    client = testClient(app, { transport });
  });
  afterAll(async () => {
    await client.close();
    await app.close({ timeoutMs: 2000 });
  });

  describe("websocketListener", () => {
    test("a sync function: data in, value out", async () => {
      const ws = await client.connect("/echo");
      ws.sendText("hi");
      expect(await ws.receiveText()).toBe("Echo: hi");
      await ws.close();
    });

    test("one message at a time, in order, even when later ones finish first", async () => {
      const ws = await client.connect("/ordered");
      const delays = [30, 0, 20, 0, 10, 0, 5, 0];
      delays.forEach((delay, i) => ws.sendJson({ i, delay }));
      for (let i = 0; i < delays.length; i++) expect(await ws.receiveJson()).toEqual({ i });
      await ws.close();
    });

    test("string → text frame, bytes → binary frame, object → JSON, undefined → no frame", async () => {
      const ws = await client.connect("/kinds");
      ws.sendText("silent");
      ws.sendText("bytes");
      ws.sendText("json");
      ws.sendText("abc");
      expect([...(await ws.receiveBytes())]).toEqual([1, 2, 3]);
      expect(await ws.receiveJson()).toEqual({ ok: true });
      expect(await ws.receiveText()).toBe("ABC");
      expect(ws.pending).toBe(0);
      await ws.close();
    });

    test("an effect Schema types and validates JSON; failures close 1007 naming the problem", async () => {
      const ok = await client.connect("/chat");
      ok.sendJson({ user: "ann", content: "hi" });
      expect(await ok.receiveJson()).toEqual({ user: "ann", response: "Received: hi" });
      ok.sendJson({ user: "ann", content: 7 });
      expect(await ok.closed).toMatchObject({ code: 1007, reason: "content: expected string" });
      const badJson = await client.connect("/chat");
      badJson.sendText("{oops");
      expect(await badJson.closed).toMatchObject({ code: 1007, reason: "invalid JSON" });
    });

    test("Standard Schema from two libraries: zod and valibot", async () => {
      const zodSocket = await client.connect("/zod");
      zodSocket.sendJson({ n: 21 });
      expect(await zodSocket.receiveJson()).toEqual({ doubled: 42 });
      zodSocket.sendJson({ n: "x" });
      const zodClose = await zodSocket.closed;
      expect(zodClose.code).toBe(1007);
      expect(zodClose.reason).toMatch(/^n: /);
      const valibotSocket = await client.connect("/valibot");
      valibotSocket.sendJson({ n: 2 });
      expect(await valibotSocket.receiveJson()).toEqual({ tripled: 6 });
      valibotSocket.sendJson({});
      const valibotClose = await valibotSocket.closed;
      expect(valibotClose.code).toBe(1007);
      expect(valibotClose.reason).toMatch(/^n: /);
    });

    test("receive: bytes takes binary frames; a text frame closes 1003", async () => {
      const ws = await client.connect("/bytes");
      ws.sendBytes(Uint8Array.of(1, 2, 3));
      expect([...(await ws.receiveBytes())]).toEqual([3, 2, 1]);
      ws.sendText("nope");
      expect(await ws.closed).toMatchObject({ code: 1003, reason: "expected a binary message" });
    });

    test("receiveMode is the opcode: binary frames read as text; a text frame closes 1003", async () => {
      const ws = await client.connect("/binary-text");
      ws.sendBytes(Buffer.from("héllo"));
      expect(await ws.receiveText()).toBe("got héllo");
      ws.sendText("text frame");
      expect((await ws.closed).code).toBe(1003);
    });

    test("sendMode forces the opcode; a send schema encodes replies", async () => {
      const binary = await client.connect("/send-binary");
      binary.sendText("abc");
      expect((await binary.receiveBytes()).toString()).toBe("abc");
      await binary.close();
      const encoded = await client.connect("/send-schema");
      encoded.sendText("now");
      expect(await encoded.receiveJson()).toEqual({ at: "1970-01-01T00:00:00.000Z" });
      await encoded.close();
    });

    test("onInvalid: reply keeps the connection open; a function decides the reply", async () => {
      const reply = await client.connect("/invalid-reply");
      reply.sendJson({ user: 1 });
      expect(await reply.receiveJson()).toEqual({ error: "user: expected string", code: 1007 });
      reply.sendJson({ user: "u", content: "still open" });
      expect(await reply.receiveText()).toBe("still open");
      await reply.close();
      const custom = await client.connect("/invalid-custom");
      custom.sendText("not json");
      expect(await custom.receiveText()).toBe("bad (1007): invalid JSON");
      custom.sendText("{}");
      expect(await custom.receiveText()).toBe("fine");
      await custom.close();
    });

    test("the context carries the socket, typed params and the query", async () => {
      const ws = await client.connect("/rooms/lobby?x=7");
      ws.sendText("m");
      expect(await ws.receiveText()).toBe("lobby|7|127.0.0.1|m");
      await ws.close();
    });

    test("a handler error closes 1011 without internals and reaches onError", async () => {
      observed.errors.length = 0;
      observed.hookErrors.length = 0;
      const ws = await client.connect("/throws");
      ws.sendText("x");
      expect(await ws.closed).toMatchObject({ code: 1011, reason: "Internal error" });
      expect(observed.hookErrors).toHaveLength(1);
      expect(observed.errors).toHaveLength(1);
    });

    test("custom accept (headers, subprotocol), onAccept before the first reply, onDisconnect once with the close", async () => {
      observed.events.length = 0;
      observed.disconnects.length = 0;
      const ws = await client.connect("/custom-accept", { subprotocols: ["chat-v1"] });
      expect(ws.headers["x-custom"]).toBe("value");
      expect(ws.subprotocol).toBe("chat-v1");
      expect(await ws.receiveText()).toBe("welcome");
      ws.sendText("echo me");
      expect(await ws.receiveText()).toBe("echo me");
      await ws.close(4100, "later");
      await expect.poll(() => observed.events).toEqual(["accept", "disconnect 4100"]);
      expect(observed.disconnects[0]).toMatchObject({ code: 4100, reason: "later", initiator: "client" });
      const plain = await client.connect("/custom-accept");
      expect(plain.subprotocol).toBeUndefined();
      await plain.close();
    });

    test("a listener's socket cannot receive(): messages arrive as arguments", async () => {
      const ws = await client.connect("/reads-socket");
      ws.sendText("x");
      expect(await ws.receiveText()).toBe("SocketStateError");
      await ws.close();
    });

    test("a Socket subclass set on a group reaches its handlers", async () => {
      const ws = await client.connect("/named/who");
      ws.sendText("?");
      expect(await ws.receiveText()).toBe("hello from 127.0.0.1");
      await ws.close();
    });
  });

  describe("websocketStream", () => {
    test("sends every value, then closes 1000 when the generator ends", async () => {
      const ws = await client.connect("/count");
      expect([await ws.receiveText(), await ws.receiveText(), await ws.receiveText()]).toEqual(["one", "two", "three"]);
      expect((await ws.closed).code).toBe(1000);
    });

    test("the close at the end is configurable; objects go as JSON", async () => {
      const ws = await client.connect("/count-custom-close");
      expect(await ws.receiveJson()).toEqual({ n: 1 });
      expect(await ws.closed).toMatchObject({ code: 4000, reason: "done" });
    });

    test("an effect Stream is a source too", async () => {
      const ws = await client.connect("/effect-stream");
      expect([await ws.receiveJson(), await ws.receiveJson(), await ws.receiveJson()]).toEqual([1, 2, 3]);
      expect((await ws.closed).code).toBe(1000);
    });

    test.each(["abort", "close"] as const)(
      "a client %s while the generator awaits finalizes it within 100 ms, and no frame follows",
      async (how) => {
        const id = `${transport}-${how}`;
        const ws = await client.connect(`/waits?id=${id}`);
        expect(await ws.receiveText()).toBe("started");
        const left = Date.now();
        if (how === "abort") await ws.abort();
        else await ws.close(1000);
        await expect.poll(() => observed.finalized.find((entry) => entry.id === id), { timeout: 1000, interval: 5 }).toBeDefined();
        const finalized = observed.finalized.find((entry) => entry.id === id)!;
        expect(finalized.at - left).toBeLessThan(100);
        expect(ws.pending).toBe(0);
      },
    );

    test("pull-based: a client that stops reading stops the generator", async () => {
      observed.pulls = 0;
      const ws = await client.connect("/firehose");
      await ws.receiveText();
      ws.pauseReading();
      // Let the server fill what the wire can hold (kernel buffers over TCP, the frame queue in memory).
      let last = -1;
      for (let i = 0; i < 100 && observed.pulls !== last; i++) {
        last = observed.pulls;
        await sleep(50);
      }
      const stalled = observed.pulls;
      await sleep(150);
      expect(observed.pulls).toBe(stalled);
      // In memory the bound is exact: 16 KiB of 1 KiB chunks buffered, plus the one read before
      // pausing, the one whose write waits for drain, and the one pulled at the fairness yield.
      if (transport === "memory") expect(stalled).toBeLessThanOrEqual(16 + 3);
      ws.resumeReading();
      await expect.poll(() => observed.pulls, { timeout: 2000 }).toBeGreaterThan(stalled);
      await ws.abort();
    });

    test("a stream can listen too (onMessage); closeOnEnd: false keeps it open", async () => {
      const ws = await client.connect("/listens");
      expect(await ws.receiveText()).toBe("tick");
      ws.sendText("ping");
      expect(await ws.receiveText()).toBe("pong");
      ws.sendText("other");
      ws.sendText("ping");
      expect(await ws.receiveText()).toBe("pong");
      await ws.close();
    });

    test("without onMessage, client messages are discarded (and counted) and the stream goes on", async () => {
      const before = app.stats().messages.discarded;
      const ws = await client.connect("/ignores");
      expect(await ws.receiveText()).toBe("only");
      ws.sendText("ignored");
      ws.sendBytes(Uint8Array.of(1));
      await expect.poll(() => app.stats().messages.discarded).toBe(before + 2);
      expect(ws.pending).toBe(0);
      expect((await ws.close(1000)).code).toBe(1000);
    });
  });

  describe("class extends WebSocketListener", () => {
    test("one instance per connection: hooks, replies and broadcasts to the others", async () => {
      const alice = await client.connect("/class/room?name=alice");
      const bob = await client.connect("/class/room?name=bob");
      await expect.poll(() => RoomListener.members.size).toBe(2);
      alice.sendText("hi");
      expect(await alice.receiveText()).toBe("alice: hi");
      expect(await bob.receiveText()).toBe("alice: hi");
      await alice.close();
      await expect.poll(() => RoomListener.members.size).toBe(1);
      bob.sendText("alone");
      expect(await bob.receiveText()).toBe("bob: alone");
      await bob.close();
      await expect.poll(() => RoomListener.members.size).toBe(0);
    });
  });
});
