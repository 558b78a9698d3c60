/**
 * The memory backend forgets channels nobody listens to: client-made names (`/rooms/:room`)
 * cannot grow the process without bound. Idle channels past `maxIdleChannels` or `maxIdleBytes`
 * (least recently used first) or older than `idleTimeoutMs` lose their history; a channel with
 * a subscriber never does. Property: any sequence of subscribe / publish / unsubscribe over
 * generated names keeps the idle channels within the bounds and the history of every subscribed
 * channel exact. 300 runs in `npm test`, 5 000 with STATEWIRE_DEEP=1.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { createChannels, memoryBackend, type Subscription } from "../src/index.js";

const DEEP = process.env.STATEWIRE_DEEP === "1";
const RUNS = DEEP ? 5_000 : 300;

describe("throw-away channel names", () => {
  test("2 000 rooms published to and left: only the newest 1 000 keep history (the default bound)", async () => {
    const backend = memoryBackend();
    const channels = createChannels({ backend, history: 50 });
    try {
      for (let i = 0; i < 2000; i++) {
        const room = `room-${i}`;
        const subscription = channels.subscribe(room);
        await subscription.ready;
        await channels.publish(`hello ${i}`, room);
        subscription.end();
      }
      await new Promise((resolve) => setImmediate(resolve));
      expect(await channels.history("room-0")).toEqual([]);
      expect(await channels.history("room-1999")).toEqual(["hello 1999"]);
      expect(backend.retention()).toMatchObject({ channels: 1000, idle: 1000, evicted: 1000 });
    } finally {
      await channels.close();
    }
  });

  test("history bytes of idle channels stay within maxIdleBytes (64 MiB by default)", async () => {
    const backend = memoryBackend();
    const channels = createChannels({ backend, history: 50 });
    const message = "x".repeat(16 * 1024); // 32 KiB as counted
    try {
      for (let i = 0; i < 200; i++) for (let m = 0; m < 50; m++) await channels.publish(message, `room-${i}`);
      const { idleBytes, idle } = backend.retention();
      expect(idleBytes).toBeLessThanOrEqual(64 * 1024 * 1024);
      expect(idle).toBeLessThan(200);
      expect(await channels.history("room-199")).toHaveLength(50);
    } finally {
      await channels.close();
    }
  });

  test("an idle channel is forgotten idleTimeoutMs after its last use; a subscribed one is kept", async () => {
    const backend = memoryBackend({ idleTimeoutMs: 50 });
    const channels = createChannels({ backend, history: 5 });
    try {
      const kept = channels.subscribe("kept");
      await kept.ready;
      await channels.publish("a", "kept");
      await channels.publish("b", "idle");
      await expect.poll(() => backend.retention().evicted, { timeout: 2000 }).toBe(1);
      expect(await channels.history("idle")).toEqual([]);
      expect(await channels.history("kept")).toEqual(["a"]);
      kept.end();
    } finally {
      await channels.close();
    }
  });

  test("options are checked", () => {
    expect(() => memoryBackend({ maxIdleChannels: 0 })).toThrow(RangeError);
    expect(() => memoryBackend({ maxIdleBytes: -1 })).toThrow(RangeError);
    expect(() => memoryBackend({ idleTimeoutMs: Number.NaN })).toThrow(RangeError);
  });
});

type Command =
  | { readonly kind: "subscribe"; readonly channel: string }
  | { readonly kind: "unsubscribe"; readonly pick: number }
  | { readonly kind: "publish"; readonly channel: string; readonly size: number };

const name = fc.constantFrom("a", "b", "c", "d", "constructor", "__proto__");
const command: fc.Arbitrary<Command> = fc.oneof(
  name.map((channel) => ({ kind: "subscribe", channel }) as const),
  fc.nat().map((pick) => ({ kind: "unsubscribe", pick }) as const),
  fc.tuple(name, fc.integer({ min: 1, max: 400 })).map(([channel, size]) => ({ kind: "publish", channel, size }) as const),
);

test("property: idle channels stay within the bounds; a subscribed channel's history is exact", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(command, { maxLength: 60, size: "max" }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 500, max: 4000 }),
      async (commands, maxIdleChannels, maxIdleBytes) => {
        const HISTORY = 3;
        const backend = memoryBackend({ maxIdleChannels, maxIdleBytes });
        const channels = createChannels({ backend, history: HISTORY });
        const live: Subscription[] = [];
        /** For each subscribed channel, what was published since it last became subscribed. */
        const since = new Map<string, string[]>();
        let counter = 0;
        try {
          for (const step of commands) {
            if (step.kind === "subscribe") {
              const subscription = channels.subscribe(step.channel);
              await subscription.ready;
              if (!live.some((other) => other.channels[0] === step.channel)) since.set(step.channel, []);
              live.push(subscription);
            } else if (step.kind === "unsubscribe") {
              if (live.length === 0) continue;
              const [subscription] = live.splice(step.pick % live.length, 1);
              subscription!.end();
              const channel = subscription!.channels[0]!;
              if (!live.some((other) => other.channels[0] === channel)) since.delete(channel);
            } else {
              const text = `${++counter}:${"m".repeat(step.size)}`;
              await channels.publish(text, step.channel);
              since.get(step.channel)?.push(text);
            }
            await new Promise((resolve) => setImmediate(resolve)); // let unlisten reach the backend
            const retention = backend.retention();
            expect(retention.idle).toBeLessThanOrEqual(maxIdleChannels);
            expect(retention.idleBytes).toBeLessThanOrEqual(maxIdleBytes);
            expect(retention.channels).toBeLessThanOrEqual(maxIdleChannels + since.size);
            for (const [channel, published] of since) {
              const history = await channels.history(channel);
              const n = Math.min(published.length, HISTORY);
              expect(n === 0 ? [] : history.slice(-n)).toEqual(published.slice(published.length - n));
            }
          }
        } finally {
          await channels.close();
        }
      },
    ),
    { numRuns: RUNS },
  );
});
