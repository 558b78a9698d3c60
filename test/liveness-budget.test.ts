/**
 * Liveness and the `"wait"` deadline, over real TCP on 127.0.0.1 with short timeouts:
 * - one member of a room that never reads does not freeze the room: its publisher's waits end
 *   after `sendTimeoutMs`, the silent member is closed (1008 `Slow consumer`), and the
 *   publisher — whose socket we paused meanwhile — is not the one terminated;
 * - only a pong that echoes our ping's payload answers it: unsolicited pongs from a client that
 *   never reads do not keep it alive;
 * - a client that sends but never reads is found by its unread outbound data and terminated,
 *   its messages notwithstanding.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, test } from "vitest";
import { type AnySocket, type App, type AppOptions, createApp, type Logger, websocket, websocketListener } from "../src/index.js";
import { testClient } from "../src/testing/index.js";
import { encodeFrame, Opcode, RawClient } from "./support/raw-client.js";

const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };
const apps: App[] = [];
const clients: RawClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  for (const app of apps.splice(0)) await app.close({ timeoutMs: 1000 });
});

async function start(options: Omit<AppOptions, "logger">): Promise<{ app: App; port: number }> {
  const app = createApp({ logger: quiet, ...options });
  apps.push(app);
  const { port } = await app.listen({ port: 0, host: "127.0.0.1" });
  return { app, port };
}

async function raw(port: number, path: string): Promise<RawClient> {
  const client = await RawClient.connect(port, path, { autoPong: false });
  clients.push(client);
  return client;
}

function roomRoute() {
  const members = new Set<AnySocket>();
  return websocket("/room", async (socket) => {
    await socket.accept();
    members.add(socket);
    try {
      for await (const message of socket) {
        for (const member of [...members]) if (member !== socket) await member.sendText(String(message)).catch(() => {});
        await socket.sendText("ok");
      }
    } finally {
      members.delete(socket);
    }
  });
}

describe('"wait" has a deadline', () => {
  test("a silent room member is closed 1008 Slow consumer after sendTimeoutMs, and the publisher goes on", async () => {
    const { app, port } = await start({
      routes: [roomRoute()],
      // The heartbeat is far away: only the send deadline can end the wait.
      heartbeat: { intervalMs: 60_000, timeoutMs: 60_000 },
      backpressure: { highWaterMark: 16 * 1024, sendTimeoutMs: 500 },
    });
    const silent = await raw(port, "/room");
    silent.pause();
    const publisher = await testClient(app, { transport: "tcp", receiveTimeoutMs: 5000 }).connect("/room");
    await expect.poll(() => app.stats().open).toBe(2);
    // 8 MiB: more than loopback's kernel buffers hide, so the silent member's sends must wait.
    const chunk = "m".repeat(64 * 1024);
    for (let i = 0; i < 128; i++) {
      publisher.sendText(chunk);
      expect(await publisher.receiveText()).toBe("ok");
    }
    // The silent member reads at last: after what fitted, the server's close frame.
    silent.resume();
    expect(await silent.closeFrame(10_000)).toEqual({ code: 1008, reason: "Slow consumer" });
    publisher.sendText("still here");
    expect(await publisher.receiveText()).toBe("ok");
    await publisher.close();
  }, 30_000);
});

describe("heartbeat while we do not read", () => {
  test("a client whose socket we paused (its handler is behind) is not terminated for a pong we could not read", async () => {
    const { app, port } = await start({
      routes: [
        websocketListener("/slow", async (text: string) => {
          await sleep(150);
          return text;
        }),
      ],
      inboundHighWater: 2,
      heartbeat: { intervalMs: 100, timeoutMs: 200 },
    });
    // Answers pings, as any client does, but the server stops reading it for ~1.5 s.
    const client = await RawClient.connect(port, "/slow");
    clients.push(client);
    for (let i = 0; i < 10; i++) await client.sendText(`m${i}`);
    await expect.poll(() => client.frames.filter((f) => f.opcode === Opcode.TEXT).length, { timeout: 5000 }).toBe(10);
    expect(client.frames.filter((f) => f.opcode === Opcode.TEXT).map((f) => f.payload.toString())).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
    expect(client.isClosed).toBe(false);
    expect(app.stats().closed).toBe(0);
  }, 15_000);
});

describe("liveness", () => {
  test("unsolicited pongs from a client that never reads do not keep it alive", async () => {
    const { app, port } = await start({ routes: [roomRoute()], heartbeat: { intervalMs: 100, timeoutMs: 200 } });
    const client = await raw(port, "/room");
    client.pause();
    const pong = encodeFrame({ opcode: Opcode.PONG, payload: Buffer.alloc(8) });
    const timer = setInterval(() => client.writeNow(pong), 20);
    try {
      const ended = await Promise.race([client.ended.then(() => "ended"), sleep(3000).then(() => "alive")]);
      expect(ended).toBe("ended");
      expect(app.stats().closed).toBe(1);
    } finally {
      clearInterval(timer);
    }
  });

  test("a client that sends but never reads is terminated by the heartbeat: its unread data speaks louder", async () => {
    const { app, port } = await start({
      routes: [websocketListener("/big", () => "b".repeat(64 * 1024))],
      heartbeat: { intervalMs: 100, timeoutMs: 300 },
      // "drop": the server never waits on it, so nothing but the heartbeat can end it.
      backpressure: { policy: "drop" },
    });
    const client = await raw(port, "/big");
    client.pause();
    const message = encodeFrame({ opcode: Opcode.TEXT, payload: "hi" });
    const timer = setInterval(() => client.writeNow(message), 5);
    try {
      const ended = await Promise.race([client.ended.then(() => "ended"), sleep(6000).then(() => "alive")]);
      expect(ended).toBe("ended");
      expect(app.stats().messages.dropped).toBeGreaterThan(0);
    } finally {
      clearInterval(timer);
    }
  }, 15_000);

  test("a client that reads and answers pings stays connected while it sends", async () => {
    const { app, port } = await start({ routes: [roomRoute()], heartbeat: { intervalMs: 100, timeoutMs: 200 } });
    const client = await RawClient.connect(port, "/room");
    clients.push(client);
    // Gaps longer than the ping interval, so that pings go out and must be answered.
    for (let i = 0; i < 5; i++) {
      await client.sendText(`m${i}`);
      await sleep(250);
    }
    expect(client.frames.some((frame) => frame.opcode === Opcode.PING)).toBe(true);
    expect(client.isClosed).toBe(false);
    expect(app.stats().open).toBe(1);
  });
});
