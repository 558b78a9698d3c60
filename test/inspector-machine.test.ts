/**
 * The inspector draws a machine route's handler machine: the feed carries its drawing (from the
 * definition, nested and parallel states too) once per viewer, each row its current state, and
 * the timeline every transition with its event type. Without a browser; the page's use of it is
 * asserted in test/inspector-browser.test.ts.
 */
import { afterEach, describe, expect, test } from "vitest";
import { type App, createApp, websocketMachine } from "../src/index.js";
import { handlerDiagramSvg, handlerMachineDiagram } from "../src/inspector/handler-diagram.js";
import { InspectionHub } from "../src/inspector/hub.js";
import type { FeedMessage, MachineDrawing } from "../src/inspector/protocol.js";
import { testClient, type TestSocket } from "../src/testing/index.js";
import { protocol, protocolMachine } from "../examples/protocol.js";
import { echoMachine } from "./support/machines.js";
import { createInspector } from "../src/inspector/index.js";

const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((created) => created.close()));
});

async function until(feed: TestSocket, match: (message: FeedMessage) => boolean): Promise<FeedMessage> {
  for (;;) {
    const message = (await feed.receiveJson()) as FeedMessage;
    if (match(message)) return message;
  }
}
type Update = Extract<FeedMessage, { type: "update" }>;
type Timeline = Extract<FeedMessage, { type: "timeline" }>;

describe("the handler machine's diagram", () => {
  test("is drawn from the definition: states, transitions with guards, targets and actions", () => {
    const diagram = handlerMachineDiagram(protocolMachine);
    expect(diagram.id).toBe("protocol");
    expect(diagram.root.children.map((state) => [state.key, state.type])).toEqual([
      ["greeting", "atomic"],
      ["ready", "atomic"],
      ["done", "final"],
    ]);
    expect(diagram.root.initial).toBe("greeting");
    const greeting = diagram.root.children[0]!;
    expect(greeting.transitions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ event: "hello", targets: ["ready"], actions: ["rememberName", "welcome"] }),
        expect.objectContaining({ event: "after helloTimeout", targets: ["done"], actions: ["helloTimedOut"] }),
      ]),
    );
    const svg = handlerDiagramSvg(diagram);
    for (const path of ["greeting", "ready", "done"]) expect(svg).toContain(`data-path="${path}"`);
    expect(svg).toContain('data-event="subscribe"');
  });

  test("nested and parallel states nest as boxes, with paths as the runtime names states", () => {
    const diagram = handlerMachineDiagram(echoMachine);
    expect(diagram.root.type).toBe("parallel");
    expect(diagram.root.children.map((region) => region.path)).toEqual(["talk", "timer"]);
    expect(diagram.root.children[0]!.children.map((state) => state.path)).toEqual(["talk.listening", "talk.leaving"]);
    const listening = diagram.root.children[0]!.children[0]!;
    expect(listening.transitions.map((transition) => transition.guard ?? null)).toEqual(["isBye", null]);
    const svg = handlerDiagramSvg(diagram);
    expect(svg).toContain('data-path="talk.listening"');
    expect(svg).toContain('data-path="timer.waiting"');
    expect(svg).toMatch(/<g class="hstate" data-path="talk">.*<g class="hstate" data-path="talk.listening">/);
  });

  test("the hub records a machine's start and transitions, and draws each definition once", () => {
    const hub = new InspectionHub();
    hub.connectionStarted({ id: 1, route: "/protocol", url: "/protocol", client: { host: "127.0.0.1", port: 1 }, startedAt: 0 });
    hub.connectionStarted({ id: 2, route: "/protocol", url: "/protocol", client: { host: "127.0.0.1", port: 2 }, startedAt: 0 });
    hub.machineStarted(1, protocolMachine, "greeting");
    hub.machineStarted(2, protocolMachine, "greeting");
    hub.machineTransition(1, "greeting", "hello", "ready");
    const [one, two] = [hub.find(1)!.row(), hub.find(2)!.row()];
    expect(one).toMatchObject({ machine: two.machine, machineState: "ready" });
    expect(two.machineState).toBe("greeting");
    expect(hub.machineDrawing(one.machine!)?.id).toBe("protocol");
    expect(hub.find(1)!.timeline.toArray().filter((entry) => entry.kind === "machine")).toEqual([
      expect.objectContaining({ event: "xstate.init", from: "", to: "greeting" }),
      expect.objectContaining({ event: "hello", from: "greeting", to: "ready" }),
    ]);
  });
});

describe("over the feed", () => {
  test("a connection on /protocol: the drawing once, its state in the row, each transition in the timeline", async () => {
    const app = createApp({ routes: [protocol, websocketMachine("/echo-machine", { machine: echoMachine, receive: "text" })], heartbeat: false, plugins: [createInspector({ intervalMs: 5 })] });
    apps.push(app);
    const client = testClient(app);
    const feed = await client.connect("/_statewire/feed");
    await until(feed, (message) => message.type === "update");

    const ws = await client.connect("/protocol");
    const drawings = (await until(feed, (message) => message.type === "machines")) as Extract<FeedMessage, { type: "machines" }>;
    const drawing: MachineDrawing = drawings.machines[0]!;
    expect(drawing.id).toBe("protocol");
    expect(drawing.svg).toContain('data-path="ready"');
    const opened = (await until(feed, (message) => message.type === "update" && message.live.some((row) => row.machineState === "greeting"))) as Update;
    const row = opened.live.find((candidate) => candidate.route === "/protocol")!;
    expect(row.machine).toBe(drawing.key);
    feed.sendJson({ type: "select", id: row.id });

    ws.sendJson({ type: "hello", name: "ada" });
    await ws.receiveJson();
    ws.sendJson({ type: "subscribe", topic: "t" });
    await ws.receiveJson();
    ws.sendJson({ type: "bye" });
    await ws.closed;

    const entries: Timeline["entries"][number][] = [];
    await until(feed, (message) => {
      if (message.type === "timeline" && message.id === row.id) entries.push(...message.entries);
      return entries.some((entry) => entry.kind === "close");
    });
    const machineLines = entries.filter((entry) => entry.kind === "machine").map((entry) => entry.kind === "machine" && `${entry.event}: ${entry.from} → ${entry.to}`);
    expect(machineLines).toEqual(["xstate.init:  → greeting", "hello: greeting → ready", "subscribe: ready → ready", "bye: ready → done"]);

    // A second connection on the same route: no second drawing; another route's machine is drawn when it appears.
    const again = await client.connect("/protocol");
    const echo = await client.connect("/echo-machine");
    const next = (await until(feed, (message) => message.type === "machines")) as Extract<FeedMessage, { type: "machines" }>;
    expect(next.machines.map((each) => each.id)).toEqual(["echo"]);
    await again.close(1000);
    await echo.close(1000);
    await client.close();
  });
});
