/**
 * A join or a subscription whose backend cannot start listening (a Redis backend past its
 * deadline rejects with `BackendUnavailableError`): the caller gets the error, nothing is left
 * subscribed, and the same room can be joined again. A property over random sequences of joins,
 * leaves, subscriptions, their ends and publishes, with `listen` failing on cue: after every step
 * each connection is in exactly the rooms its last successful join put it in, the plugin holds
 * exactly the subscribers and channels of the model, and a publish is offered to exactly them.
 * The memory backend, behind a wrapper that makes its `listen` fail when told; an app and its
 * test client (in-memory transport).
 */
import fc from "fast-check";
import { afterAll, beforeAll, expect, test } from "vitest";
import {
  type AnySocket,
  BackendUnavailableError,
  type ChannelBackend,
  createApp,
  createChannels,
  memoryBackend,
  type Subscription,
  websocket,
} from "../src/index.js";
import { testClient } from "../src/testing/index.js";

/** The memory backend, whose next `listen` fails when `failNext` is set. */
function failingBackend(): ChannelBackend & { failNext: boolean; listens: number } {
  const inner = memoryBackend();
  const backend = {
    kind: "memory-with-failures",
    failNext: false,
    listens: 0,
    attach: inner.attach.bind(inner),
    publish: inner.publish.bind(inner),
    unlisten: inner.unlisten.bind(inner),
    history: inner.history.bind(inner),
    close: inner.close.bind(inner),
    listen(channel: string): Promise<void> {
      backend.listens++;
      if (!backend.failNext) return inner.listen(channel);
      backend.failNext = false;
      return Promise.reject(new BackendUnavailableError("memory-with-failures", "subscribe", 0, undefined));
    },
  };
  return backend;
}

const ROOMS = ["a", "b", "c"] as const;
const CONNECTIONS = 3;

const backend = failingBackend();
const channels = createChannels({ backend });
const sockets: AnySocket[] = [];
const app = createApp({
  heartbeat: false,
  plugins: [channels],
  routes: [
    websocket("/member", async (socket) => {
      await socket.accept();
      sockets.push(socket);
      for await (const _ of socket) {
        // held open; the test joins and leaves from outside
      }
    }),
  ],
});
const client = testClient(app);

beforeAll(async () => {
  for (let i = 0; i < CONNECTIONS; i++) await client.connect("/member");
  for (let waited = 0; sockets.length < CONNECTIONS && waited < 5000; waited += 5) await new Promise((resolve) => setTimeout(resolve, 5));
});
afterAll(async () => {
  await client.close();
  await app.close({ timeoutMs: 1000 });
});

type Step =
  | { readonly kind: "join"; readonly socket: number; readonly room: string; readonly fail: boolean }
  | { readonly kind: "leave"; readonly socket: number; readonly room: string }
  | { readonly kind: "subscribe"; readonly room: string; readonly fail: boolean }
  | { readonly kind: "unsubscribe"; readonly index: number }
  | { readonly kind: "publish"; readonly room: string };

const room = fc.constantFrom(...ROOMS);
const socketIndex = fc.integer({ min: 0, max: CONNECTIONS - 1 });
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("join" as const), socket: socketIndex, room, fail: fc.boolean() }),
  fc.record({ kind: fc.constant("leave" as const), socket: socketIndex, room }),
  fc.record({ kind: fc.constant("subscribe" as const), room, fail: fc.boolean() }),
  fc.record({ kind: fc.constant("unsubscribe" as const), index: fc.nat({ max: 5 }) }),
  fc.record({ kind: fc.constant("publish" as const), room }),
);

test("property: a failed join or subscribe leaves nothing subscribed, and the room can be joined again", async () => {
  expect(sockets).toHaveLength(CONNECTIONS);
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
      // The model: rooms per connection, live subscriptions per room.
      const joined = sockets.map(() => new Set<string>());
      const subscriptions: { room: string; subscription: Subscription }[] = [];
      const members = (r: string): number => joined.filter((rooms) => rooms.has(r)).length + subscriptions.filter((s) => s.room === r).length;
      try {
        for (const s of steps) {
          switch (s.kind) {
            case "join": {
              const socket = sockets[s.socket]!;
              // The backend listens only for a room's first subscriber: only then can it fail.
              const first = members(s.room) === 0;
              backend.failNext = s.fail;
              const outcome = await channels.join(socket, s.room).then(
                () => "joined",
                (error: unknown) => error,
              );
              backend.failNext = false;
              if (first && s.fail) {
                expect(outcome).toBeInstanceOf(BackendUnavailableError);
              } else {
                expect(outcome).toBe("joined");
                joined[s.socket]!.add(s.room);
              }
              break;
            }
            case "leave":
              channels.leave(sockets[s.socket]!, s.room);
              joined[s.socket]!.delete(s.room);
              break;
            case "subscribe": {
              const first = members(s.room) === 0;
              backend.failNext = s.fail;
              const subscription = channels.subscribe(s.room);
              const outcome = await subscription.ready.then(
                () => "ready",
                (error: unknown) => error,
              );
              backend.failNext = false;
              if (first && s.fail) {
                expect(outcome).toBeInstanceOf(BackendUnavailableError);
                // Its consumer learns it too.
                await expect(subscription[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(BackendUnavailableError);
              } else {
                expect(outcome).toBe("ready");
                subscriptions.push({ room: s.room, subscription });
              }
              break;
            }
            case "unsubscribe": {
              const [ended] = subscriptions.splice(s.index % Math.max(1, subscriptions.length), 1);
              ended?.subscription.unsubscribe();
              break;
            }
            case "publish": {
              const before = channels.stats().offered;
              await channels.publish("x", s.room);
              expect(channels.stats().offered - before).toBe(members(s.room));
              break;
            }
          }
          // Let leaves' and ends' bookkeeping settle, then compare with the model.
          await new Promise((resolve) => setImmediate(resolve));
          for (let i = 0; i < sockets.length; i++) expect(new Set(channels.rooms(sockets[i]!))).toEqual(joined[i]);
          const stats = channels.stats();
          expect(stats.subscriptions).toBe(ROOMS.reduce((n, r) => n + members(r), 0));
          expect(stats.channels).toBe(ROOMS.filter((r) => members(r) > 0).length);
        }
      } finally {
        for (let i = 0; i < sockets.length; i++) for (const r of ROOMS) channels.leave(sockets[i]!, r);
        for (const { subscription } of subscriptions) subscription.unsubscribe();
        await new Promise((resolve) => setImmediate(resolve));
      }
    }),
    { numRuns: 200 },
  );
  // The failures were exercised, not only the happy path.
  expect(backend.listens).toBeGreaterThan(100);
}, 60_000);
