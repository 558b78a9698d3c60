/**
 * The inspector's hub over the memory transport: what it records of each connection, its
 * bounds (timeline per connection, closed connections), and redaction of payloads by default.
 * Also the pieces it shows: close-code meanings, and the machine diagram generated from
 * machines/connection.ts.
 */
import { describe, expect, test } from "vitest";
import { connectionMachine, connectionStates } from "../machines/connection.js";
import { createApp, websocket, WebSocketDisconnect, type App } from "../src/index.js";
import { describeCloseCode } from "../src/inspector/close-meaning.js";
import { machineDiagram } from "../src/inspector/diagram.js";
import { diagramSvg } from "../src/inspector/diagram-svg.js";
import { type HubOptions, InspectionHub } from "../src/inspector/hub.js";
import type { TimelineEntry } from "../src/inspector/protocol.js";
import { RingBuffer } from "../src/inspector/ring-buffer.js";
import { testClient } from "../src/testing/index.js";

const echo = websocket("/echo/:room", async (socket) => {
  await socket.accept();
  try {
    for (;;) {
      const message = await socket.receive();
      if (message === "fail") throw new TypeError("secret detail in an error message");
      if (typeof message === "string") await socket.sendText(`Echo: ${message}`);
      else await socket.sendBytes(message);
    }
  } catch (error) {
    if (!(error instanceof WebSocketDisconnect)) throw error;
  }
});

function setUp(options: HubOptions = {}): { app: App; hub: InspectionHub } {
  const app = createApp({ routes: [echo], heartbeat: false, logger: { error() {}, warn() {}, info() {}, debug() {} } as never });
  const hub = new InspectionHub(options);
  app.observe(hub);
  return { app, hub };
}

const kinds = (entries: readonly TimelineEntry[]): string[] => entries.map((entry) => entry.kind);
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 10));

describe("the hub", () => {
  test("records a connection: route, path, client, state, messages with sizes, and how it closed", async () => {
    const { app, hub } = setUp();
    const client = testClient(app);
    const ws = await client.connect("/echo/lobby?token=s3cret");
    ws.sendText("hello");
    expect(await ws.receiveText()).toBe("Echo: hello");
    ws.sendBytes(new Uint8Array([1, 2, 3]));
    await ws.receiveBytes();

    const [live] = [...hub.live()];
    expect(live).toBeDefined();
    const row = live!.row();
    expect(row).toMatchObject({
      route: "/echo/:room",
      path: "/echo/lobby",
      state: "open",
      messagesIn: 2,
      messagesOut: 2,
      bytesIn: 5 + 3,
      bytesOut: "Echo: hello".length + 3,
    });
    expect(row.client).toMatch(/:\d+$/);
    expect(hub.counts()).toEqual({ connecting: 0, open: 1, closing: 0, closed: 0 });

    expect(await ws.close(4000, "bye")).toMatchObject({ code: 4000 });
    await settle();
    expect([...hub.live()]).toHaveLength(0);
    const [closed] = hub.closed();
    expect(closed!.row()).toMatchObject({
      state: "closed",
      close: { code: 4000, codeName: "PRIVATE_USE", reason: "bye", initiator: "client", wasClean: true },
    });
    expect(closed!.row().close!.meaning).toMatch(/private use/);
    expect(hub.counts()).toEqual({ connecting: 0, open: 0, closing: 0, closed: 1 });

    const timeline = closed!.timeline.toArray();
    // The handler ends on its own schedule; everything else in this order.
    expect(kinds(timeline.filter((entry) => entry.kind !== "handler"))).toEqual(["start", "transition", "in", "out", "in", "out", "transition", "transition", "close"]);
    expect(timeline.filter((entry) => entry.kind === "handler").map((entry) => entry.kind === "handler" && entry.what)).toEqual(["started", "finished"]);
    expect(timeline.filter((entry) => entry.kind === "transition").map((entry) => entry.kind === "transition" && `${entry.from} -${entry.event}-> ${entry.to}`)).toEqual([
      "connecting -accept-> open",
      "open -peerClose-> closing",
      "closing -transportClosed-> closed",
    ]);
    expect(timeline.find((entry) => entry.kind === "in")).toMatchObject({ size: 5, binary: false });
    expect(timeline.find((entry) => entry.kind === "out" && entry.binary)).toMatchObject({ size: 3 });
    // Sequence numbers order every entry.
    const seqs = timeline.map((entry) => entry.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    await app.close();
  });

  test("a server close and a handler failure: code, meaning and initiator", async () => {
    const { app, hub } = setUp();
    const client = testClient(app);
    const ws = await client.connect("/echo/a");
    ws.sendText("fail");
    expect((await ws.closed).code).toBe(1011);
    await settle();
    const [closed] = hub.closed();
    expect(closed!.row()).toMatchObject({ errors: 1, close: { code: 1011, codeName: "INTERNAL_ERROR", initiator: "server", reason: "Internal error" } });
    expect(closed!.timeline.toArray().find((entry) => entry.kind === "handlerError")).toEqual(expect.objectContaining({ error: "TypeError" }));
    await app.close();
  });

  test("each connection's timeline is a ring: the newest entries, the number evicted", async () => {
    const { app, hub } = setUp({ timelineSize: 8 });
    const client = testClient(app);
    const ws = await client.connect("/echo/a");
    for (let i = 0; i < 50; i++) {
      ws.sendText(`m${i}`);
      await ws.receiveText();
    }
    const [live] = [...hub.live()];
    const timeline = live!.timeline.toArray();
    expect(timeline).toHaveLength(8);
    // 3 entries before the messages (start, handler started, accept) + 100 messages.
    expect(live!.timeline.evicted).toBe(3 + 100 - 8);
    expect(kinds(timeline)).toEqual(["in", "out", "in", "out", "in", "out", "in", "out"]);
    // The counters are not bounded by the ring.
    expect(live!.row()).toMatchObject({ messagesIn: 50, messagesOut: 50 });
    await ws.close();
    await app.close();
  });

  test("closed connections are a bounded list of the newest; counts keep the total", async () => {
    const { app, hub } = setUp({ closedSize: 3 });
    const client = testClient(app);
    const ids: number[] = [];
    for (let i = 0; i < 7; i++) {
      const ws = await client.connect(`/echo/r${i}`);
      await ws.close(4000 + i);
    }
    await settle();
    for (const connection of hub.closed()) ids.push(connection.id);
    expect(hub.closed().map((connection) => connection.row().close?.code)).toEqual([4004, 4005, 4006]);
    expect(hub.counts().closed).toBe(7);
    // The forgotten ones are gone for good, timelines included.
    expect(hub.find(ids[0]! - 1)).toBeUndefined();
    expect(hub.find(ids[0]!)).toBeDefined();
    await app.close();
  });

  test("redacted by default: sizes only, no query string, no error message", async () => {
    const { app, hub } = setUp();
    const client = testClient(app);
    const ws = await client.connect("/echo/a?token=s3cret");
    ws.sendText("my password is hunter2");
    await ws.receiveText();
    ws.sendText("fail");
    await ws.closed;
    await settle();
    const [closed] = hub.closed();
    const serialized = JSON.stringify({ row: closed!.row(), timeline: closed!.timeline.toArray() });
    expect(serialized).not.toContain("hunter2");
    expect(serialized).not.toContain("s3cret");
    expect(serialized).not.toContain("secret detail");
    expect(closed!.timeline.toArray()[0]).toMatchObject({ kind: "start", url: "/echo/a?…" });
    for (const entry of closed!.timeline.toArray()) if (entry.kind === "in" || entry.kind === "out") expect(entry.preview).toBeUndefined();
    await app.close();
  });

  test("payloads: true shows bounded previews, the query string and error messages", async () => {
    const { app, hub } = setUp({ payloads: true });
    const client = testClient(app);
    const ws = await client.connect("/echo/a?token=s3cret");
    ws.sendText("my password is hunter2");
    await ws.receiveText();
    ws.sendBytes(new Uint8Array(100).fill(0xab));
    await ws.receiveBytes();
    ws.sendText("x".repeat(5000));
    await ws.receiveText();
    ws.sendText("fail");
    await ws.closed;
    await settle();
    const timeline = hub.closed()[0]!.timeline.toArray();
    expect(timeline[0]).toMatchObject({ kind: "start", url: "/echo/a?token=s3cret" });
    const previews = timeline.flatMap((entry) => (entry.kind === "in" || entry.kind === "out" ? [entry.preview] : []));
    expect(previews).toContain("my password is hunter2");
    expect(previews).toContain("Echo: my password is hunter2");
    expect(previews).toContain(`${"ab ".repeat(47)}ab …`);
    expect(Math.max(...previews.map((preview) => preview?.length ?? 0))).toBeLessThanOrEqual(201);
    expect(timeline.find((entry) => entry.kind === "handlerError")).toMatchObject({ error: "TypeError: secret detail in an error message" });
    await app.close();
  });

  test("hidden routes (the inspector's own feed) are counted as viewers, never listed", async () => {
    const app = createApp({ routes: [echo, websocket("/feed", async (socket) => void (await socket.accept(), await socket.receive().catch(() => {})))], heartbeat: false });
    const hub = new InspectionHub({ hiddenRoutes: ["/feed"] });
    app.observe(hub);
    const client = testClient(app);
    const feed = await client.connect("/feed");
    const ws = await client.connect("/echo/a");
    expect(hub.viewers).toBe(1);
    expect([...hub.live()].map((connection) => connection.route)).toEqual(["/echo/:room"]);
    expect(hub.counts().open).toBe(1);
    await feed.close();
    await settle();
    expect(hub.viewers).toBe(0);
    expect(hub.closed()).toHaveLength(0);
    await ws.close();
    await app.close();
  });

  test("refused handshakes are closed connections with their HTTP status", async () => {
    const app = createApp({ routes: [websocket("/no", (socket) => socket.reject(403))] });
    const hub = new InspectionHub();
    app.observe(hub);
    await testClient(app).connect("/no").catch(() => {});
    await settle();
    expect(hub.closed()[0]!.row()).toMatchObject({ state: "closed", close: { rejectedStatus: 403, initiator: "server" } });
    await app.close();
  });

  test("a feed is told once of the first change after it settled", async () => {
    const { app, hub } = setUp();
    let calls = 0;
    hub.onChange(() => calls++);
    const client = testClient(app);
    const ws = await client.connect("/echo/a");
    ws.sendText("one");
    await ws.receiveText();
    expect(calls).toBe(1);
    hub.settle();
    ws.sendText("two");
    await ws.receiveText();
    expect(calls).toBe(2);
    await ws.close();
    await app.close();
  });
});

describe("the ring buffer", () => {
  test("keeps the newest items in order and counts the evicted", () => {
    const ring = new RingBuffer<number>(3);
    expect(ring.toArray()).toEqual([]);
    expect(ring.last()).toBeUndefined();
    expect(ring.push(1)).toBeUndefined();
    ring.push(2);
    ring.push(3);
    expect(ring.push(4)).toBe(1);
    expect(ring.toArray()).toEqual([2, 3, 4]);
    for (let i = 5; i <= 10; i++) ring.push(i);
    expect(ring.toArray()).toEqual([8, 9, 10]);
    expect(ring.size).toBe(3);
    expect(ring.evicted).toBe(7);
    expect(ring.last()).toBe(10);
    expect(ring.filter((n) => n > 8)).toEqual([9, 10]);
  });

  test("refuses a capacity below one", () => {
    expect(() => new RingBuffer(0)).toThrow(RangeError);
    expect(() => new InspectionHub({ timelineSize: 0 })).toThrow(RangeError);
  });
});

describe("what the page shows", () => {
  test("close codes in words", () => {
    expect(describeCloseCode(1000)).toEqual({ name: "NORMAL_CLOSURE", meaning: expect.stringMatching(/normal closure/) });
    expect(describeCloseCode(1006).meaning).toMatch(/without a close frame/);
    expect(describeCloseCode(4000)).toEqual({ name: "PRIVATE_USE", meaning: "private use: a code the application defines" });
    expect(describeCloseCode(3001).name).toBe("REGISTERED");
  });

  test("the diagram model is the machine's own definition: every state and every transition", () => {
    const diagram = machineDiagram();
    expect(diagram.id).toBe("connection");
    expect(diagram.states.map((state) => state.id)).toEqual([...connectionStates]);
    expect(diagram.states.find((state) => state.initial)?.id).toBe("connecting");
    expect(diagram.states.filter((state) => state.final).map((state) => state.id)).toEqual(["closed"]);
    expect(diagram.states.find((state) => state.id === "closing")?.entry).toEqual(["signalDisconnect", "armCloseTimeout"]);
    const fromDefinition = Object.entries(connectionMachine.root.states).flatMap(([from, node]) =>
      [...node.transitions].flatMap(([event, transitions]) => transitions.map((t) => `${from} -${event}-> ${t.target?.[0]?.key}`)),
    );
    const drawn = diagram.edges.flatMap((edge) => edge.transitions.map((t) => `${edge.from} -${t.event}-> ${edge.to}`));
    expect(drawn.sort()).toEqual(fromDefinition.sort());
    expect(drawn).toHaveLength(17);
    expect(diagram.edges.find((edge) => edge.from === "connecting" && edge.to === "open")?.transitions).toEqual([{ event: "accept", actions: ["completeHandshake"] }]);
  });

  test("the SVG has a node per state and a label per transition, with what the page highlights by", () => {
    const svg = diagramSvg(machineDiagram());
    expect(svg.startsWith("<svg")).toBe(true);
    for (const state of connectionStates) expect(svg).toContain(`data-state="${state}"`);
    expect(svg.match(/class="event"/g)).toHaveLength(17);
    expect(svg).toContain('data-event="peerClose" data-from="open" data-to="closing"');
    expect(svg).toMatch(/<g class="state final" data-state="closed">/);
  });
});
