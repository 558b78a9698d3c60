/**
 * Presence in one process: a tracked connection leaves when it closes (event and list), a
 * graceful close leaves every member at once while a crash leaves them to expire, and what a
 * caller passes is bounded (metadata size, names, a ttl shorter than the heartbeat).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, expect, test } from "vitest";
import { WebSocket } from "ws";
import { createApp, createPresence, memoryPresence, type Presence, type PresenceEvent, websocket } from "../src/index.js";

const opened: Presence[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((p) => p.close({ leave: false })));
});
function make(store = memoryPresence(), heartbeatMs = 50): Presence {
  const presence = createPresence({ store, heartbeatMs, ttlMs: heartbeatMs * 3 });
  opened.push(presence);
  return presence;
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
}

test("a tracked connection is a member until its connection closes", async () => {
  const presence = make();
  const events: PresenceEvent[] = [];
  presence.on((event) => events.push(event), "lobby");
  const route = websocket("/lobby", async (socket) => {
    await socket.accept();
    await presence.track(socket, "lobby", { name: "ann" });
    await socket.sendText("joined");
    for await (const _ of socket) {
      // listen
    }
  });
  const app = createApp({ routes: [route] });
  const { url } = await app.listen();
  try {
    const ws = new WebSocket(`${url.replace("http", "ws")}/lobby`);
    await new Promise((resolve) => ws.once("message", resolve));
    expect((await presence.list("lobby")).map((m) => m.meta)).toEqual([{ name: "ann" }]);
    ws.close(1000);
    await until(async () => (await presence.list("lobby")).length === 0, "the member to leave");
    await until(() => events.length === 2, "join and leave events");
    expect(events.map((e) => [e.type, e.meta])).toEqual([
      ["join", { name: "ann" }],
      ["leave", { name: "ann" }],
    ]);
  } finally {
    await app.close({ timeoutMs: 1000 });
  }
});

test("close() leaves every member at once; a crash leaves them until the ttl has passed", async () => {
  // A ttl long enough that the crashed member is surely still listed right after the crash.
  const store = memoryPresence();
  const watcher = make(store, 500);
  const graceful = make(store, 500);
  const crashed = make(store, 500);
  await Promise.all([watcher.ready, graceful.ready, crashed.ready]);
  await graceful.join("r", "g1");
  await crashed.join("r", "c1");
  const leaves: string[] = [];
  watcher.on((event) => event.type === "leave" && leaves.push(event.id));
  await graceful.close();
  await crashed.close({ leave: false });
  expect((await watcher.list("r")).map((m) => m.id)).toEqual(["c1"]);
  await until(() => leaves.includes("g1"), "g1's leave");
  await until(async () => (await watcher.list("r")).length === 0, "c1 to expire", crashed.ttlMs + 2000);
  await until(() => leaves.includes("c1"), "c1 reaped");
});

test("what callers pass is bounded", async () => {
  const presence = make();
  await expect(presence.join("r", "x", "y".repeat(5000))).rejects.toThrow(/metadata is 5002 bytes of JSON; at most 4096/);
  await expect(presence.join("", "x")).rejects.toThrow(/a room is a string of 1-512 characters/);
  await expect(presence.join("r", "i".repeat(513))).rejects.toThrow(/a member id is a string of 1-512 characters/);
  expect(() => createPresence({ heartbeatMs: 100, ttlMs: 100 })).toThrow(/ttlMs \(100\) must exceed heartbeatMs \(100\)/);
  expect(await presence.list("r")).toEqual([]);
});

test("a process reaped while it was away (paused past its expiry) joins its members again at its next heartbeat", async () => {
  const store = memoryPresence();
  const away = make(store, 50);
  await away.ready;
  await away.join("r", "m1", { n: 1 });
  // What another process's reaper does to a process it considers dead.
  await store.leaveAll(away.processId);
  expect(await away.list("r")).toEqual([]);
  await until(async () => (await away.list("r")).length === 1, "m1 to be joined again");
  expect(await away.list("r")).toEqual([{ id: "m1", meta: { n: 1 }, process: away.processId }]);
});
