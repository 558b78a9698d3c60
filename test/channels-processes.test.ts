/**
 * Several statewire processes behind one Redis: `examples/chat-rooms.ts` started twice as OS
 * processes on different ports, sharing a Redis (each run under its own key prefix). Clients of
 * process A publish; clients of process B receive every message, in publish order per
 * publisher; history is the same from both; a new member gets the last 20 first. For both
 * Redis backends.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { WebSocket } from "ws";
import { type EchoProcess, startServer } from "./support/process.js";
import { deleteKeys, redisUrl, uniquePrefix } from "./support/redis-server.js";
import { REDIS, skipWithout } from "./support/system-tools.js";

const noRedis = await skipWithout(REDIS, "two chat-rooms processes sharing Redis", import.meta.url);

interface Member {
  readonly ws: WebSocket;
  readonly received: string[];
  readonly closed: Promise<number>;
}

function member(base: string, room: string): Promise<Member> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base}/rooms/${room}`);
    const received: string[] = [];
    const closed = new Promise<number>((done) => ws.once("close", (code) => done(code)));
    ws.on("message", (data) => received.push(String(data)));
    ws.once("open", () => resolve({ ws, received, closed }));
    ws.once("error", reject);
  });
}

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Send a marker and wait until it comes back: the member has joined (its own publish reaches it). */
async function joined(m: Member, marker: string): Promise<void> {
  m.ws.send(marker);
  await until(() => m.received.includes(marker), `${marker} to come back`);
}

describe.skipIf(noRedis).each(["streams", "pubsub"] as const)("two chat-rooms processes sharing Redis (%s)", (backend) => {
  let url: string;
  const prefix = uniquePrefix(`chat-rooms-${backend}`);
  let a: EchoProcess;
  let b: EchoProcess;
  const members: Member[] = [];

  beforeAll(async () => {
    url = await redisUrl();
    const env = { REDIS_URL: url, REDIS_PREFIX: prefix, REDIS_BACKEND: backend };
    [a, b] = await Promise.all([
      startServer({ args: ["examples/chat-rooms.ts"], env }),
      startServer({ args: ["examples/chat-rooms.ts"], env }),
    ]);
  }, 30_000);
  afterAll(async () => {
    for (const m of members) m.ws.terminate();
    await Promise.all([a?.stop(), b?.stop()]);
    await deleteKeys(url, prefix);
  });

  test("clients of A publish, clients of B receive every message in each publisher's order; history agrees", async () => {
    expect(a.port).not.toBe(b.port);
    const [a1, a2, b1, b2] = await Promise.all([
      member(a.wsBase, "main"),
      member(a.wsBase, "main"),
      member(b.wsBase, "main"),
      member(b.wsBase, "main"),
    ]);
    members.push(a1!, a2!, b1!, b2!);
    for (const [i, m] of [a1!, a2!, b1!, b2!].entries()) await joined(m, `ready ${i}`);

    const count = 100;
    for (let i = 0; i < count; i++) {
      a1!.ws.send(`a1 ${i}`);
      a2!.ws.send(`a2 ${i}`);
    }
    const ofPublisher = (m: Member, who: string): string[] => m.received.filter((text) => text.startsWith(`${who} `));
    const expected = (who: string): string[] => Array.from({ length: count }, (_, i) => `${who} ${i}`);
    for (const m of [b1!, b2!, a1!, a2!]) {
      await until(() => ofPublisher(m, "a1").length + ofPublisher(m, "a2").length >= 2 * count, "every message");
      expect(ofPublisher(m, "a1")).toEqual(expected("a1"));
      expect(ofPublisher(m, "a2")).toEqual(expected("a2"));
    }
    // Every member saw the same total order (one stream / one Redis order per room).
    const relevant = (m: Member): string[] => m.received.filter((text) => text.startsWith("a1 ") || text.startsWith("a2 "));
    expect(relevant(b1!)).toEqual(relevant(a1!));
    expect(relevant(b2!)).toEqual(relevant(a2!));

    // History: the same from both processes, the last 50 texts.
    const [fromA = [], fromB] = await Promise.all(
      [a, b].map(async (server) => {
        const response = await fetch(`${server.httpBase}/rooms/main/history`);
        expect(response.status).toBe(200);
        expect(response.headers.get("content-type")).toMatch(/application\/json/);
        return (await response.json()) as string[];
      }),
    );
    expect(fromA).toHaveLength(50);
    expect(fromB).toEqual(fromA);
    expect(fromA).toEqual(relevant(b1!).slice(-50));

    // A new member on B first receives the last 20 messages, then live ones.
    const late = await member(b.wsBase, "main");
    members.push(late);
    await until(() => late.received.length >= 20, "the replayed history");
    expect(late.received.slice(0, 20)).toEqual(fromA.slice(-20));
    a1!.ws.send("live after join");
    await until(() => late.received.includes("live after join"), "a live message");
    expect(late.received.slice(20)).toEqual(["live after join"]);

    // Rooms are separate.
    const other = await member(a.wsBase, "other");
    members.push(other);
    await joined(other, "only in other");
    await sleep(200);
    expect(b1!.received).not.toContain("only in other");
  }, 60_000);
});
