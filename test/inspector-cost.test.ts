/**
 * What the inspector costs, and interop with xstate's own inspection protocol.
 *
 * - With no inspector (and no `inspect` option) nothing observes: the observer hub is never
 *   called on the frame path, and connections run the compiled machine, not xstate actors.
 * - With the inspector on, it observes (sizes, transitions) but still attaches no `inspect`:
 *   connections stay compiled.
 * - A user's own xstate inspector (`createApp({ inspect })`, e.g. @statelyai/inspect's) gets
 *   xstate's events for every connection, with or without statewire's inspector beside it.
 */
import type { InspectionEvent } from "xstate";
import { afterEach, describe, expect, test, vi } from "vitest";
import { createInspector } from "../src/inspector/index.js";

vi.mock("xstate", async (importOriginal) => {
  const actual = await importOriginal<typeof import("xstate")>();
  return { ...actual, createActor: vi.fn(actual.createActor) };
});

const { createActor } = await import("xstate");
const { createApp, websocket } = await import("../src/index.js");
const { ObserverHub } = await import("../src/connection/observer.js");
const { testClient } = await import("../src/testing/index.js");

const echo = websocket("/echo", async (socket) => {
  await socket.accept();
  for await (const message of socket) await socket.sendText(String(message));
});

/** Open a connection, exchange `messages` messages, close it with 4000. */
async function traffic(app: ReturnType<typeof createApp>, messages = 10): Promise<void> {
  const ws = await testClient(app).connect("/echo");
  for (let i = 0; i < messages; i++) {
    ws.sendText(`m${i}`);
    await ws.receiveText();
  }
  await ws.close(4000, "bye");
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.mocked(createActor).mockClear();
});

describe("zero cost when off", () => {
  test("no inspector: no observer is called on the frame path, no xstate actor is created", async () => {
    const messageIn = vi.spyOn(ObserverHub.prototype, "messageIn");
    const messageOut = vi.spyOn(ObserverHub.prototype, "messageOut");
    const transition = vi.spyOn(ObserverHub.prototype, "transition");
    const app = createApp({ routes: [echo] });
    await traffic(app);
    expect(messageIn).not.toHaveBeenCalled();
    expect(messageOut).not.toHaveBeenCalled();
    expect(transition).not.toHaveBeenCalled();
    expect(createActor).not.toHaveBeenCalled();
    await app.close();
  });

  test("an inspector disabled by NODE_ENV=production costs the same nothing", async () => {
    const saved = process.env.NODE_ENV;
    process.env.NODE_ENV = "production";
    try {
      const messageIn = vi.spyOn(ObserverHub.prototype, "messageIn");
      const app = createApp({ routes: [echo], plugins: [createInspector({ token: "x" })] });
      await traffic(app);
      expect(messageIn).not.toHaveBeenCalled();
      expect(createActor).not.toHaveBeenCalled();
      await app.close();
    } finally {
      if (saved === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = saved;
    }
  });

  test("inspector on: it observes every frame, and still attaches no inspect (connections stay compiled)", async () => {
    const messageIn = vi.spyOn(ObserverHub.prototype, "messageIn");
    const app = createApp({ routes: [echo], plugins: [createInspector({})] });
    await traffic(app, 10);
    expect(messageIn).toHaveBeenCalledTimes(10);
    expect(createActor).not.toHaveBeenCalled();
    await app.close();
  });
});

describe("interop with xstate's inspection protocol", () => {
  const summarize = (events: InspectionEvent[]): string[] =>
    events.map((event) =>
      event.type === "@xstate.event"
        ? `event ${event.event.type}`
        : event.type === "@xstate.snapshot"
          ? `snapshot ${String((event.snapshot as { value?: unknown }).value)}`
          : event.type === "@xstate.actor"
            ? "actor"
            : event.type,
    );

  test("a user's inspect function receives @xstate.actor, @xstate.event and @xstate.snapshot for a connection", async () => {
    const events: InspectionEvent[] = [];
    const app = createApp({ routes: [echo], inspect: (event) => events.push(event) });
    await traffic(app, 2);
    // The spy is live (so "not called" above means something): one actor for this connection.
    expect(createActor).toHaveBeenCalledTimes(1);
    const seen = summarize(events).filter((line) => line === "actor" || line.startsWith("event") || line.startsWith("snapshot"));
    expect(seen).toEqual([
      "actor",
      "event xstate.init",
      "snapshot connecting",
      "event accept",
      "snapshot open",
      "event peerClose",
      "snapshot closing",
      "event transportClosed",
      "snapshot closed",
    ]);
    // The events carry the machine's own payloads, e.g. the close frame the peer sent.
    const peerClose = events.find((event) => event.type === "@xstate.event" && event.event.type === "peerClose");
    expect(peerClose).toMatchObject({ event: { type: "peerClose", code: 4000, reason: "bye" } });
    const last = events.findLast((event) => event.type === "@xstate.snapshot");
    expect(last).toMatchObject({ snapshot: { status: "done", output: { code: 4000, initiator: "client" } } });
    // Frames never pass through the machine, so they are not inspection events.
    expect(events.some((event) => event.type === "@xstate.event" && /^m\d/.test(JSON.stringify(event.event)))).toBe(false);
    await app.close();
  });

  test("an observer object ({ next }) works too, and so does the inspector beside it: both see the same connection", async () => {
    const events: InspectionEvent[] = [];
    const app = createApp({ routes: [echo], inspect: { next: (event) => events.push(event) }, plugins: [createInspector({ intervalMs: 5 })] });
    const client = testClient(app);
    const feed = await client.connect("/_statewire/feed");
    await traffic(app, 1);
    // xstate's events: one actor per connection, the feed's and the echo's.
    expect(events.filter((event) => event.type === "@xstate.actor")).toHaveLength(2);
    expect(summarize(events)).toContain("snapshot closed");
    // statewire's inspector lists the echo connection, closed with 4000, and not its own feed.
    for (;;) {
      const message = (await feed.receiveJson()) as { type: string; closed?: { route: string; close: { code: number } }[] };
      if (message.type === "update" && (message.closed?.length ?? 0) > 0) {
        expect(message.closed).toEqual([expect.objectContaining({ route: "/echo", close: expect.objectContaining({ code: 4000 }) })]);
        break;
      }
    }
    await feed.close();
    await app.close();
  });
});
