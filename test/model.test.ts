/**
 * Model-based: every transition defined in machines/connection.ts is driven against the real
 * runtime — over the memory transport and over TCP — by a scenario that makes it happen from
 * the outside (a handler's action, a client's action, or a timer running out). The transitions
 * are read from the machine's own definition, so a transition added there without a scenario
 * here fails this test. Each scenario's observed path through the machine is asserted exactly,
 * and the suite prints `transition coverage: D/T`.
 */
import { afterAll, describe, expect, test } from "vitest";
import type { ConnectionEventType, ConnectionState } from "../machines/connection.js";
import { connectionMachine } from "../machines/connection.js";
import { type App, type AnySocket, createApp, type Logger, websocket } from "../src/index.js";
import { Probe, testClient, type TestClient, type TestSocket } from "../src/testing/index.js";

type Step = readonly [from: ConnectionState, event: ConnectionEventType, to: ConnectionState];

/** Every transition the machine defines, as `state:event`. */
function definedTransitions(): Set<string> {
  const defined = new Set<string>();
  for (const [state, node] of Object.entries(connectionMachine.root.states)) {
    for (const [event] of node.transitions) defined.add(`${state}:${event}`);
  }
  return defined;
}

const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };
const waitForever = (socket: AnySocket): Promise<void> => new Promise((resolve) => socket.signal.addEventListener("abort", () => resolve()));

interface World {
  readonly client: TestClient;
  readonly app: App;
  /** Resolves once the server has closed the scenario's connection. */
  readonly serverClosed: () => Promise<void>;
}

interface Scenario {
  readonly name: string;
  /** What the handler does. */
  readonly handler: (socket: AnySocket) => Promise<void>;
  /** What the client (or the test, for app-level actions) does. */
  readonly drive: (world: World, path: string) => Promise<void>;
  readonly expected: readonly Step[];
  /** Needs its own app (settings that would disturb the others). */
  readonly ownApp?: { readonly closeTimeoutMs: number };
}

const closedByClient = async (world: World, path: string): Promise<TestSocket> => {
  const ws = await world.client.connect(path);
  await ws.close(1000);
  return ws;
};

const refused = async (world: World, path: string): Promise<void> => {
  await world.client.connect(path).then(
    () => Promise.reject(new Error("the handshake was expected to fail")),
    () => undefined,
  );
};

const scenarios: Scenario[] = [
  {
    name: "connecting:accept, open:peerClose, closing:transportClosed",
    handler: async (socket) => {
      await socket.accept();
      for await (const _ of socket);
    },
    drive: async (world, path) => void (await closedByClient(world, path)),
    expected: [
      ["connecting", "accept", "open"],
      ["open", "peerClose", "closing"],
      ["closing", "transportClosed", "closed"],
    ],
  },
  {
    name: "connecting:reject",
    handler: async (socket) => socket.reject(403),
    drive: refused,
    expected: [["connecting", "reject", "closed"]],
  },
  {
    name: "connecting:close",
    handler: (socket) => socket.close(4001, "Invalid token"),
    drive: async (world, path) => void (await (await world.client.connect(path)).closed),
    expected: [
      ["connecting", "close", "closing"],
      ["closing", "transportClosed", "closed"],
    ],
  },
  {
    name: "connecting:handlerDone",
    handler: async () => {},
    drive: refused,
    expected: [["connecting", "handlerDone", "closed"]],
  },
  {
    name: "connecting:handlerError",
    handler: async () => {
      throw new Error("before accept");
    },
    drive: refused,
    expected: [["connecting", "handlerError", "closed"]],
  },
  {
    name: "connecting:transportClosed",
    handler: waitForever,
    drive: async (world, path) => {
      // The client gives up before the server's handshake timeout.
      await world.client.connect(path, { handshakeTimeoutMs: 40 }).catch(() => undefined);
    },
    expected: [["connecting", "transportClosed", "closed"]],
  },
  {
    name: "connecting:handshakeTimeout",
    handler: waitForever,
    drive: refused,
    expected: [["connecting", "handshakeTimeout", "closed"]],
  },
  {
    name: "open:close",
    handler: async (socket) => {
      await socket.accept();
      await socket.close(4000, "done");
    },
    drive: async (world, path) => void (await (await world.client.connect(path)).closed),
    expected: [
      ["connecting", "accept", "open"],
      ["open", "close", "closing"],
      ["closing", "transportClosed", "closed"],
    ],
  },
  {
    name: "open:handlerDone",
    handler: async (socket) => {
      await socket.accept();
    },
    drive: async (world, path) => void (await (await world.client.connect(path)).closed),
    expected: [
      ["connecting", "accept", "open"],
      ["open", "handlerDone", "closing"],
      ["closing", "transportClosed", "closed"],
    ],
  },
  {
    name: "open:handlerError",
    handler: async (socket) => {
      await socket.accept();
      throw new Error("after accept");
    },
    drive: async (world, path) => void (await (await world.client.connect(path)).closed),
    expected: [
      ["connecting", "accept", "open"],
      ["open", "handlerError", "closing"],
      ["closing", "transportClosed", "closed"],
    ],
  },
  {
    name: "open:protocolError",
    handler: async (socket) => {
      await socket.accept();
      for await (const _ of socket);
    },
    drive: async (world, path) => {
      const ws = await world.client.connect(path);
      ws.sendBytes(new Uint8Array(MAX_PAYLOAD + 1));
      await ws.closed;
    },
    expected: [
      ["connecting", "accept", "open"],
      ["open", "protocolError", "closing"],
      ["closing", "transportClosed", "closed"],
    ],
  },
  {
    name: "open:heartbeatTimeout",
    handler: async (socket) => {
      await socket.accept();
      for await (const _ of socket);
    },
    drive: async (world, path) => void (await (await world.client.connect(path, { autoPong: false })).closed),
    expected: [
      ["connecting", "accept", "open"],
      ["open", "heartbeatTimeout", "closed"],
    ],
  },
  {
    name: "open:transportClosed",
    handler: async (socket) => {
      await socket.accept();
      for await (const _ of socket);
    },
    drive: async (world, path) => void (await (await world.client.connect(path)).abort()),
    expected: [
      ["connecting", "accept", "open"],
      ["open", "transportClosed", "closed"],
    ],
  },
  {
    name: "closing:closeTimeout",
    handler: async (socket) => {
      await socket.accept();
      await socket.receive().catch(() => undefined);
      await socket.close(4002, "no answer expected");
    },
    drive: async (world, path) => {
      const ws = await world.client.connect(path);
      // The client stops reading, so it never sees (nor answers) the close frame.
      ws.pauseReading();
      ws.sendText("go");
      // A client that does not read does not notice the end either, until it reads again.
      await world.serverClosed();
      ws.resumeReading();
      await ws.closed;
    },
    expected: [
      ["connecting", "accept", "open"],
      ["open", "close", "closing"],
      ["closing", "closeTimeout", "closed"],
    ],
  },
  {
    name: "closing:terminate",
    ownApp: { closeTimeoutMs: 10_000 },
    handler: async (socket) => {
      await socket.accept();
      for await (const _ of socket);
    },
    drive: async (world, path) => {
      const ws = await world.client.connect(path);
      ws.pauseReading();
      // Shutdown sends 1001, the client never answers, the drain timeout terminates it.
      await world.app.close({ timeoutMs: 100 });
      await world.serverClosed();
      ws.resumeReading();
      await ws.closed;
    },
    expected: [
      ["connecting", "accept", "open"],
      ["open", "close", "closing"],
      ["closing", "terminate", "closed"],
    ],
  },
];

const MAX_PAYLOAD = 4096;

function makeApp(scripts: Map<string, (socket: AnySocket) => Promise<void>>, closeTimeoutMs = 150): App {
  return createApp({
    logger: quiet,
    maxPayload: MAX_PAYLOAD,
    heartbeat: { intervalMs: 60, timeoutMs: 90 },
    handshakeTimeoutMs: 200,
    closeTimeoutMs,
    routes: [websocket("/puppet", (socket) => scripts.get(socket.query.scenario ?? "")!(socket))],
  });
}

const defined = definedTransitions();
const covered = new Map<string, Set<string>>();

describe.each(["memory", "tcp"] as const)("every transition of the connection machine, over %s", (transport) => {
  const scripts = new Map<string, (socket: AnySocket) => Promise<void>>();
  const probe = new Probe();
  const app = makeApp(scripts);
  app.observe(probe);
  const closedIn = (observed: Probe) => async (): Promise<void> => {
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      const open = [...observed.connections.values()].some((record) => record.info.url.includes("scenario=") && record.state !== "closed");
      if (!open) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const shared: World = { app, client: testClient(app, { transport }), serverClosed: closedIn(probe) };
  const seen = new Set<string>();
  covered.set(transport, seen);
  afterAll(async () => {
    await shared.client.close();
    await app.close({ timeoutMs: 500 });
  });

  test("every defined transition has a scenario", () => {
    const scripted = new Set(scenarios.flatMap((scenario) => scenario.expected.map(([from, event]) => `${from}:${event}`)));
    expect([...defined].filter((transition) => !scripted.has(transition))).toEqual([]);
  });

  test.each(scenarios.map((scenario) => [scenario.name, scenario] as const))("%s", async (name, scenario) => {
    let world = shared;
    let worldProbe = probe;
    if (scenario.ownApp !== undefined) {
      worldProbe = new Probe();
      const own = makeApp(scripts, scenario.ownApp.closeTimeoutMs);
      own.observe(worldProbe);
      world = { app: own, client: testClient(own, { transport }), serverClosed: closedIn(worldProbe) };
    }
    scripts.set(name, scenario.handler);
    const path = `/puppet?scenario=${encodeURIComponent(name)}`;
    await scenario.drive(world, path);
    const record = () => [...worldProbe.connections.values()].find((r) => r.info.url === path);
    await expect.poll(() => record()?.state, { timeout: 3000 }).toBe("closed");
    const steps = record()!.transitions.map(({ from, event, to }) => [from, event, to] as const);
    expect(steps).toEqual(scenario.expected);
    for (const [from, event] of steps) seen.add(`${from}:${event}`);
    if (world !== shared) await world.app.close({ timeoutMs: 100 });
  });

  test("transition coverage: every defined transition was driven", () => {
    const driven = [...seen].filter((transition) => defined.has(transition));
    console.log(`transition coverage (${transport}): ${driven.length}/${defined.size}`);
    expect(driven.length).toBe(defined.size);
  });
});

afterAll(() => {
  const both = [...defined].filter((transition) => [...covered.values()].every((seen) => seen.has(transition)));
  console.log(`transition coverage: ${both.length}/${defined.size}`);
});
