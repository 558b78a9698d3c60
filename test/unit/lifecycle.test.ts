/**
 * src/connection/lifecycle.ts on its own, through its real glue: `startLifecycle` with and
 * without `inspect`, so both the compiled table and the xstate actor built by
 * `connectionMachine.provide(...)` run — no action replaced. Every row of the lifecycle table
 * is asserted as the exact side effects the runtime is asked for (close codes and reasons as
 * they go on the wire) and the exact outcome handed to cleanup.
 */
import { describe, expect, test } from "vitest";
import type { InspectionEvent } from "xstate";
import type { ConnectionEvent, ConnectionOutcome, ConnectionState } from "../../machines/connection.js";
import { CompiledLifecycle, type Lifecycle, type LifecycleEffects, startLifecycle } from "../../src/connection/lifecycle.js";

type Call =
  | readonly ["completeHandshake"]
  | readonly ["sendHttpDenial", number]
  | readonly ["sendCloseFrame", number, string]
  | readonly ["terminateTransport"]
  | readonly ["signalDisconnect", number, string]
  | readonly ["armCloseTimeout"]
  | readonly ["releaseResources", ConnectionOutcome]
  | readonly ["mark", string];

function recorder(calls: Call[], hooks: Partial<LifecycleEffects> = {}): LifecycleEffects {
  return {
    completeHandshake: () => {
      calls.push(["completeHandshake"]);
      hooks.completeHandshake?.();
    },
    sendHttpDenial: (status) => {
      calls.push(["sendHttpDenial", status]);
      hooks.sendHttpDenial?.(status);
    },
    sendCloseFrame: (code, reason) => {
      calls.push(["sendCloseFrame", code, reason]);
      hooks.sendCloseFrame?.(code, reason);
    },
    terminateTransport: () => {
      calls.push(["terminateTransport"]);
      hooks.terminateTransport?.();
    },
    signalDisconnect: (code, reason) => {
      calls.push(["signalDisconnect", code, reason]);
      hooks.signalDisconnect?.(code, reason);
    },
    armCloseTimeout: () => {
      calls.push(["armCloseTimeout"]);
      hooks.armCloseTimeout?.();
    },
    releaseResources: (outcome) => {
      calls.push(["releaseResources", outcome]);
      hooks.releaseResources?.(outcome);
    },
  };
}

const runners = {
  compiled: (effects: LifecycleEffects): Lifecycle => startLifecycle(effects),
  inspected: (effects: LifecycleEffects): Lifecycle => startLifecycle(effects, () => {}),
} as const;

function run(kind: keyof typeof runners, events: readonly ConnectionEvent[]): { value: ConnectionState; calls: Call[] } {
  const calls: Call[] = [];
  const lifecycle = runners[kind](recorder(calls));
  for (const event of events) lifecycle.send(event);
  return { value: lifecycle.value, calls };
}

const accept: ConnectionEvent = { type: "accept" };
const clean = (code = 1000, reason = ""): ConnectionEvent => ({ type: "transportClosed", code, reason, wasClean: true });
const unclean = (code = 1006): ConnectionEvent => ({ type: "transportClosed", code, reason: "", wasClean: false });
const entering = (code: number, reason: string): Call[] => [
  ["signalDisconnect", code, reason],
  ["armCloseTimeout"],
];
const closed = (outcome: ConnectionOutcome): Call[] => [
  ["signalDisconnect", outcome.code, outcome.reason],
  ["releaseResources", outcome],
];

interface Row {
  readonly name: string;
  readonly events: readonly ConnectionEvent[];
  readonly value: ConnectionState;
  readonly calls: readonly Call[];
}

const rows: Row[] = [
  { name: "nothing happens until told", events: [], value: "connecting", calls: [] },
  { name: "accept completes the handshake", events: [accept], value: "open", calls: [["completeHandshake"]] },
  {
    name: "reject sends the HTTP status and ends, never opened",
    events: [{ type: "reject", status: 401 }],
    value: "closed",
    calls: [["sendHttpDenial", 401], ...closed({ code: 1006, reason: "", wasClean: false, initiator: "server", rejectedStatus: 401 })],
  },
  {
    name: "close before accept completes the handshake, then sends the close frame",
    events: [{ type: "close", code: 4001, reason: "Invalid token" }],
    value: "closing",
    calls: [["completeHandshake"], ["sendCloseFrame", 4001, "Invalid token"], ...entering(4001, "Invalid token")],
  },
  {
    name: "close before accept, then the peer's answer ends it cleanly",
    events: [{ type: "close", code: 4001, reason: "Invalid token" }, clean(4001, "Invalid token")],
    value: "closed",
    calls: [
      ["completeHandshake"],
      ["sendCloseFrame", 4001, "Invalid token"],
      ...entering(4001, "Invalid token"),
      ...closed({ code: 4001, reason: "Invalid token", wasClean: true, initiator: "server" }),
    ],
  },
  {
    name: "a handler that ends before accept refuses with 403",
    events: [{ type: "handlerDone" }],
    value: "closed",
    calls: [["sendHttpDenial", 403], ...closed({ code: 1006, reason: "", wasClean: false, initiator: "server", rejectedStatus: 403 })],
  },
  {
    name: "a handler that fails before accept refuses with 500",
    events: [{ type: "handlerError" }],
    value: "closed",
    calls: [["sendHttpDenial", 500], ...closed({ code: 1006, reason: "", wasClean: false, initiator: "server", rejectedStatus: 500 })],
  },
  {
    name: "the transport ending during the handshake is abnormal, whatever it reports",
    events: [clean(1001, "gone")],
    value: "closed",
    calls: closed({ code: 1006, reason: "", wasClean: false, initiator: "transport" }),
  },
  {
    name: "a handshake timeout terminates the transport",
    events: [{ type: "handshakeTimeout" }],
    value: "closed",
    calls: [["terminateTransport"], ...closed({ code: 1006, reason: "", wasClean: false, initiator: "server" })],
  },
  {
    name: "the server closes an open connection with its code and reason",
    events: [accept, { type: "close", code: 1000, reason: "bye" }, clean(1000, "bye")],
    value: "closed",
    calls: [
      ["completeHandshake"],
      ["sendCloseFrame", 1000, "bye"],
      ...entering(1000, "bye"),
      ...closed({ code: 1000, reason: "bye", wasClean: true, initiator: "server" }),
    ],
  },
  {
    name: "a handler that ends normally closes with 1000 and an empty reason",
    events: [accept, { type: "handlerDone" }, clean()],
    value: "closed",
    calls: [
      ["completeHandshake"],
      ["sendCloseFrame", 1000, ""],
      ...entering(1000, ""),
      ...closed({ code: 1000, reason: "", wasClean: true, initiator: "server" }),
    ],
  },
  {
    name: "a handler that fails closes with 1011 Internal error",
    events: [accept, { type: "handlerError" }, clean(1011, "Internal error")],
    value: "closed",
    calls: [
      ["completeHandshake"],
      ["sendCloseFrame", 1011, "Internal error"],
      ...entering(1011, "Internal error"),
      ...closed({ code: 1011, reason: "Internal error", wasClean: true, initiator: "server" }),
    ],
  },
  {
    name: "the peer's close frame: no frame sent by the runtime (the transport answers), initiator client",
    events: [accept, { type: "peerClose", code: 1001, reason: "going" }, clean(1001, "going")],
    value: "closed",
    calls: [["completeHandshake"], ...entering(1001, "going"), ...closed({ code: 1001, reason: "going", wasClean: true, initiator: "client" })],
  },
  {
    name: "a peer's close frame without a code is 1005",
    events: [accept, { type: "peerClose", code: 1005, reason: "" }, clean(1005)],
    value: "closed",
    calls: [["completeHandshake"], ...entering(1005, ""), ...closed({ code: 1005, reason: "", wasClean: true, initiator: "client" })],
  },
  {
    name: "a protocol error: the transport sent the frame; the code is kept, cleanliness comes from the transport",
    events: [accept, { type: "protocolError", code: 1009, reason: "Message too big" }, unclean(1006)],
    value: "closed",
    calls: [
      ["completeHandshake"],
      ...entering(1009, "Message too big"),
      ...closed({ code: 1009, reason: "Message too big", wasClean: false, initiator: "server" }),
    ],
  },
  {
    name: "a heartbeat timeout terminates as 1006",
    events: [accept, { type: "heartbeatTimeout" }],
    value: "closed",
    calls: [["completeHandshake"], ["terminateTransport"], ...closed({ code: 1006, reason: "", wasClean: false, initiator: "server" })],
  },
  {
    name: "the transport ending an open connection without a close frame is 1006 from the transport",
    events: [accept, clean(1000, "looked clean")],
    value: "closed",
    calls: [["completeHandshake"], ...closed({ code: 1006, reason: "", wasClean: false, initiator: "transport" })],
  },
  {
    name: "a close timeout terminates, unclean, keeping the code",
    events: [accept, { type: "close", code: 4000, reason: "later" }, { type: "closeTimeout" }],
    value: "closed",
    calls: [
      ["completeHandshake"],
      ["sendCloseFrame", 4000, "later"],
      ...entering(4000, "later"),
      ["terminateTransport"],
      ...closed({ code: 4000, reason: "later", wasClean: false, initiator: "server" }),
    ],
  },
  {
    name: "terminate (drain timeout) ends a closing connection, unclean",
    events: [accept, { type: "peerClose", code: 1000, reason: "" }, { type: "terminate" }],
    value: "closed",
    calls: [["completeHandshake"], ...entering(1000, ""), ["terminateTransport"], ...closed({ code: 1000, reason: "", wasClean: false, initiator: "client" })],
  },
  {
    name: "in connecting, events of later states are ignored",
    events: [
      { type: "peerClose", code: 1000, reason: "" },
      { type: "protocolError", code: 1002, reason: "" },
      { type: "heartbeatTimeout" },
      { type: "closeTimeout" },
      { type: "terminate" },
    ],
    value: "connecting",
    calls: [],
  },
  {
    name: "in open, handshake events and closing timers are ignored",
    events: [accept, accept, { type: "reject", status: 400 }, { type: "handshakeTimeout" }, { type: "closeTimeout" }, { type: "terminate" }],
    value: "open",
    calls: [["completeHandshake"]],
  },
  {
    name: "in closing, further closes, the peer's answer and handler endings change nothing",
    events: [
      accept,
      { type: "close", code: 4000, reason: "first" },
      { type: "close", code: 4001, reason: "second" },
      { type: "peerClose", code: 4000, reason: "first" },
      { type: "protocolError", code: 1002, reason: "" },
      { type: "handlerError" },
      { type: "handlerDone" },
      { type: "heartbeatTimeout" },
      accept,
    ],
    value: "closing",
    calls: [["completeHandshake"], ["sendCloseFrame", 4000, "first"], ...entering(4000, "first")],
  },
  {
    name: "closed is final: nothing after it runs anything",
    events: [{ type: "reject", status: 400 }, accept, { type: "close", code: 1000, reason: "" }, clean(), { type: "terminate" }],
    value: "closed",
    calls: [["sendHttpDenial", 400], ...closed({ code: 1006, reason: "", wasClean: false, initiator: "server", rejectedStatus: 400 })],
  },
];

describe.each(["compiled", "inspected"] as const)("the %s lifecycle", (kind) => {
  // xstate itself keeps a finished actor finished (and warns about events sent to it).
  test.each(kind === "compiled" ? rows : rows.filter((row) => !row.name.startsWith("closed is final")))("$name", ({ events, value, calls }) => {
    expect(run(kind, events)).toStrictEqual({ value, calls });
  });

  test("events sent from inside an effect wait until the current one is done, then run in order", () => {
    const calls: Call[] = [];
    let lifecycle: Lifecycle | undefined;
    const effects = recorder(calls, {
      sendCloseFrame: () => {
        // The peer answers at once, and a drain timeout fires too: the second finds closed and does nothing.
        lifecycle!.send(clean(4000, "x"));
        lifecycle!.send({ type: "terminate" });
        calls.push(["mark", "sendCloseFrame returns"]);
      },
    });
    lifecycle = runners[kind](effects);
    lifecycle.send(accept);
    lifecycle.send({ type: "close", code: 4000, reason: "x" });
    expect(lifecycle.value).toBe("closed");
    expect(calls).toStrictEqual([
      ["completeHandshake"],
      ["sendCloseFrame", 4000, "x"],
      ["mark", "sendCloseFrame returns"],
      ...entering(4000, "x"),
      ...closed({ code: 4000, reason: "x", wasClean: true, initiator: "server" }),
    ]);
  });

  test("each connection calls its own effects", () => {
    const first: Call[] = [];
    const second: Call[] = [];
    const a = runners[kind](recorder(first));
    const b = runners[kind](recorder(second));
    a.send(accept);
    b.send({ type: "reject", status: 429 });
    expect(a.value).toBe("open");
    expect(b.value).toBe("closed");
    expect(first).toStrictEqual([["completeHandshake"]]);
    expect(second).toStrictEqual([
      ["sendHttpDenial", 429],
      ...closed({ code: 1006, reason: "", wasClean: false, initiator: "server", rejectedStatus: 429 }),
    ]);
  });
});

describe("startLifecycle", () => {
  test("without inspect: the compiled table, starting in connecting with the initial context", () => {
    const lifecycle = startLifecycle(recorder([]));
    expect(lifecycle).toBeInstanceOf(CompiledLifecycle);
    expect(lifecycle.value).toBe("connecting");
    expect((lifecycle as CompiledLifecycle).context).toStrictEqual({
      code: 1006,
      reason: "",
      initiator: "transport",
      wasClean: false,
      rejectedStatus: undefined,
    });
  });

  test("with inspect: an xstate actor whose inspection events are xstate's own", () => {
    const inspected: InspectionEvent[] = [];
    const lifecycle = startLifecycle(recorder([]), (event) => inspected.push(event));
    expect(lifecycle).not.toBeInstanceOf(CompiledLifecycle);
    expect(lifecycle.value).toBe("connecting");
    lifecycle.send(accept);
    lifecycle.send({ type: "close", code: 4002, reason: "done" });
    expect(lifecycle.value).toBe("closing");
    const received = inspected.filter((event) => event.type === "@xstate.event").map((event) => (event as { event: { type: string } }).event.type);
    expect(received).toStrictEqual(["xstate.init", "accept", "close"]);
    const snapshots = inspected.filter((event) => event.type === "@xstate.snapshot").map((event) => (event.snapshot as unknown as { value: unknown }).value);
    expect(snapshots).toStrictEqual(["connecting", "open", "closing"]);
    expect(inspected[0]?.type).toBe("@xstate.actor");
  });
});

describe("the compiled lifecycle", () => {
  test("keeps the context as the machine's assign actions make it", () => {
    const lifecycle = new CompiledLifecycle(recorder([]));
    lifecycle.send(accept);
    lifecycle.send({ type: "peerClose", code: 4100, reason: "why" });
    expect(lifecycle.context).toStrictEqual({ code: 4100, reason: "why", initiator: "client", wasClean: false, rejectedStatus: undefined });
    lifecycle.send(clean(4100, "why"));
    expect(lifecycle.context).toStrictEqual({ code: 4100, reason: "why", initiator: "client", wasClean: true, rejectedStatus: undefined });
  });

  test("an effect that throws does not wedge it: the error reaches the sender, and the next event runs", () => {
    const calls: Call[] = [];
    let failures = 1;
    const lifecycle = new CompiledLifecycle(
      recorder(calls, {
        completeHandshake: () => {
          if (failures-- > 0) throw new Error("write failed");
        },
      }),
    );
    expect(() => lifecycle.send(accept)).toThrow("write failed");
    expect(lifecycle.value).toBe("connecting");
    lifecycle.send(accept);
    expect(lifecycle.value).toBe("open");
    expect(calls).toStrictEqual([["completeHandshake"], ["completeHandshake"]]);
  });
});
