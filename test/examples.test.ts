/**
 * Every example runs on its own (as `PORT=… node --conditions=statewire-source --import tsx examples/<name>.ts`) and does what its
 * comments say, driven in-process over memory and TCP.
 */
import { readdirSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { WebSocket } from "ws";
import { app as classApp } from "../examples/class-based.js";
import { app as dependenciesApp, resources } from "../examples/dependencies.js";
import { app as listenersApp } from "../examples/listeners.js";
import { app as streamsApp } from "../examples/streams.js";
import type { App } from "../src/index.js";
import { HandshakeRejected, testClient } from "../src/testing/index.js";
import { ROOT, startServer } from "./support/process.js";

const runnable = readdirSync(`${ROOT}/examples`).filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts") && file !== "serve.ts");

describe("each example starts alone and answers", () => {
  test.each(runnable)("examples/%s", async (file) => {
    // workers.ts starts three processes (a primary and 2 workers): on a busy machine that takes a while.
    const server = await startServer({ args: [`examples/${file}`] }, file === "workers.ts" ? 60_000 : undefined);
    try {
      // Any route answers the handshake; an unknown one is a clean 404, which proves the server serves.
      const status = await new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${server.wsBase}/__no_such_route__`);
        ws.on("unexpected-response", (_request, response) => resolve(response.statusCode ?? 0));
        ws.on("open", () => reject(new Error("opened an unknown route")));
        ws.on("error", () => {});
      });
      expect(status).toBe(404);
    } finally {
      await server.stop();
    }
    expect(server.killed()).toBe(false);
  });
});

describe.each(["memory", "tcp"] as const)("examples over %s", (transport) => {
  const apps: App[] = [listenersApp, streamsApp, classApp, dependenciesApp];
  const clients = new Map<App, ReturnType<typeof testClient>>();
  const client = (app: App): ReturnType<typeof testClient> => clients.get(app)!;
  beforeAll(() => {
    for (const app of apps) clients.set(app, testClient(app, { transport }));
  });
  afterAll(async () => {
    for (const c of clients.values()) await c.close();
  });

  test("listeners.ts: echo, validated chat, binary, socket access", async () => {
    const echo = await client(listenersApp).connect("/listener/echo");
    echo.sendText("hi");
    expect(await echo.receiveText()).toBe("Echo: hi");
    await echo.close();

    const chat = await client(listenersApp).connect("/listener/chat");
    chat.sendJson({ user: "ann", content: "yo" });
    expect(await chat.receiveJson()).toEqual({ user: "ann", response: "Received: yo" });
    chat.sendJson({ user: "ann" });
    expect((await chat.closed).code).toBe(1007);

    const binary = await client(listenersApp).connect("/listener/binary");
    binary.sendBytes(Uint8Array.of(1, 2, 3));
    expect([...(await binary.receiveBytes())]).toEqual([3, 2, 1]);
    binary.sendText("text");
    expect((await binary.closed).code).toBe(1003);

    const socket = await client(listenersApp).connect("/listener/socket");
    expect(await socket.receiveText()).toBe("Hello 127.0.0.1");
    socket.sendText("m");
    expect(await socket.receiveText()).toBe("Received: m");
    await socket.close();
  });

  test("streams.ts: timestamps at the interval, progress to 100 then 1000", async () => {
    const time = await client(streamsApp).connect("/time?interval=20");
    const first = Date.parse(await time.receiveText());
    const second = Date.parse(await time.receiveText());
    expect(Number.isNaN(first)).toBe(false);
    expect(second).toBeGreaterThanOrEqual(first);
    await time.close();

    const progress = await client(streamsApp).connect("/progress?delay=0");
    for (let i = 0; i < 100; i++) {
      expect(await progress.receiveJson()).toMatchObject({ status: "processing", progress: i / 100 });
    }
    expect((await progress.closed).code).toBe(1000);

    const countdown = await client(streamsApp).connect("/countdown?from=3&interval=30");
    expect(await countdown.receiveJson()).toEqual({ remaining: 3 });
    countdown.sendText("stop");
    // The stream listens while it pushes: the ack comes, and the countdown ends early.
    const rest: unknown[] = [];
    for (;;) {
      const next = await countdown.receiveJson().catch(() => undefined);
      if (next === undefined) break;
      rest.push(next);
    }
    expect(rest).toContainEqual({ ack: "stop" });
    expect(rest.filter((value) => (value as { remaining?: number }).remaining !== undefined).length).toBeLessThan(2);
    expect(await countdown.closed).toMatchObject({ code: 1000, reason: "liftoff" });
  });

  test("class-based.ts: a room where each message reaches the others and the sender once", async () => {
    const alice = await client(classApp).connect("/class/room?name=Alice");
    const bob = await client(classApp).connect("/class/room?name=Bob");
    await sleep(20);
    alice.sendText("hello");
    expect(await alice.receiveText()).toBe("Alice: hello");
    expect(await bob.receiveText()).toBe("Alice: hello");
    await sleep(20);
    expect(alice.pending).toBe(0);
    await alice.close();
    await bob.close();
  });

  test("dependencies.ts: a token-derived user (403 without), and a resource released after close", async () => {
    const denied = await client(dependenciesApp).connect("/listener/secured?token=nope").catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(HandshakeRejected);
    expect((denied as HandshakeRejected).status).toBe(403);
    const alice = await client(dependenciesApp).connect("/listener/secured?token=alice-token");
    alice.sendText("x");
    expect(await alice.receiveText()).toBe("Hello Alice, you sent: x");
    await alice.close();

    const before = { ...resources };
    const db = await client(dependenciesApp).connect("/listener/db");
    db.sendText("q");
    expect(await db.receiveText()).toBe("Result: q");
    expect(resources.acquired).toBe(before.acquired + 1);
    expect(resources.released).toBe(before.released);
    await db.close();
    await expect.poll(() => resources.released).toBe(before.released + 1);
  });
});
