/**
 * Fan-out under backpressure, over real TCP: a room's messages go to each member in the publish
 * call itself while the member keeps up, and wait in its backlog while its connection's send
 * waits (a client that stops reading). Properties, for random publish sequences (small and large
 * messages, with and without pauses between them) and random mixes of fast and slow members:
 * - a backlog large enough: every member receives every message, once, in publish order;
 * - a small drop-oldest backlog: every member receives an in-order subsequence of the messages
 *   that ends with the last one (drops lose old messages, never reorder or repeat them).
 */
import { setTimeout as sleep } from "node:timers/promises";
import fc from "fast-check";
import { afterAll, expect, test } from "vitest";
import { type ChannelSocket, createApp, createChannels, type Logger, websocket } from "../src/index.js";
import { testClient, type TestSocket } from "../src/testing/index.js";

const DEEP = process.env.STATEWIRE_DEEP === "1";
const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

function roomApp(backlog: { max: number; strategy: "drop-oldest" }) {
  const channels = createChannels({ history: 0, backlog });
  const app = createApp({
    logger: quiet,
    plugins: [channels],
    // Small, so that a member that stops reading makes its connection's send wait soon.
    backpressure: { highWaterMark: 8 * 1024, policy: "wait", sendTimeoutMs: 60_000 },
    routes: [
      websocket("/member/:room", async (raw) => {
        const socket = raw as ChannelSocket<{ room: string }>;
        await socket.accept();
        await socket.join(socket.params.room);
        await socket.sendText("joined");
        for await (const _ of socket);
      }),
    ],
  });
  return { channels, app, client: testClient(app, { transport: "tcp", receiveTimeoutMs: 20_000 }) };
}

const exact = roomApp({ max: 100_000, strategy: "drop-oldest" });
const lossy = roomApp({ max: 3, strategy: "drop-oldest" });
afterAll(async () => {
  for (const { client, app } of [exact, lossy]) {
    await client.close();
    await app.close({ timeoutMs: 1000 });
  }
});

/** One publish: its size (some above the high-water mark) and whether the publisher yields to the event loop after it. */
const publishes = fc.array(fc.record({ size: fc.oneof(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 4_000, max: 256_000 })), pause: fc.boolean() }), {
  minLength: 1,
  maxLength: 30,
});
/** A run that surely fills a slow member's TCP buffers (loopback takes a few MiB) and makes its sends wait. */
const flood: [{ size: number; pause: boolean }[], boolean[]] = [Array.from({ length: 30 }, (_, i) => ({ size: 250_000, pause: i % 5 === 0 })), [true, false, true]];
/** Members: slow ones stop reading before the publishes and read again after. */
const members = fc.array(fc.boolean(), { minLength: 1, maxLength: 5 });

let rooms = 0;

async function run(
  setup: ReturnType<typeof roomApp>,
  plan: readonly { size: number; pause: boolean }[],
  slow: readonly boolean[],
): Promise<{ sent: string[]; received: string[][] }> {
  const room = `room${++rooms}`;
  const sockets: TestSocket[] = await Promise.all(slow.map(() => setup.client.connect(`/member/${room}`)));
  try {
    for (const socket of sockets) expect(await socket.receiveText()).toBe("joined");
    sockets.forEach((socket, i) => slow[i] && socket.pauseReading());
    const sent = plan.map(({ size }, i) => `${i}:`.padEnd(size, "x"));
    // Each publish returns before slow members have it: they would make a publisher that awaited them wait.
    for (let i = 0; i < sent.length; i++) {
      void setup.channels.publish(sent[i], room);
      if (plan[i]!.pause) await sleep(0);
    }
    await sleep(5);
    sockets.forEach((socket, i) => slow[i] && socket.resumeReading());
    const last = sent[sent.length - 1]!;
    const received = await Promise.all(
      sockets.map(async (socket) => {
        const texts: string[] = [];
        for (;;) {
          const text = await socket.receiveText();
          texts.push(text);
          if (text === last) return texts;
        }
      }),
    );
    return { sent, received };
  } finally {
    await Promise.all(sockets.map((socket) => socket.close()));
  }
}

test("every member receives every publish once, in order, fast and slow members alike", async () => {
  await fc.assert(
    fc.asyncProperty(publishes, members, async (plan, slow) => {
      const { sent, received } = await run(exact, plan, slow);
      for (const texts of received) expect(texts).toEqual(sent);
    }),
    { numRuns: DEEP ? 300 : 25, examples: [flood] },
  );
}, 120_000);

test("with a small drop-oldest backlog, every member receives an in-order subsequence ending with the last publish", async () => {
  await fc.assert(
    fc.asyncProperty(publishes, members, async (plan, slow) => {
      const { sent, received } = await run(lossy, plan, slow);
      const index = new Map(sent.map((text, i) => [text, i] as const));
      for (const texts of received) {
        const positions = texts.map((text) => index.get(text) ?? -1);
        expect(positions.every((position) => position >= 0)).toBe(true);
        // Strictly increasing: in publish order, none twice.
        for (let i = 1; i < positions.length; i++) expect(positions[i]).toBeGreaterThan(positions[i - 1]!);
        expect(positions[positions.length - 1]).toBe(sent.length - 1);
      }
    }),
    { numRuns: DEEP ? 300 : 25, examples: [flood] },
  );
  // The runs did overflow backlogs (the property is not vacuous).
  expect(lossy.channels.stats().dropped).toBeGreaterThan(0);
}, 120_000);
