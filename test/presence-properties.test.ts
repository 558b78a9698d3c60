/**
 * Presence converges: after any sequence of joins, leaves, graceful closes and crashes (an
 * instance that stops heartbeating without cleaning up) across several presence instances —
 * processes — every live instance lists the same members, exactly those of live instances that
 * joined and did not leave, once the bound (ttl + one heartbeat) has passed; and an instance
 * that watched from the start, replaying the join/leave events it received, holds that same
 * list. On the memory store and on a real Redis (each run under its own key prefix).
 */
import { setTimeout as sleep } from "node:timers/promises";
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { createPresence, type Presence, type PresenceEvent, type PresenceStore } from "../src/channels/presence.js";
import { memoryPresence } from "../src/channels/presence-memory.js";
import { redisPresence } from "../src/channels/presence-redis.js";
import { deleteKeys, redisUrl, uniquePrefix } from "./support/redis-server.js";

const DEEP = process.env.STATEWIRE_DEEP === "1";
const RUNS = DEEP ? 100 : 12;
const HEARTBEAT_MS = 100;
const TTL_MS = 500;
const SLOTS = 3;
const ROOMS = ["lobby", "game"] as const;

type Op =
  | { kind: "join"; slot: number; room: string; id: string; meta: number }
  | { kind: "leave"; slot: number; room: string; id: string }
  | { kind: "close"; slot: number }
  | { kind: "crash"; slot: number };

const slot = fc.integer({ min: 0, max: SLOTS - 1 });
const room = fc.constantFrom(...ROOMS);
const id = fc.constantFrom("a", "b", "c");
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("join" as const), slot, room, id, meta: fc.integer({ min: 0, max: 9 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("leave" as const), slot, room, id }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("close" as const), slot }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("crash" as const), slot }) },
);

type Row = [room: string, process: string, id: string, meta: unknown];
const sortRows = (rows: Row[]): Row[] => rows.sort((x, y) => (x.join("\u0000") < y.join("\u0000") ? -1 : 1));

async function converges(ops: Op[], newStore: () => PresenceStore): Promise<void> {
  const all: Presence[] = [];
  const make = async (): Promise<Presence> => {
    const presence = createPresence({ store: newStore(), heartbeatMs: HEARTBEAT_MS, ttlMs: TTL_MS });
    all.push(presence);
    await presence.ready;
    return presence;
  };
  try {
    const watcher = await make();
    const seen = new Map<string, Row>();
    watcher.on((event: PresenceEvent) => {
      const key = `${event.room}\n${event.process}\n${event.id}`;
      if (event.type === "join") seen.set(key, [event.room, event.process, event.id, event.meta]);
      else seen.delete(key);
    });
    const slots: Presence[] = [];
    for (let i = 0; i < SLOTS; i++) slots.push(await make());
    // The model: what each live slot holds.
    const model = new Map<string, Row>();
    for (const step of ops) {
      const presence = slots[step.slot]!;
      const process = presence.processId;
      switch (step.kind) {
        case "join":
          await presence.join(step.room, step.id, step.meta);
          model.set(`${step.room}\n${process}\n${step.id}`, [step.room, process, step.id, step.meta]);
          break;
        case "leave":
          await presence.leave(step.room, step.id);
          model.delete(`${step.room}\n${process}\n${step.id}`);
          break;
        case "close":
        case "crash":
          await presence.close({ leave: step.kind === "close" });
          for (const key of [...model.keys()]) if (key.split("\n")[1] === process) model.delete(key);
          slots[step.slot] = await make();
          break;
      }
    }
    // The bound: a crashed instance's members are gone from lists after ttl, and reaped (leave events) within ttl + one heartbeat.
    await sleep(TTL_MS + HEARTBEAT_MS * 2);
    const expected = sortRows([...model.values()]);
    for (const presence of [watcher, ...slots]) {
      const rows: Row[] = [];
      for (const name of ROOMS) for (const member of await presence.list(name)) rows.push([name, member.process, member.id, member.meta]);
      expect(sortRows(rows)).toEqual(expected);
    }
    expect(sortRows([...seen.values()])).toEqual(expected);
  } finally {
    // Crash everything left: nothing is removed, and the run's prefix is deleted afterwards.
    await Promise.all(all.map((presence) => presence.close({ leave: false })));
  }
}

describe("presence converges within its bound", () => {
  test("memory store", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 20 }), async (ops) => {
        const store = memoryPresence();
        await converges(ops, () => store);
      }),
      { numRuns: RUNS },
    );
  }, DEEP ? 900_000 : 120_000);

  const prefixes: string[] = [];
  let url = "";
  afterAll(async () => {
    for (const prefix of prefixes) await deleteKeys(url, prefix);
  });

  test("Redis store, instances as processes", async () => {
    url = await redisUrl();
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 20 }), async (ops) => {
        const keyPrefix = uniquePrefix("presence");
        prefixes.push(keyPrefix);
        await converges(ops, () => redisPresence({ url, keyPrefix }));
      }),
      { numRuns: RUNS },
    );
  }, DEEP ? 900_000 : 180_000);
});
