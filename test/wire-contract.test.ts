/**
 * The wire contract (README): every row the foundation covers, asserted from the client's
 * side, over the in-memory transport and over real TCP.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  type App,
  type ConnectionOutcome,
  createApp,
  get,
  group,
  type Logger,
  SocketClosedError,
  SocketStateError,
  WebSocketDisconnect,
  websocket,
} from "../src/index.js";
import { HandshakeRejected, testClient } from "../src/testing/index.js";

interface Observed {
  disconnects: { code: number; reason: string }[];
  outcomes: ConnectionOutcome[];
  errors: unknown[];
  logged: { fields: Record<string, unknown>; message: string | undefined }[];
  callSiteErrors: string[];
  lateSends: unknown[];
}

function buildApp(observed: Observed): App {
  const logger: Logger = {
    error: (fields, message) => observed.logged.push({ fields, message }),
    warn: () => {},
    info: () => {},
    debug: () => {},
  };
  return createApp({
    logger,
    onError: (error) => observed.errors.push(error),
    maxPayload: 64 * 1024,
    routes: [
      websocket("/echo", async (socket) => {
        await socket.accept();
        for await (const message of socket) {
          if (typeof message === "string") await socket.sendText(message);
          else await socket.sendBytes(message);
        }
      }),
      websocket("/reject", (socket) => {
        socket.reject(401, { body: "token required", headers: { "www-authenticate": "Bearer" } });
      }),
      websocket("/close-before-accept", async (socket) => {
        await socket.close(4001, "Invalid token");
      }),
      websocket("/return", async (socket) => {
        await socket.accept();
        await socket.sendText("bye");
      }),
      websocket("/return-before-accept", () => {}),
      websocket("/throw", async (socket) => {
        await socket.accept();
        await socket.receiveText();
        throw new Error("secret internals: db password is hunter2");
      }),
      websocket("/throw-before-accept", () => {
        throw new Error("failed before accept");
      }),
      websocket("/observe-close", async (socket) => {
        await socket.accept();
        socket.closed.then((outcome) => observed.outcomes.push(outcome));
        try {
          for (;;) await socket.receive();
        } catch (error) {
          if (!(error instanceof WebSocketDisconnect)) throw error;
          observed.disconnects.push({ code: error.code, reason: error.reason });
        }
      }),
      websocket("/subprotocol", async (socket) => {
        const wanted = socket.subprotocols.find((offered) => offered === "chat-v2" || offered === "chat-v1");
        await socket.accept(wanted === undefined ? {} : { subprotocol: wanted });
        await socket.sendJson({ offered: socket.subprotocols, chosen: socket.subprotocol ?? null });
      }),
      websocket("/subprotocol-not-offered", async (socket) => {
        try {
          await socket.accept({ subprotocol: "never-offered" });
        } catch (error) {
          observed.callSiteErrors.push(`${(error as Error).name}: ${(error as Error).message}`);
        }
        await socket.accept();
        await socket.sendText(socket.lifecycle);
      }),
      websocket("/send-after-close", async (socket) => {
        await socket.accept();
        await socket.close(4000, "done");
        // Not awaited on purpose: it must not become an unhandled rejection.
        void socket.sendText("ignored");
        try {
          await socket.sendText("late");
        } catch (error) {
          observed.lateSends.push(error);
        }
      }),
      websocket("/keeps-sending", async (socket) => {
        await socket.accept();
        for (let i = 0; i < 10_000; i++) {
          try {
            await socket.sendText(`tick ${i}`);
          } catch (error) {
            observed.lateSends.push(error);
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      }),
      websocket("/invalid-close", async (socket) => {
        await socket.accept();
        for (const attempt of [() => socket.close(1006), () => socket.close(1005), () => socket.close(999), () => socket.close(1000, "é".repeat(62))]) {
          try {
            await attempt();
            observed.callSiteErrors.push("no error");
          } catch (error) {
            observed.callSiteErrors.push((error as Error).name);
          }
        }
        await socket.sendText(socket.lifecycle);
        await socket.close(1000, "x".repeat(123));
      }),
      websocket("/misuse", async (socket) => {
        for (const attempt of [() => socket.sendText("early"), () => socket.receive()]) {
          try {
            await attempt();
          } catch (error) {
            observed.callSiteErrors.push((error as Error).name);
          }
        }
        await socket.accept();
        try {
          await socket.accept();
        } catch (error) {
          observed.callSiteErrors.push((error as Error).name);
        }
        try {
          socket.reject(403);
        } catch (error) {
          observed.callSiteErrors.push((error as Error).name);
        }
        await socket.sendText("ok");
      }),
      websocket("/rooms/:room", async (socket) => {
        await socket.accept({ headers: { "x-room": socket.params.room } });
        await socket.sendJson({
          room: socket.params.room,
          query: socket.query,
          header: socket.headers["x-test"] ?? null,
          cookies: socket.cookies,
          host: socket.client.host,
          path: socket.url.pathname,
        });
        await socket.close();
      }),
      websocket("/typed-json", async (socket) => {
        await socket.accept();
        const value = await socket.receiveJson();
        await socket.sendJson({ got: value });
        await socket.receiveText(); // a binary frame here: MessageError → 1003
      }),
      websocket("/bad-json", async (socket) => {
        await socket.accept();
        await socket.receiveJson(); // invalid JSON: MessageError → 1007
      }),
      get("/history", () => ["a", "b"]),
      group("/chat", [
        websocket("/live", async (socket) => {
          await socket.accept();
          await socket.sendText(`live ${socket.url.pathname}`);
        }),
        get("/history/:n", (_request, { params, query }) => ({ n: Number(params.n), q: query.q ?? null })),
      ]),
    ],
  });
}

describe.each(["memory", "tcp"] as const)("wire contract over %s", (transport) => {
  const observed: Observed = { disconnects: [], outcomes: [], errors: [], logged: [], callSiteErrors: [], lateSends: [] };
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  let app: App;
  let client: ReturnType<typeof testClient>;

  beforeAll(() => {
    process.on("unhandledRejection", onUnhandled);
    app = buildApp(observed);
    client = testClient(app, { transport });
  });

  afterAll(async () => {
    process.off("unhandledRejection", onUnhandled);
    await client.close();
    await app.close({ timeoutMs: 2000 });
  });

  const reset = (): void => {
    for (const list of Object.values(observed)) (list as unknown[]).length = 0;
  };
  const settle = (ms = 30): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  test("an upgrade to a path no route matches is refused with HTTP 404", async () => {
    const error = await client.connect("/no/such/route").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandshakeRejected);
    expect((error as HandshakeRejected).status).toBe(404);
  });

  test("a plain HTTP GET to a WebSocket-only route gets 426 Upgrade Required", async () => {
    const response = await client.fetch("/echo");
    expect(response.status).toBe(426);
    expect(response.headers.get("upgrade")).toBe("websocket");
  });

  test("HTTP routes and WebSocket routes live side by side, also inside groups", async () => {
    expect(await (await client.fetch("/history")).json()).toEqual(["a", "b"]);
    expect(await (await client.fetch("/chat/history/7?q=x")).json()).toEqual({ n: 7, q: "x" });
    expect((await client.fetch("/chat/nothing")).status).toBe(404);
    const ws = await client.connect("/chat/live");
    expect(await ws.receiveText()).toBe("live /chat/live");
    expect((await ws.closed).code).toBe(1000);
  });

  test("reject(status) before accept is that HTTP status, with body and headers, and no WebSocket", async () => {
    const error = await client.connect("/reject").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandshakeRejected);
    expect((error as HandshakeRejected).status).toBe(401);
    expect((error as HandshakeRejected).body).toBe("token required");
    expect((error as HandshakeRejected).headers["www-authenticate"]).toBe("Bearer");
  });

  test("close(code, reason) before accept completes the handshake, then closes with exactly that code and reason", async () => {
    const ws = await client.connect("/close-before-accept");
    expect(await ws.closed).toEqual({ code: 4001, reason: "Invalid token", wasClean: true });
  });

  test("a handler that returns without closing closes with 1000", async () => {
    const ws = await client.connect("/return");
    expect(await ws.receiveText()).toBe("bye");
    expect((await ws.closed).code).toBe(1000);
  });

  test("a handler that returns before accepting refuses the handshake with 403", async () => {
    const error = await client.connect("/return-before-accept").catch((e: unknown) => e);
    expect((error as HandshakeRejected).status).toBe(403);
  });

  test("a handler that throws closes with 1011, a reason free of internals, reports the error, and the server keeps serving", async () => {
    reset();
    const ws = await client.connect("/throw");
    ws.sendText("go");
    const closed = await ws.closed;
    expect(closed.code).toBe(1011);
    expect(closed.reason).toBe("Internal error");
    expect(closed.reason).not.toMatch(/secret|hunter2/);
    expect(observed.errors).toHaveLength(1);
    expect((observed.errors[0] as Error).message).toContain("secret internals");
    expect(observed.logged).toHaveLength(1);
    expect(observed.logged[0]!.fields.route).toBe("/throw");
    const other = await client.connect("/echo");
    other.sendText("still here");
    expect(await other.receiveText()).toBe("still here");
    await other.close();
  });

  test("a handler that throws before accepting refuses the handshake with 500", async () => {
    const error = await client.connect("/throw-before-accept").catch((e: unknown) => e);
    expect((error as HandshakeRejected).status).toBe(500);
  });

  test.each([
    [1000, "bye"],
    [1001, ""],
    [4000, "custom"],
    [3000, "registered"],
  ])("the handler sees the client's close code %i as WebSocketDisconnect", async (code, reason) => {
    reset();
    const ws = await client.connect("/observe-close");
    const closed = await ws.close(code, reason);
    expect(closed).toEqual({ code, reason, wasClean: true });
    await settle();
    expect(observed.disconnects).toEqual([{ code, reason }]);
    expect(observed.outcomes).toEqual([{ code, reason, wasClean: true, initiator: "client" }]);
  });

  test("a close frame without a code reaches the handler as 1005", async () => {
    reset();
    const ws = await client.connect("/observe-close");
    const closed = await ws.closeWithoutStatus();
    expect(closed.code).toBe(1005);
    await settle();
    expect(observed.disconnects).toEqual([{ code: 1005, reason: "" }]);
  });

  test("a connection dropped without a close frame reaches the handler as 1006", async () => {
    reset();
    const ws = await client.connect("/observe-close");
    ws.sendText("one");
    await settle();
    await ws.abort();
    await settle(100);
    expect(observed.disconnects).toEqual([{ code: 1006, reason: "" }]);
    expect(observed.outcomes[0]).toMatchObject({ code: 1006, wasClean: false, initiator: "transport" });
  });

  test("the server picks a subprotocol the client offered, or none", async () => {
    const offered = await client.connect("/subprotocol", { subprotocols: ["chat-v1", "chat-v2"] });
    expect(offered.subprotocol).toBe("chat-v1");
    expect(await offered.receiveJson()).toEqual({ offered: ["chat-v1", "chat-v2"], chosen: "chat-v1" });
    const none = await client.connect("/subprotocol", { subprotocols: ["other"] });
    expect(none.subprotocol).toBeUndefined();
    expect(await none.receiveJson()).toEqual({ offered: ["other"], chosen: null });
    await Promise.all([offered.closed, none.closed]);
  });

  test("accepting a subprotocol the client did not offer is a RangeError at the call site", async () => {
    reset();
    const ws = await client.connect("/subprotocol-not-offered", { subprotocols: ["a"] });
    expect(await ws.receiveText()).toBe("open");
    expect(ws.subprotocol).toBeUndefined();
    expect(observed.callSiteErrors).toEqual([expect.stringMatching(/^RangeError: .*"never-offered".*offered "a"/)]);
    await ws.closed;
  });

  test("a send after close fails with SocketClosedError at the call site, never as an unhandled rejection", async () => {
    reset();
    unhandled.length = 0;
    const ws = await client.connect("/send-after-close");
    expect(await ws.closed).toMatchObject({ code: 4000, reason: "done" });
    expect(ws.pending).toBe(0);
    await settle(50);
    expect(observed.lateSends).toHaveLength(1);
    expect(observed.lateSends[0]).toBeInstanceOf(SocketClosedError);
    expect(unhandled).toEqual([]);
  });

  test("a handler that keeps sending after the client left gets SocketClosedError and ends quietly", async () => {
    reset();
    const ws = await client.connect("/keeps-sending");
    await ws.receiveText();
    await ws.close(1000);
    await settle(100);
    expect(observed.lateSends).toHaveLength(1);
    expect(observed.lateSends[0]).toBeInstanceOf(SocketClosedError);
    expect(observed.errors).toEqual([]);
  });

  test("invalid close codes and over-long reasons are RangeErrors at the call site; the connection stays open", async () => {
    reset();
    const ws = await client.connect("/invalid-close");
    expect(await ws.receiveText()).toBe("open");
    expect(observed.callSiteErrors).toEqual(["RangeError", "RangeError", "RangeError", "RangeError"]);
    expect(await ws.closed).toEqual({ code: 1000, reason: "x".repeat(123), wasClean: true });
  });

  test("lifecycle misuse throws SocketStateError at the call site", async () => {
    reset();
    const ws = await client.connect("/misuse");
    expect(await ws.receiveText()).toBe("ok");
    expect(observed.callSiteErrors).toEqual(["SocketStateError", "SocketStateError", "SocketStateError", "SocketStateError"]);
    expect(observed.errors).toEqual([]);
    await ws.closed;
    // Keep the import honest: the class the runtime throws is the exported one.
    expect(new SocketStateError("x")).toBeInstanceOf(Error);
  });

  test("path params, query, headers, cookies, client address and response headers", async () => {
    const ws = await client.connect("/rooms/lobby?x=1&x=2&y=%C3%A9", {
      headers: { "x-test": "yes", cookie: "session=abc%20def; theme=dark" },
    });
    expect(ws.headers["x-room"]).toBe("lobby");
    expect(await ws.receiveJson()).toEqual({
      room: "lobby",
      query: { x: "1", y: "é" },
      header: "yes",
      cookies: { session: "abc def", theme: "dark" },
      host: "127.0.0.1",
      path: "/rooms/lobby",
    });
    expect((await ws.closed).code).toBe(1000);
  });

  test("messages arrive in the order sent, text as text and binary as binary", async () => {
    const ws = await client.connect("/echo");
    for (let i = 0; i < 200; i++) {
      if (i % 2 === 0) ws.sendText(`m${i}`);
      else ws.sendBytes(Uint8Array.of(i));
    }
    for (let i = 0; i < 200; i++) {
      if (i % 2 === 0) expect(await ws.receiveText()).toBe(`m${i}`);
      else expect([...(await ws.receiveBytes())]).toEqual([i]);
    }
    await ws.close();
  });

  test("a frame of the wrong kind for receiveText closes with 1003; invalid JSON closes with 1007", async () => {
    const typed = await client.connect("/typed-json");
    typed.sendJson({ a: 1 });
    expect(await typed.receiveJson()).toEqual({ got: { a: 1 } });
    typed.sendBytes(Uint8Array.of(1, 2, 3));
    expect(await typed.closed).toMatchObject({ code: 1003, reason: "expected a text message" });
    const bad = await client.connect("/bad-json");
    bad.sendText("{not json");
    expect(await bad.closed).toMatchObject({ code: 1007, reason: "invalid JSON" });
  });

  test("a message over maxPayload closes the connection with 1009", async () => {
    const ws = await client.connect("/echo");
    ws.sendText("small");
    expect(await ws.receiveText()).toBe("small");
    ws.sendBytes(new Uint8Array(64 * 1024 + 1));
    expect((await ws.closed).code).toBe(1009);
  });
});
