/**
 * Guards and middleware, liveness, limits, backpressure and origin checks. Each
 * limit's close code or HTTP status is asserted from a real TCP client.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, test } from "vitest";
import { WebSocket } from "ws";
import {
  type App,
  type AppOptions,
  bearerToken,
  connectionRate,
  createApp,
  type Guard,
  group,
  type Logger,
  WebSocketError,
  websocket,
  websocketListener,
  websocketStream,
} from "../src/index.js";
import { HandshakeRejected, testClient } from "../src/testing/index.js";

const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };
const apps: App[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close({ timeoutMs: 1000 });
});

function start(options: AppOptions, receiveTimeoutMs = 5000) {
  const app = createApp({ logger: quiet, ...options });
  apps.push(app);
  return { app, client: testClient(app, { transport: "tcp", receiveTimeoutMs }) };
}

const echo = (path: string) =>
  websocket(path, async (socket) => {
    await socket.accept();
    for await (const message of socket) await socket.sendText(String(message));
  });

async function refusal(promise: Promise<unknown>): Promise<HandshakeRejected> {
  const error = await promise.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(HandshakeRejected);
  return error as HandshakeRejected;
}

describe("guards and middleware", () => {
  test("run app → group → route, before accept; they see headers, query, params, cookies, client, and set state", async () => {
    const order: string[] = [];
    const tag =
      (name: string): Guard =>
      async (context, next) => {
        order.push(`${name} in`);
        await next();
        order.push(`${name} out`);
      };
    const { client } = start({
      guards: [tag("app")],
      routes: [
        group(
          "/g",
          [
            websocket(
              "/:room",
              async (socket) => {
                await socket.accept();
                await socket.sendJson({ state: socket.state, order });
              },
              {
                guards: [
                  (context, next) => {
                    context.state.seen = {
                      room: (context.params as { room: string }).room,
                      q: context.query.q,
                      header: context.headers["x-h"],
                      cookie: context.cookies.c,
                      host: context.client.host,
                      lifecycle: context.socket.lifecycle,
                    };
                    return next();
                  },
                ],
              },
            ),
          ],
          { guards: [tag("group")] },
        ),
      ],
    });
    const ws = await client.connect("/g/lobby?q=1", { headers: { "x-h": "yes", cookie: "c=v" } });
    expect(await ws.receiveJson()).toEqual({
      state: { seen: { room: "lobby", q: "1", header: "yes", cookie: "v", host: "127.0.0.1", lifecycle: "connecting" } },
      order: ["app in", "group in", "group out", "app out"],
    });
  });

  test("a guard refuses with an HTTP status, or with a close code a browser can read", async () => {
    const { client } = start({
      routes: [
        websocket("/status", async (s) => s.accept(), {
          guards: [
            () => {
              throw Object.assign(new Error("nope"), { status: 451 });
            },
          ],
        }),
        websocket("/close", async (s) => s.accept(), {
          guards: [
            () => {
              throw new WebSocketError(4003, "Forbidden room");
            },
          ],
        }),
        websocket("/reject", async (s) => s.accept(), { guards: [(context) => context.socket.reject(402)] }),
      ],
    });
    expect((await refusal(client.connect("/status"))).status).toBe(451);
    const closed = await client.connect("/close");
    expect(await closed.closed).toMatchObject({ code: 4003, reason: "Forbidden room" });
    expect((await refusal(client.connect("/reject"))).status).toBe(402);
  });

  test("a guard that forgets next() refuses (403) rather than letting the connection through", async () => {
    const { client } = start({ routes: [websocket("/x", async (s) => s.accept(), { guards: [function forgetful() {}] })] });
    const refused = await refusal(client.connect("/x"));
    expect(refused.status).toBe(403);
    expect(refused.body).toContain('"forgetful"');
  });

  test("bearerToken: header or query token; 401 with WWW-Authenticate, or a close code", async () => {
    const users: Record<string, string> = { "alice-token": "Alice" };
    const verify = (token: string) => users[token];
    const { client } = start({
      routes: [
        websocketListener("/http", {
          guards: [bearerToken({ verify, queryParameter: "token" })],
          handler: (_text, { socket }) => `hi ${String(socket.state.user)}`,
        }),
        websocketListener("/close", {
          guards: [bearerToken({ verify, refuseWith: 4001 })],
          handler: (_text, { socket }) => `hi ${String(socket.state.user)}`,
        }),
      ],
    });
    const viaHeader = await client.connect("/http", { headers: { authorization: "Bearer alice-token" } });
    viaHeader.sendText("?");
    expect(await viaHeader.receiveText()).toBe("hi Alice");
    const viaQuery = await client.connect("/http?token=alice-token");
    viaQuery.sendText("?");
    expect(await viaQuery.receiveText()).toBe("hi Alice");
    const missing = await refusal(client.connect("/http"));
    expect(missing.status).toBe(401);
    expect(missing.headers["www-authenticate"]).toBe("Bearer");
    expect((await refusal(client.connect("/http?token=bad"))).status).toBe(401);
    const closed = await client.connect("/close", { headers: { authorization: "Bearer wrong" } });
    expect(await closed.closed).toMatchObject({ code: 4001, reason: "Invalid token" });
  });

  test("bearerToken: the scheme is case-insensitive (RFC 7235); another scheme or an empty token is refused", async () => {
    const users = new Map([["alice-token", "Alice"]]);
    const { client } = start({
      routes: [
        websocketListener("/http", {
          guards: [bearerToken({ verify: (token) => users.get(token) })],
          handler: (_text, { socket }) => `hi ${String(socket.state.user)}`,
        }),
      ],
    });
    for (const authorization of ["bearer alice-token", "BEARER alice-token", "BeArEr \talice-token "]) {
      const socket = await client.connect("/http", { headers: { authorization } });
      socket.sendText("?");
      expect(await socket.receiveText()).toBe("hi Alice");
      await socket.close();
    }
    for (const authorization of ["Basic alice-token", "Bearer", "Bearer ", "Beareralice-token", "Bearer alice-token extra"]) {
      expect((await refusal(client.connect("/http", { headers: { authorization } }))).status).toBe(401);
    }
  });

  test("connectionRate: the handshake after `max` in a window gets 429 with Retry-After", async () => {
    const { client } = start({ routes: [echo("/e")], guards: [connectionRate({ max: 3, windowMs: 60_000 })] });
    for (let i = 0; i < 3; i++) await (await client.connect("/e")).close();
    const refused = await refusal(client.connect("/e"));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers["retry-after"])).toBeGreaterThanOrEqual(1);
  });

  test("allowedOrigins: a foreign Origin gets 403; an allowed one and none pass", async () => {
    const { client } = start({ allowedOrigins: ["https://app.example"], routes: [echo("/e")] });
    expect((await refusal(client.connect("/e", { headers: { origin: "https://evil.example" } }))).status).toBe(403);
    await (await client.connect("/e", { headers: { origin: "https://app.example" } })).close();
    await (await client.connect("/e")).close();
  });
});

describe("liveness", () => {
  test("a peer that does not answer pings is terminated and recorded as 1006; one that answers stays", async () => {
    const outcomes: number[] = [];
    const { app } = start({
      heartbeat: { intervalMs: 100, timeoutMs: 150 },
      routes: [
        websocket("/hb", async (socket) => {
          await socket.accept();
          void socket.closed.then((outcome) => outcomes.push(outcome.code));
          for await (const _ of socket);
        }),
      ],
    });
    const { url } = await app.listen();
    const open = (autoPong: boolean) => new WebSocket(`${url.replace("http", "ws")}/hb`, { autoPong });
    const silent = open(false);
    const healthy = open(true);
    const silentClosed = new Promise<number>((resolve) => silent.on("close", (code) => resolve(code)));
    expect(await silentClosed).toBe(1006);
    await expect.poll(() => outcomes).toEqual([1006]);
    await sleep(400);
    expect(healthy.readyState).toBe(WebSocket.OPEN);
    healthy.close();
  });

  test("a handshake the handler never answers is dropped after handshakeTimeoutMs", async () => {
    const { client, app } = start({
      handshakeTimeoutMs: 150,
      routes: [websocket("/never", () => new Promise<void>(() => {}))],
    });
    const started = Date.now();
    const error = await client.connect("/never").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(Date.now() - started).toBeLessThan(2000);
    await expect.poll(() => app.stats().open).toBe(0);
  });

  test("idleTimeoutMs closes a silent connection with 1001", async () => {
    const { client } = start({ idleTimeoutMs: 150, routes: [echo("/e")] });
    const ws = await client.connect("/e");
    expect(await ws.closed).toMatchObject({ code: 1001, reason: "Idle timeout" });
  });
});

describe("limits", () => {
  test("maxPayload closes with 1009", async () => {
    const { client } = start({ maxPayload: 1024, routes: [echo("/e")] });
    const ws = await client.connect("/e");
    ws.sendText("x".repeat(1025));
    expect((await ws.closed).code).toBe(1009);
  });

  test("maxConnections (app), per route and per address answer 503 with Retry-After", async () => {
    const { client: appWide } = start({ maxConnections: 2, routes: [echo("/a"), echo("/b")] });
    const a1 = await appWide.connect("/a");
    const b1 = await appWide.connect("/b");
    const full = await refusal(appWide.connect("/a"));
    expect(full.status).toBe(503);
    expect(full.headers["retry-after"]).toBe("5");
    await a1.close();
    await sleep(20);
    await (await appWide.connect("/a")).close();
    await b1.close();

    const { client: perRoute } = start({ routes: [websocket("/one", async (s) => s.accept().then(() => sleep(5000)), { maxConnections: 1 }), echo("/other")] });
    await perRoute.connect("/one");
    expect((await refusal(perRoute.connect("/one"))).status).toBe(503);
    await (await perRoute.connect("/other")).close();

    const { client: perAddress } = start({ maxConnectionsPerAddress: 1, routes: [echo("/e")] });
    const first = await perAddress.connect("/e");
    expect((await refusal(perAddress.connect("/e"))).status).toBe(503);
    await first.close();
  });

  test("messageRate closes a flooding connection with 1008", async () => {
    const { client } = start({ routes: [echo("/e")], messageRate: { perSecond: 5, burst: 5 } });
    const ws = await client.connect("/e");
    for (let i = 0; i < 20; i++) ws.sendText(`m${i}`);
    expect(await ws.closed).toMatchObject({ code: 1008, reason: "Message rate exceeded" });
  });
});

describe("backpressure", () => {
  const firehose = (counter: { pulls: number }) =>
    websocketStream("/fire", async function* () {
      for (;;) {
        counter.pulls++;
        yield "y".repeat(4096);
      }
    });

  test('"close" ends a client that stops reading with 1008', async () => {
    const counter = { pulls: 0 };
    const { client } = start({ backpressure: { highWaterMark: 64 * 1024, policy: "close" }, routes: [firehose(counter)] });
    const ws = await client.connect("/fire");
    ws.pauseReading();
    // Kernel buffers on loopback take megabytes before the server's own buffer grows; once it
    // passes the mark the connection closes and the stream stops pulling.
    let last = -1;
    for (let i = 0; i < 200 && counter.pulls !== last; i++) {
      last = counter.pulls;
      await sleep(50);
    }
    ws.resumeReading();
    const closed = await ws.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toBe("Slow consumer");
  });

  test('"drop" drops the newest frames while the client does not read, and the connection stays open', async () => {
    const dropped: number[] = [];
    // The end marker itself may be dropped: reading stops when nothing more comes for 300 ms.
    const { client } = start({
      backpressure: { highWaterMark: 16 * 1024, policy: "drop" },
      routes: [
        websocket("/burst", async (socket) => {
          await socket.accept();
          await socket.receiveText();
          // 32 MiB: more than loopback's kernel buffers can hide.
          for (let i = 0; i < 2000; i++) await socket.sendText(`${i}:${"z".repeat(16 * 1024)}`);
          await socket.sendText("end");
          dropped.push(1);
          for await (const _ of socket);
        }),
      ],
    }, 300);
    const ws = await client.connect("/burst");
    ws.pauseReading();
    ws.sendText("go");
    await expect.poll(() => dropped.length, { timeout: 5000 }).toBe(1);
    ws.resumeReading();
    let received = 0;
    for (;;) {
      const text = await ws.receiveText().catch(() => "end");
      if (text === "end") break;
      received++;
    }
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(2000);
    await ws.close();
  });

  test('"wait" (default): a stream to a client that stops reading stops pulling, and resumes', async () => {
    const counter = { pulls: 0 };
    const { client } = start({ backpressure: { highWaterMark: 16 * 1024 }, routes: [firehose(counter)] });
    const ws = await client.connect("/fire");
    ws.pauseReading();
    let last = -1;
    for (let i = 0; i < 100 && counter.pulls !== last; i++) {
      last = counter.pulls;
      await sleep(50);
    }
    await sleep(100);
    expect(counter.pulls).toBe(last);
    ws.resumeReading();
    await expect.poll(() => counter.pulls).toBeGreaterThan(last);
    await ws.abort();
  });
});
