/**
 * The protocol-machine handler kind (src/handlers/machine.ts) with its actions and state names,
 * over the in-memory transport: what reaches the wire (exact close codes and reasons, frames),
 * what reaches the machine (its input, its events, the disconnect), what reaches `onError`, the
 * log and the stats, and the route's description. Machines run on the real xstate actor.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, test, vi } from "vitest";
import { type AnyStateMachine, createActor, type EventObject, setup } from "xstate";
import { type App, createApp } from "../../src/app/app.js";
import { effectIfLoaded } from "../../src/codec/effect.js";
import type { Logger } from "../../src/connection/logger.js";
import { type ConnectionObserver, ObserverHub } from "../../src/connection/observer.js";
import type { AnySocket } from "../../src/connection/socket.js";
import type { HandlerParent } from "../../src/connection/handler.js";
import { websocketListener } from "../../src/handlers/listener.js";
import {
  CLOSE_CONNECTION,
  closeConnection,
  type MachineEmitted,
  SEND_MESSAGE,
  sendMessage,
} from "../../src/handlers/machine-actions.js";
import { isReservedEventType, stateName } from "../../src/handlers/machine-state.js";
import { type DisconnectEvent, type MachineInput, type MachineOptions, machineRouteOf, websocketMachine } from "../../src/handlers/machine.js";
import { keepOpen } from "../../src/handlers/pipeline.js";
import { type CloseInfo, testClient, type TestSocket } from "../../src/testing/client.js";

// Whether effect has loaded yet is this test's to decide (a send schema of effect's encodes
// asynchronously until it has): the rest of the module is the real one.
vi.mock("../../src/codec/effect.js", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../../src/codec/effect.js")>();
  return { ...actual, effectIfLoaded: vi.fn(actual.effectIfLoaded) };
});

const apps: App[] = [];
afterAll(async () => {
  await Promise.all(apps.map((each) => each.close()));
});

interface Served {
  readonly app: App;
  /** What the app logged as errors: `[message, err]`. */
  readonly logged: [string, unknown][];
  connect(path?: string): Promise<TestSocket>;
}

function serve(options: Omit<MachineOptions<"/m", "json", Record<never, never>>, "receive"> & { receive?: unknown }, appOptions: Parameters<typeof createApp>[0] extends infer O ? Partial<O> : never = {}): Served {
  const logged: [string, unknown][] = [];
  const logger: Logger = { error: (fields, message) => void logged.push([String(message), (fields as { err?: unknown }).err]), warn: () => {}, info: () => {}, debug: () => {} };
  const app = createApp({ ...appOptions, routes: [websocketMachine("/m", options as MachineOptions<"/m", "json", Record<never, never>>)], logger });
  apps.push(app);
  const client = testClient(app, { receiveTimeoutMs: 2_000 });
  return { app, logged, connect: (path = "/m") => client.connect(path) };
}

/** How the connection ended; a test whose connection never ends fails fast instead of waiting for its timeout. */
function closed(socket: TestSocket): Promise<CloseInfo> {
  return Promise.race([
    socket.closed,
    sleep(1_500, undefined, { ref: false }).then(() => {
      throw new Error("the connection did not close within 1.5 s");
    }),
  ]);
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** `idle --go--> busy`; `echo` answers in `idle`; `boom` throws in `busy`; `kick` closes 4003. */
type Ev = { type: "go" } | { type: "echo"; text?: string } | { type: "boom" } | { type: "kick" } | { type: "pong" } | { type: "back" };
function recorder() {
  const events: EventObject[] = [];
  const machine = setup({
    types: { events: {} as Ev | DisconnectEvent },
    actions: {
      record: ({ event }) => void events.push(event),
      explode: () => {
        throw new Error("secret detail");
      },
    },
  }).createMachine({
    id: "rec",
    initial: "idle",
    on: { disconnect: { actions: "record" }, pong: {} },
    states: {
      idle: {
        on: {
          go: { target: "busy", actions: "record" },
          echo: { actions: ["record", sendMessage(({ event }: { event: Ev | DisconnectEvent }) => (event.type === "echo" ? `echo ${event.text ?? ""}` : undefined))] },
          kick: { actions: ["record", closeConnection(4003, "kicked"), sendMessage("after kick")] },
        },
      },
      busy: { on: { boom: { actions: "explode" }, back: { target: "idle", actions: "record" } } },
    },
  });
  return { events, machine };
}

describe("state names and reserved event types (machine-state.ts)", () => {
  test.each([
    ["idle", "idle"],
    [{ ready: "idle" }, "ready.idle"],
    [{ a: { b: "c" } }, "a.b.c"],
    [{ a: "x", b: "y" }, "a.x | b.y"],
    [{ p: { a: "x", b: "y" } }, "p.(a.x | b.y)"],
    [{ a: {} }, "a"],
    [{ a: undefined }, "a"],
    [{ a: {}, b: "y" }, "a | b.y"],
    [{}, ""],
  ] as const)("%j reads %s", (value, name) => {
    expect(stateName(value as never)).toBe(name);
  });

  test.each([
    ["disconnect", true],
    ["xstate.after.5.x", true],
    ["xstate.", true],
    ["statewire.sendMessage", true],
    ["statewire.", true],
    ["disconnected", false],
    ["Disconnect", false],
    ["xstate", false],
    ["xstateful", false],
    ["statewire", false],
    ["my.xstate.x", false],
    ["a.statewire.x", false],
    ["", false],
  ] as const)("%s reserved: %s", (type, reserved) => {
    expect(isReservedEventType(type)).toBe(reserved);
  });
});

describe("sendMessage and closeConnection emit what the runtime performs (machine-actions.ts)", () => {
  function emitted(machine: AnyStateMachine, events: EventObject[]): MachineEmitted[] {
    const out: MachineEmitted[] = [];
    const actor = createActor(machine);
    actor.on("*", (event) => void out.push(event as MachineEmitted));
    actor.start();
    for (const event of events) actor.send(event);
    actor.stop();
    return out;
  }

  test("the emitted types are statewire's own", () => {
    expect(SEND_MESSAGE).toBe("statewire.sendMessage");
    expect(CLOSE_CONNECTION).toBe("statewire.closeConnection");
  });

  test("a value, a function of { context, event }, and a close with or without a reason", () => {
    const machine = setup({ types: { context: {} as { n: number }, events: {} as { type: "a"; x: number } } }).createMachine({
      context: { n: 7 },
      entry: sendMessage({ hello: 1 }),
      on: {
        a: {
          actions: [
            sendMessage(({ context, event }: { context: { n: number }; event: { type: "a"; x: number } }) => context.n + event.x),
            closeConnection(4000),
            closeConnection(4001, "why"),
            closeConnection(4002, ({ context, event }: { context: { n: number }; event: { type: "a"; x: number } }) => `n=${context.n} x=${event.x}`),
          ],
        },
      },
    });
    expect(emitted(machine, [{ type: "a", x: 2 } as EventObject])).toStrictEqual([
      { type: "statewire.sendMessage", value: { hello: 1 } },
      { type: "statewire.sendMessage", value: 9 },
      { type: "statewire.closeConnection", code: 4000, reason: "" },
      { type: "statewire.closeConnection", code: 4001, reason: "why" },
      { type: "statewire.closeConnection", code: 4002, reason: "n=7 x=2" },
    ]);
  });

  test("a computed reason is made a string and cut to the 123 bytes of a close frame", () => {
    const machine = setup({}).createMachine({
      entry: [closeConnection(4000, () => 42 as unknown as string), closeConnection(4000, () => "é".repeat(100)), closeConnection(4000, () => "a".repeat(123))],
    });
    const [number, long, fits] = emitted(machine, []) as { reason: string }[];
    expect(number!.reason).toBe("42");
    expect(long!.reason).toBe(`${"é".repeat(60)}…`);
    expect(fits!.reason).toBe("a".repeat(123));
  });

  test("a code or a fixed reason not valid on the wire is an error where the machine is defined", () => {
    expect(() => closeConnection(1005)).toThrow(RangeError);
    expect(() => closeConnection(1006, () => "x")).toThrow(/^Invalid close code 1006/);
    expect(() => closeConnection(4000, "a".repeat(124))).toThrow("Close reason is 124 bytes of UTF-8; at most 123 fit in a close frame");
    expect(() => closeConnection(4999, "a".repeat(123))).not.toThrow();
  });
});

describe("the route and its description (machineRouteOf)", () => {
  const { machine } = recorder();

  test("defaults: JSON in text frames, events from the message, close on the unexpected and the invalid", () => {
    const route = websocketMachine("/d", { machine });
    expect(route.kind).toBe("websocket");
    expect(route.path).toBe("/d");
    expect(route.logic.readsSocket).toBe(false);
    const description = machineRouteOf(route)!;
    expect(description).toStrictEqual({
      machine,
      receive: "json",
      receiveMode: "text",
      customEvents: false,
      onUnexpected: "close",
      onInvalid: "close",
      encode: expect.any(Function),
    });
    expect(description.encode({ a: 1 })).toStrictEqual({ data: '{"a":1}', isBinary: false });
  });

  test.each([
    [{ receive: "bytes" }, { receive: "bytes", receiveMode: "binary" }],
    [{ receive: "msgpack" }, { receive: "msgpack", receiveMode: "binary" }],
    [{ receive: "text" }, { receive: "text", receiveMode: "text" }],
    [{ receive: "text", receiveMode: "binary" }, { receive: "text", receiveMode: "binary" }],
    [{ toEvent: () => undefined }, { customEvents: true }],
    [{ onUnexpected: "ignore" }, { onUnexpected: "ignore" }],
    [{ onUnexpected: "reply" }, { onUnexpected: "reply" }],
    [{ onUnexpected: () => "x" }, { onUnexpected: "function" }],
    [{ onInvalid: "reply" }, { onInvalid: "reply" }],
    [{ onInvalid: () => "x" }, { onInvalid: "function" }],
  ] as const)("%o is described as %o", (options, described) => {
    const description = machineRouteOf(websocketMachine("/d", { machine, ...(options as object) }))!;
    const { encode: _encode, ...rest } = description;
    expect(rest).toStrictEqual({
      machine,
      receive: "json",
      receiveMode: "text",
      customEvents: false,
      onUnexpected: "close",
      onInvalid: "close",
      ...described,
    });
  });

  test("sendMode reaches the description's encoder; other kinds have no description", () => {
    expect(machineRouteOf(websocketMachine("/d", { machine, sendMode: "binary" }))!.encode("x")).toStrictEqual({ data: Buffer.from("x"), isBinary: true });
    expect(machineRouteOf(websocketListener("/l", (text) => text))).toBeUndefined();
  });
});

describe("messages become events", () => {
  test("a JSON message with a string type is the event itself", async () => {
    const { events, machine } = recorder();
    const served = serve({ machine });
    const socket = await served.connect();
    socket.sendJson({ type: "echo", text: "hi", extra: [1] });
    expect(await socket.receiveText()).toBe("echo hi");
    expect(events).toStrictEqual([{ type: "echo", text: "hi", extra: [1] }]);
    await socket.close(1000);
  });

  test.each([["null"], ["[1]"], ['"echo"'], ['{"type":5}'], ["{}"], ['[{"type":"echo"}]']])(
    "JSON %s has no string type: close 1007 with the reason saying so",
    async (text) => {
      const { events, machine } = recorder();
      const served = serve({ machine });
      const socket = await served.connect();
      socket.sendText(text);
      expect(await closed(socket)).toStrictEqual({ code: 1007, reason: 'expected a message with a string "type"', wasClean: true });
      expect(events).toStrictEqual([{ type: "disconnect", code: 1007, reason: 'expected a message with a string "type"' }]);
    },
  );

  test("MessagePack without a type closes 1007 as JSON does (only text and bytes are wrapped)", async () => {
    const { machine } = recorder();
    const served = serve({ machine, receive: "msgpack" });
    const socket = await served.connect();
    socket.sendMsgpack({ type: "echo", text: "m" });
    expect(await socket.receiveText()).toBe("echo m");
    socket.sendMsgpack("echo");
    expect((await closed(socket)).code).toBe(1007);
  });

  test("text and bytes become { type: message, data }, even text that reads as an event", async () => {
    const seen: unknown[] = [];
    const machine = setup({}).createMachine({ on: { message: { actions: ({ event }) => void seen.push(event) } } });
    const text = serve({ machine, receive: "text" });
    const s1 = await text.connect();
    s1.sendText('{"type":"go"}');
    const bytes = serve({ machine, receive: "bytes" });
    const s2 = await bytes.connect();
    s2.sendBytes(new Uint8Array([1, 2]));
    await tick();
    await tick();
    expect(seen).toStrictEqual([
      { type: "message", data: '{"type":"go"}' },
      { type: "message", data: Buffer.from([1, 2]) },
    ]);
    await s1.close(1000);
    await s2.close(1000);
  });

  test("toEvent maps a message; undefined discards it (counted), the connection stays open", async () => {
    const { events, machine } = recorder();
    const served = serve({ machine, toEvent: (data: unknown) => ((data as { t: string }).t === "skip" ? undefined : { type: "echo", text: (data as { t: string }).t }) });
    const socket = await served.connect();
    socket.sendJson({ t: "skip" });
    socket.sendJson({ t: "x" });
    expect(await socket.receiveText()).toBe("echo x");
    expect(events).toStrictEqual([{ type: "echo", text: "x" }]);
    expect(served.app.stats().messages.discarded).toBe(1);
    await socket.close(1000);
  });

  test("a toEvent that throws goes to onError, which may keep the connection open", async () => {
    const errors: unknown[] = [];
    const { machine } = recorder();
    const served = serve({
      machine,
      toEvent: (data: unknown) => {
        if ((data as { t: string }).t === "bad") throw new Error("cannot map");
        return { type: "echo", text: "ok" };
      },
      onError: (error) => {
        errors.push(error);
        return keepOpen("sorry");
      },
    });
    const socket = await served.connect();
    socket.sendJson({ t: "bad" });
    expect(await socket.receiveText()).toBe("sorry");
    socket.sendJson({ t: "fine" });
    expect(await socket.receiveText()).toBe("echo ok");
    expect(errors).toStrictEqual([new Error("cannot map")]);
    await socket.close(1000);
  });
});

describe("events the current state does not accept", () => {
  test("close (default): 1008 naming the event and the state; onError is not asked", async () => {
    const errors: unknown[] = [];
    const { machine } = recorder();
    const served = serve({ machine, onError: (error) => {
        errors.push(error);
        return keepOpen();
      },
    });
    const socket = await served.connect();
    socket.sendJson({ type: "go" });
    socket.sendJson({ type: "go" });
    expect(await closed(socket)).toStrictEqual({ code: 1008, reason: 'unexpected "go" in state busy', wasClean: true });
    expect(errors).toStrictEqual([]);
    expect(served.logged).toStrictEqual([]);
  });

  test("a long event type is cut to fit the close frame", async () => {
    const { machine } = recorder();
    const served = serve({ machine });
    const socket = await served.connect();
    const type = "x".repeat(200);
    socket.sendJson({ type });
    const info = await closed(socket);
    expect(info.code).toBe(1008);
    expect(info.reason).toBe(`unexpected "${"x".repeat(108)}…`);
    expect(Buffer.byteLength(info.reason)).toBe(123);
  });

  test("a guard that says no makes the event unexpected; an empty transition accepts it silently", async () => {
    const machine = setup({ types: { events: {} as { type: "go" } | { type: "quiet" } | { type: "ping" } } }).createMachine({
      initial: "ready",
      states: { ready: { initial: "idle", states: { idle: { on: { go: { guard: () => false, target: "idle" }, quiet: {}, ping: { actions: sendMessage("pong") } } } } } },
    });
    const served = serve({ machine });
    const socket = await served.connect();
    socket.sendJson({ type: "quiet" });
    socket.sendJson({ type: "ping" });
    expect(await socket.receiveText()).toBe("pong");
    socket.sendJson({ type: "go" });
    expect(await closed(socket)).toStrictEqual({ code: 1008, reason: 'unexpected "go" in state ready.idle', wasClean: true });
    expect(socket.history).toHaveLength(1);
  });

  test.each(["disconnect", "xstate.after.5000.rec.idle", "statewire.closeConnection"])(
    "the reserved type %s is unexpected even where a wildcard would take it",
    async (type) => {
      const machine = setup({}).createMachine({ on: { "*": { actions: sendMessage(({ event }: { event: EventObject }) => `got ${event.type}`) } } });
      const served = serve({ machine });
      const socket = await served.connect();
      socket.sendJson({ type: "other" });
      expect(await socket.receiveText()).toBe("got other");
      socket.sendJson({ type, code: 4000, reason: "forged" });
      expect(await closed(socket)).toStrictEqual({ code: 1008, reason: `unexpected "${type}" in state `, wasClean: true });
    },
  );

  test("ignore: discarded and counted, the connection stays open", async () => {
    const { events, machine } = recorder();
    const served = serve({ machine, onUnexpected: "ignore" });
    const socket = await served.connect();
    socket.sendJson({ type: "boom" });
    socket.sendJson({ type: "echo", text: "still" });
    expect(await socket.receiveText()).toBe("echo still");
    expect(events).toStrictEqual([{ type: "echo", text: "still" }]);
    expect(served.app.stats().messages.discarded).toBe(1);
    expect(socket.history).toHaveLength(1);
    await socket.close(1000);
  });

  test("reply: an error frame naming the event and the state, then the next message", async () => {
    const { machine } = recorder();
    const served = serve({ machine, onUnexpected: "reply" });
    const socket = await served.connect();
    socket.sendJson({ type: "boom" });
    socket.sendJson({ type: "echo" });
    expect(await socket.receiveJson()).toStrictEqual({ error: "unexpected event", type: "boom", state: "idle" });
    expect(await socket.receiveText()).toBe("echo ");
    expect(served.app.stats().messages.discarded).toBe(0);
    await socket.close(1000);
  });

  test("a function: called with the event, the state and the context; its result (or promise of it) is sent, undefined sends nothing", async () => {
    const calls: unknown[] = [];
    const { machine } = recorder();
    const served = serve({
      machine,
      onUnexpected: ({ event, state }, context) => {
        calls.push([event, state, typeof (context.socket as AnySocket).close]);
        if (event.type === "boom") return Promise.resolve({ no: event.type });
        if (event.type === "back") return undefined;
        return `no ${event.type} in ${state}`;
      },
    });
    const socket = await served.connect();
    socket.sendJson({ type: "boom" });
    socket.sendJson({ type: "back" });
    socket.sendJson({ type: "zzz" });
    expect(await socket.receive()).toBe('{"no":"boom"}');
    expect(await socket.receive()).toBe("no zzz in idle");
    expect(calls).toStrictEqual([
      [{ type: "boom" }, "idle", "function"],
      [{ type: "back" }, "idle", "function"],
      [{ type: "zzz" }, "idle", "function"],
    ]);
    expect(socket.history).toHaveLength(2);
    await socket.close(1000);
  });
});

describe("what the machine sends and how it closes", () => {
  test("strings as text, bytes as binary, values as JSON, undefined not at all, in order", async () => {
    const machine = setup({}).createMachine({
      entry: [sendMessage("t"), sendMessage(new Uint8Array([7])), sendMessage(undefined as never), sendMessage({ k: [1] }), sendMessage(null)],
    });
    const served = serve({ machine });
    const socket = await served.connect();
    expect(await socket.receive()).toBe("t");
    expect(await socket.receive()).toStrictEqual(Buffer.from([7]));
    expect(await socket.receive()).toBe('{"k":[1]}');
    expect(await socket.receive()).toBe("null");
    await tick();
    expect(socket.history).toHaveLength(4);
    await socket.close(1000);
  });

  test("closeConnection closes with its code and reason; nothing after it is sent or handled", async () => {
    const { events, machine } = recorder();
    const served = serve({ machine });
    const socket = await served.connect();
    socket.sendJson({ type: "kick" });
    socket.sendJson({ type: "echo", text: "late" });
    expect(await closed(socket)).toStrictEqual({ code: 4003, reason: "kicked", wasClean: true });
    expect(socket.history).toHaveLength(0);
    expect(served.app.stats().messages.dropped).toBe(0);
    await sleep(10);
    expect(events).toStrictEqual([{ type: "kick" }, { type: "disconnect", code: 4003, reason: "kicked" }]);
  });

  test.each([
    [{ code: 4000, reason: "done" }, 4000, "done"],
    [{ code: 4001 }, 4001, ""],
    [{ reason: "fine" }, 1000, "fine"],
    [undefined, 1000, ""],
    [null, 1000, ""],
    ["text", 1000, ""],
    [5, 1000, ""],
  ])("a final state with output %j closes %i %j", async (output, code, reason) => {
    const machine = setup({}).createMachine({ initial: "a", states: { a: { on: { end: "b" } }, b: { type: "final" } }, output: output as never });
    const errors: unknown[] = [];
    const served = serve({ machine, onError: (error) => void errors.push(error) });
    const socket = await served.connect();
    socket.sendJson({ type: "end" });
    expect(await closed(socket)).toStrictEqual({ code, reason, wasClean: true });
    expect(errors).toStrictEqual([]);
  });

  test.each([
    [{ code: "4000" }, new TypeError("A handler machine's output must be { code?: number, reason?: string }")],
    [{ reason: 5 }, new TypeError("A handler machine's output must be { code?: number, reason?: string }")],
    [{ code: 1005 }, /^Invalid close code 1005/],
    [{ code: 4000, reason: "a".repeat(124) }, /^Close reason is 124 bytes/],
  ])("a final state with output %j is a fault: 1011, the error to onError and the log", async (output, error) => {
    const machine = setup({}).createMachine({ initial: "a", states: { a: { on: { end: "b" } }, b: { type: "final" } }, output: output as never });
    const errors: unknown[] = [];
    const served = serve({ machine, onError: (e) => void errors.push(e) });
    const socket = await served.connect();
    socket.sendJson({ type: "end" });
    expect(await closed(socket)).toStrictEqual({ code: 1011, reason: "Internal error", wasClean: true });
    expect(errors).toHaveLength(1);
    if (error instanceof RegExp) expect(String((errors[0] as Error).message)).toMatch(error);
    else expect(errors[0]).toStrictEqual(error);
    expect(served.logged.map(([message, err]) => [message, err === errors[0]])).toStrictEqual([["WebSocket handler failed", true]]);
  });
});

describe("backpressure: the next message waits for the replies of the one before", () => {
  test.each([1, 2])("%i replies per message to a client that stopped reading (policy wait)", async (replies) => {
    const seen: unknown[] = [];
    const reply = sendMessage("x".repeat(100));
    const machine = setup({}).createMachine({
      on: { m: { actions: [({ event }) => void seen.push((event as { n?: number }).n), ...Array.from({ length: replies }, () => reply)] } },
    });
    const served = serve({ machine }, { backpressure: { highWaterMark: 50, policy: "wait" } });
    const socket = await served.connect();
    socket.pauseReading();
    for (const n of [1, 2, 3]) socket.sendJson({ type: "m", n });
    await sleep(20);
    // The first reply fits under the mark; the next one waits, and so does the message after it.
    expect(seen).toStrictEqual(replies === 1 ? [1, 2] : [1]);
    socket.resumeReading();
    await sleep(20);
    expect(seen).toStrictEqual([1, 2, 3]);
    expect(socket.history).toHaveLength(3 * replies);
    await socket.close(1000);
  });
});

describe("an effect send schema before effect has loaded: replies wait for their encoder, in order", () => {
  /** Run `body` with effect not loaded yet, as far as the codec can tell (each route's encoder compiles once, asynchronously). */
  async function beforeEffectLoads(body: (effect: typeof import("effect")) => Promise<void>): Promise<void> {
    const effect = await import("effect");
    const loadedNow = vi.mocked(effectIfLoaded);
    loadedNow.mockReturnValue(undefined);
    try {
      await body(effect);
    } finally {
      loadedNow.mockReset();
      loadedNow.mockImplementation(() => effect);
    }
  }
  const at = (ms: number) => `{"at":"${new Date(ms).toISOString()}"}`;

  test("the replies of one step keep their order, and the next message waits for them", async () => {
    await beforeEffectLoads(async ({ Schema }) => {
      const machine = setup({}).createMachine({
        on: {
          a: { actions: [sendMessage({ at: new Date(0) }), sendMessage("plain"), sendMessage({ at: new Date(1000) })] },
          b: { actions: sendMessage("b") },
        },
      });
      const served = serve({ machine, send: Schema.Union([Schema.String, Schema.Struct({ at: Schema.DateFromString })]) });
      const socket = await served.connect();
      socket.sendJson({ type: "a" });
      socket.sendJson({ type: "b" });
      expect([await socket.receive(), await socket.receive(), await socket.receive(), await socket.receive()]).toStrictEqual([at(0), "plain", at(1000), "b"]);
      await socket.close(1000);
    });
  });

  test("an encoding that fails is a fault (1011), and nothing of that step is sent", async () => {
    await beforeEffectLoads(async ({ Schema }) => {
      const machine = setup({}).createMachine({ on: { a: { actions: [sendMessage({ at: "not a date" }), sendMessage("queued")] } } });
      const errors: unknown[] = [];
      const served = serve({ machine, send: Schema.Struct({ at: Schema.DateFromString }), onError: (error) => void errors.push(error) });
      const socket = await served.connect();
      socket.sendJson({ type: "a" });
      expect(await closed(socket)).toStrictEqual({ code: 1011, reason: "Internal error", wasClean: true });
      expect(socket.history).toHaveLength(0);
      expect(errors).toHaveLength(1);
      expect(served.logged).toStrictEqual([["WebSocket handler failed", errors[0]]]);
    });
  });

  test("a fault while a reply is being encoded: the reply is not sent", async () => {
    await beforeEffectLoads(async ({ Schema }) => {
      const machine = setup({}).createMachine({
        on: {
          a: {
            actions: [
              sendMessage({ at: new Date(0) }),
              () => {
                throw new Error("after the reply");
              },
            ],
          },
        },
      });
      const served = serve({ machine, send: Schema.Struct({ at: Schema.DateFromString }) });
      const socket = await served.connect();
      socket.sendJson({ type: "a" });
      expect((await closed(socket)).code).toBe(1011);
      expect(socket.history).toHaveLength(0);
      expect(served.app.stats().messages.dropped).toBe(0);
    });
  });

  test("the unexpected-event reply waits for its encoder too", async () => {
    await beforeEffectLoads(async ({ Schema }) => {
      const { machine } = recorder();
      const served = serve({ machine, onUnexpected: "reply", send: Schema.Unknown });
      const socket = await served.connect();
      socket.sendJson({ type: "boom" });
      socket.sendJson({ type: "echo", text: "next" });
      expect(await socket.receive()).toBe('{"error":"unexpected event","type":"boom","state":"idle"}');
      expect(await socket.receive()).toBe("echo next");
      await socket.close(1000);
    });
  });
});

describe("faults", () => {
  test("an action that throws: 1011, onError once with the error and the context, logged once, nothing more handled", async () => {
    const { events, machine } = recorder();
    const calls: unknown[] = [];
    const served = serve({ machine, onError: (error, context) => void calls.push([error, typeof context.socket.close]) });
    const socket = await served.connect();
    socket.sendJson({ type: "go" });
    socket.sendJson({ type: "boom" });
    socket.sendJson({ type: "back" });
    expect(await closed(socket)).toStrictEqual({ code: 1011, reason: "Internal error", wasClean: true });
    expect(calls).toStrictEqual([[new Error("secret detail"), "function"]]);
    expect(served.logged).toStrictEqual([["WebSocket handler failed", new Error("secret detail")]]);
    expect(served.app.stats().errors).toBe(1);
    expect(events).toStrictEqual([{ type: "go" }]);
    expect(served.app.stats().messages.dropped).toBe(0);
  });

  test("without onError: 1011 and the log", async () => {
    const { machine } = recorder();
    const served = serve({ machine });
    const socket = await served.connect();
    socket.sendJson({ type: "go" });
    socket.sendJson({ type: "boom" });
    expect((await closed(socket)).code).toBe(1011);
    expect(served.logged).toStrictEqual([["WebSocket handler failed", new Error("secret detail")]]);
  });

  test("an onError that throws, or rejects: its error is logged too", async () => {
    const { machine } = recorder();
    const throwing = serve({
      machine,
      onError: () => {
        throw new Error("hook threw");
      },
    });
    const s1 = await throwing.connect();
    s1.sendJson({ type: "go" });
    s1.sendJson({ type: "boom" });
    expect((await closed(s1)).code).toBe(1011);
    expect(throwing.logged).toStrictEqual([
      ["WebSocket handler failed", new Error("hook threw")],
      ["WebSocket handler failed", new Error("secret detail")],
    ]);

    const rejecting = serve({ machine, onError: () => Promise.reject(new Error("hook rejected")) });
    const s2 = await rejecting.connect();
    s2.sendJson({ type: "go" });
    s2.sendJson({ type: "boom" });
    expect((await closed(s2)).code).toBe(1011);
    await tick();
    expect(rejecting.logged).toStrictEqual([
      ["WebSocket handler failed", new Error("secret detail")],
      ["WebSocket handler failed", new Error("hook rejected")],
    ]);
  });

  test("a reply the send schema refuses is a fault, not a frame", async () => {
    const errors: unknown[] = [];
    const numbers = {
      "~standard": {
        version: 1 as const,
        vendor: "test",
        validate: (value: unknown) => (typeof value === "number" ? { value } : { issues: [{ message: "not a number" }] }),
      },
    };
    const machine = setup({}).createMachine({ on: { a: { actions: sendMessage(1) }, b: { actions: [sendMessage({ x: 1 }), sendMessage(2)] } } });
    const served = serve({ machine, send: numbers, onError: (error) => void errors.push(error) });
    const socket = await served.connect();
    socket.sendJson({ type: "a" });
    expect(await socket.receive()).toBe("1");
    socket.sendJson({ type: "b" });
    expect((await closed(socket)).code).toBe(1011);
    expect(errors).toStrictEqual([new TypeError("Reply does not match the send schema: not a number")]);
    expect(socket.history).toHaveLength(1);
  });

  test("an error in the disconnect handler has nowhere to go: not logged, not a fault", async () => {
    const machine = setup({}).createMachine({
      on: {
        disconnect: {
          actions: () => {
            throw new Error("too late");
          },
        },
      },
    });
    const errors: unknown[] = [];
    const served = serve({ machine, onError: (error) => void errors.push(error) });
    const socket = await served.connect();
    await socket.close(4000, "bye");
    await sleep(10);
    expect(errors).toStrictEqual([]);
    expect(served.logged).toStrictEqual([]);
    expect(served.app.stats().errors).toBe(0);
  });
});

describe("input, the disconnect event, and the hooks around it", () => {
  test("input: params, the first value of each query name, headers, socket.state (the same object), dependencies", async () => {
    let input: MachineInput | undefined;
    const machine = setup({ types: { input: {} as MachineInput } }).createMachine({
      entry: ({ self }) => {
        input = (self.getSnapshot() as unknown as { context: { input: MachineInput } }).context.input;
        input.state.fromMachine = true;
      },
      context: ({ input: given }) => ({ input: given }),
    });
    let stateSeen: unknown;
    const app = createApp({
      routes: [
        websocketMachine("/r/:room", {
          machine,
          guards: [
            async ({ state }, next) => {
              state.fromGuard = 1;
              await next();
            },
          ],
          onDisconnect: (context) => void (stateSeen = { ...context.socket.state }),
        }),
      ],
    });
    apps.push(app);
    const socket = await testClient(app).connect("/r/lobby?a=1&a=2&b=3", { headers: { "x-test": "yes" } });
    await tick();
    expect({ ...input!.params }).toStrictEqual({ room: "lobby" });
    expect({ ...input!.query }).toStrictEqual({ a: "1", b: "3" });
    expect(input!.headers["x-test"]).toBe("yes");
    expect(input!.dependencies).toStrictEqual({});
    await socket.close(1000);
    await sleep(10);
    expect(stateSeen).toStrictEqual({ fromGuard: 1, fromMachine: true });
  });

  test("the disconnect event carries the peer's code and reason; then the actor stops, its timers with it", async () => {
    const events: unknown[] = [];
    const machine = setup({}).createMachine({
      on: { disconnect: { actions: [({ event }) => void events.push(event), sendMessage("too late"), closeConnection(4000, "too late")] } },
      after: { 30: { actions: () => void events.push("timer") } },
    });
    const served = serve({ machine });
    const socket = await served.connect();
    await socket.close(4001, "later");
    await sleep(60);
    expect(events).toStrictEqual([{ type: "disconnect", code: 4001, reason: "later" }]);
    expect(served.app.stats().messages.dropped).toBe(0);
    expect(served.logged).toStrictEqual([]);
  });

  test("onAccept, then the machine; onDisconnect once with how it closed", async () => {
    const order: unknown[] = [];
    const machine = setup({}).createMachine({ entry: () => void order.push("machine") });
    const served = serve({
      machine,
      onAccept: () => void order.push("accept"),
      onDisconnect: (_context, close) => void order.push(["disconnect", close.code]),
    });
    const socket = await served.connect();
    await socket.close(4002);
    await sleep(10);
    expect(order).toStrictEqual(["accept", "machine", ["disconnect", 4002]]);
    expect(served.app.stats().handlers).toStrictEqual({ started: 1, finished: 1 });
  });

  test("an onAccept that closes the connection: the machine never starts, onDisconnect still runs", async () => {
    const order: unknown[] = [];
    const machine = setup({}).createMachine({ entry: () => void order.push("machine") });
    const served = serve({
      machine,
      onAccept: (context) => context.socket.close(4005, "not now"),
      onDisconnect: (_context, close) => void order.push(["disconnect", close.code]),
    });
    const socket = await served.connect();
    expect(await closed(socket)).toStrictEqual({ code: 4005, reason: "not now", wasClean: true });
    await sleep(10);
    expect(order).toStrictEqual([["disconnect", 4005]]);
    expect(served.app.stats().handlers).toStrictEqual({ started: 1, finished: 1 });
  });

  test("a peer that leaves during onAccept: the machine never starts, the handler finishes once", async () => {
    const order: unknown[] = [];
    const machine = setup({}).createMachine({ entry: () => void order.push("machine") });
    const served = serve({
      machine,
      onAccept: () => sleep(30),
      onDisconnect: (_context, close) => void order.push(["disconnect", close.code]),
    });
    const socket = await served.connect();
    await socket.abort();
    await sleep(60);
    expect(order).toStrictEqual([["disconnect", 1006]]);
    expect(served.app.stats().handlers).toStrictEqual({ started: 1, finished: 1 });
  });
});

describe("the inspector's view: the machine's start and transitions", () => {
  test("started in its initial state, each transition from, event, to; a child's snapshots are not the connection's", async () => {
    const seen: unknown[] = [];
    const child = setup({}).createMachine({ initial: "c1", states: { c1: { after: { 1: "c2" } }, c2: {} } });
    const machine = setup({ actors: { child } }).createMachine({
      initial: "idle",
      invoke: { src: "child" },
      on: { "*": { actions: sendMessage("ok") } },
      states: { idle: { on: { go: "busy" } }, busy: { on: { back: "idle" } } },
    });
    const served = serve({ machine });
    const observer: ConnectionObserver = {
      machineStarted: (id, started, state) => void seen.push(["started", typeof id, started === machine, state]),
      machineTransition: (id, from, event, to) => void seen.push(["transition", typeof id, from, event, to]),
    };
    served.app.observe(observer);
    const socket = await served.connect();
    await sleep(10);
    socket.sendJson({ type: "go" });
    socket.sendJson({ type: "back" });
    socket.sendJson({ type: "y".repeat(130) });
    expect(await socket.receive()).toBe("ok");
    await socket.close(1000);
    expect(seen).toStrictEqual([
      ["started", "number", true, "idle"],
      ["transition", "number", "idle", "go", "busy"],
      ["transition", "number", "busy", "back", "idle"],
      ["transition", "number", "idle", "y".repeat(120), "idle"],
      ["transition", "number", "idle", "disconnect", "idle"],
      ["transition", "number", "idle", "xstate.stop", "idle"],
    ]);
  });
});

/**
 * The actor against the HandlerParent contract alone (src/handlers/actor.ts), with a parent that
 * records what it is asked. The real connection tells the actor `disconnect` as soon as it starts
 * closing, which hides whether the actor itself keeps its word; the contract does not promise
 * that, so these tests hold the actor to it: nothing handled or sent once it closed or failed,
 * the next message held until the replies of the one before drained.
 */
describe("the actor against its parent's contract", () => {
  interface Recorded {
    readonly log: unknown[][];
    readonly parent: HandlerParent;
    /** What `reply` returns next. */
    replyWith: () => Promise<void> | undefined;
    /** The connection has closed: `socket.closed` settles. */
    close(): void;
    readonly socket: { lifecycle: string };
  }
  function recordingParent(): Recorded {
    let resolveClosed!: (outcome: unknown) => void;
    const socket = {
      lifecycle: "connecting",
      params: {},
      query: {},
      headers: {},
      state: {},
      signal: new AbortController().signal,
      closed: new Promise((resolve) => (resolveClosed = resolve)),
      accept() {
        socket.lifecycle = "open";
        return Promise.resolve();
      },
      close(code: number, reason: string) {
        recorded.log.push(["close", code, reason]);
        return Promise.resolve();
      },
    };
    const recorded: Recorded = {
      log: [],
      replyWith: () => undefined,
      close: () => resolveClosed({ code: 1000, reason: "", initiator: "server" }),
      socket,
      parent: {
        id: 1,
        socket: socket as unknown as AnySocket,
        observers: new ObserverHub(),
        dependencies: {},
        inboundHighWater: 64,
        inboundHighWaterBytes: Infinity,
        fail: (error) => void recorded.log.push(["fail", error]),
        finished: () => void recorded.log.push(["finished"]),
        enqueue: () => {},
        reply: (data) => {
          recorded.log.push(["reply", data]);
          return recorded.replyWith();
        },
        pause: () => {},
        resume: () => {},
        discarded: () => void recorded.log.push(["discarded"]),
        interleave: () => undefined,
      },
    };
    return recorded;
  }
  const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

  test("after closeConnection: nothing more sent, closed once, no message handled", async () => {
    const handled: string[] = [];
    const machine = setup({}).createMachine({
      on: { "*": { actions: [({ event }) => void handled.push(event.type), closeConnection(4000, "x"), sendMessage("after"), closeConnection(4001, "again")] } },
    });
    const recorded = recordingParent();
    const actor = websocketMachine("/p", { machine }).logic.start(recorded.parent);
    await tick();
    actor.message(json({ type: "a" }), false);
    actor.message(json({ type: "b" }), false);
    await tick();
    expect(recorded.log).toStrictEqual([["close", 4000, "x"]]);
    expect(handled).toStrictEqual(["a"]);
  });

  test("after a fault: failed once, no message handled", async () => {
    const handled: string[] = [];
    const machine = setup({}).createMachine({
      on: {
        "*": {
          actions: [
            ({ event }) => void handled.push(event.type),
            () => {
              throw new Error("fault");
            },
          ],
        },
      },
    });
    const recorded = recordingParent();
    const actor = websocketMachine("/p", { machine }).logic.start(recorded.parent);
    await tick();
    actor.message(json({ type: "a" }), false);
    actor.message(json({ type: "b" }), false);
    await tick();
    expect(recorded.log).toStrictEqual([["fail", new Error("fault")]]);
    expect(handled).toStrictEqual(["a"]);
  });

  test.each([1, 2])("the next message waits until the %i replies of the one before drained", async (replies) => {
    const handled: string[] = [];
    const machine = setup({}).createMachine({
      on: { "*": { actions: [({ event }) => void handled.push(event.type), ...Array.from({ length: replies }, (_, i) => sendMessage(`r${i}`))] } },
    });
    const recorded = recordingParent();
    const drains: (() => void)[] = [];
    recorded.replyWith = () => new Promise<void>((resolve) => drains.push(resolve));
    const actor = websocketMachine("/p", { machine }).logic.start(recorded.parent);
    await tick();
    actor.message(json({ type: "a" }), false);
    actor.message(json({ type: "b" }), false);
    await tick();
    expect(handled).toStrictEqual(["a"]);
    expect(drains).toHaveLength(replies);
    for (const [index, drain] of [...drains].entries()) {
      drain();
      await tick();
      expect(handled).toStrictEqual(index === replies - 1 ? ["a", "b"] : ["a"]);
    }
  });

  test("a reply that fits (no promise) holds nothing back", async () => {
    const handled: string[] = [];
    const machine = setup({}).createMachine({ on: { "*": { actions: [({ event }) => void handled.push(event.type), sendMessage("r")] } } });
    const recorded = recordingParent();
    const actor = websocketMachine("/p", { machine }).logic.start(recorded.parent);
    await tick();
    actor.message(json({ type: "a" }), false);
    actor.message(json({ type: "b" }), false);
    expect(handled).toStrictEqual(["a", "b"]);
  });

  test("a disconnect before the machine started: no machine, finished once", async () => {
    const started: string[] = [];
    const machine = setup({}).createMachine({ entry: () => void started.push("machine") });
    const recorded = recordingParent();
    const actor = websocketMachine("/p", { machine, onAccept: () => sleep(5) }).logic.start(recorded.parent);
    expect(() => actor.disconnect(1006, "")).not.toThrow();
    await sleep(20);
    expect(started).toStrictEqual([]);
  });

  test.each([false, true])("a connection no longer open after onAccept (disconnect told later: %s): no machine, finished once", async (told) => {
    const started: string[] = [];
    const machine = setup({}).createMachine({ entry: () => void started.push("machine") });
    const recorded = recordingParent();
    const actor = websocketMachine("/p", {
      machine,
      onAccept: () => {
        recorded.socket.lifecycle = "closing";
      },
    }).logic.start(recorded.parent);
    await tick();
    if (told) actor.disconnect(1000, "");
    recorded.close();
    await tick();
    expect(started).toStrictEqual([]);
    expect(recorded.log).toStrictEqual([["finished"]]);
  });

  test("replies that waited for effect to load go out in order; once it has, replies go out at once again", async () => {
    const effect = await import("effect");
    const loadedNow = vi.mocked(effectIfLoaded);
    loadedNow.mockReturnValue(undefined);
    try {
      const machine = setup({}).createMachine({
        on: { a: { actions: [sendMessage({ n: 1 }), sendMessage({ n: 2 }), sendMessage({ n: 3 })] }, b: { actions: sendMessage({ n: 4 }) } },
      });
      const recorded = recordingParent();
      const actor = websocketMachine("/p", { machine, send: effect.Schema.Struct({ n: effect.Schema.Number }) }).logic.start(recorded.parent);
      await tick();
      actor.message(json({ type: "a" }), false);
      expect(recorded.log).toStrictEqual([]);
      await tick();
      expect(recorded.log).toStrictEqual([
        ["reply", '{"n":1}'],
        ["reply", '{"n":2}'],
        ["reply", '{"n":3}'],
      ]);
      actor.message(json({ type: "b" }), false);
      expect(recorded.log.at(-1)).toStrictEqual(["reply", '{"n":4}']);
    } finally {
      loadedNow.mockReset();
      loadedNow.mockImplementation(() => effect);
    }
  });

  /** Run `body` with effect not loaded yet, as far as the codec can tell. */
  async function beforeEffectLoads(body: (effect: typeof import("effect")) => Promise<void>): Promise<void> {
    const effect = await import("effect");
    const loadedNow = vi.mocked(effectIfLoaded);
    loadedNow.mockReturnValue(undefined);
    try {
      await body(effect);
    } finally {
      loadedNow.mockReset();
      loadedNow.mockImplementation(() => effect);
    }
  }

  test("one reply that waited for effect: the next step's reply goes out at once", async () => {
    await beforeEffectLoads(async ({ Schema }) => {
      const machine = setup({}).createMachine({ on: { a: { actions: sendMessage({ n: 1 }) }, b: { actions: sendMessage({ n: 2 }) } } });
      const recorded = recordingParent();
      const actor = websocketMachine("/p", { machine, send: Schema.Struct({ n: Schema.Number }) }).logic.start(recorded.parent);
      await tick();
      actor.message(json({ type: "a" }), false);
      await tick();
      actor.message(json({ type: "b" }), false);
      expect(recorded.log).toStrictEqual([
        ["reply", '{"n":1}'],
        ["reply", '{"n":2}'],
      ]);
    });
  });

  test("replies waiting for effect when the machine fails, or the peer leaves, are not sent; the fault is reported once", async () => {
    await beforeEffectLoads(async ({ Schema }) => {
      const failing = setup({}).createMachine({
        on: {
          a: {
            actions: [
              sendMessage({ n: 1 }),
              sendMessage({ n: 2 }),
              () => {
                throw new Error("fault");
              },
            ],
          },
        },
      });
      const send = Schema.Struct({ n: Schema.Number });
      const r1 = recordingParent();
      const a1 = websocketMachine("/p", { machine: failing, send }).logic.start(r1.parent);
      await tick();
      a1.message(json({ type: "a" }), false);
      await tick();
      expect(r1.log).toStrictEqual([["fail", new Error("fault")]]);

      const replying = setup({}).createMachine({ on: { a: { actions: [sendMessage({ n: 1 }), sendMessage({ n: 2 })] } } });
      const r2 = recordingParent();
      const a2 = websocketMachine("/p", { machine: replying, send }).logic.start(r2.parent);
      await tick();
      a2.message(json({ type: "a" }), false);
      a2.disconnect(1001, "");
      await tick();
      // Nothing sent and no fault; the run may already have reported itself finished (once) after the disconnect.
      expect(r2.log.filter(([what]) => what !== "finished")).toStrictEqual([]);
      expect(r2.log.filter(([what]) => what === "finished").length).toBeLessThanOrEqual(1);

      const invalid = setup({}).createMachine({
        on: {
          a: {
            actions: [
              sendMessage({ n: "not a number" }),
              () => {
                throw new Error("fault");
              },
            ],
          },
        },
      });
      const r3 = recordingParent();
      const a3 = websocketMachine("/p", { machine: invalid, send }).logic.start(r3.parent);
      await tick();
      a3.message(json({ type: "a" }), false);
      await tick();
      expect(r3.log).toStrictEqual([["fail", new Error("fault")]]);
    });
  });

  test("replies outside a message (entry actions, timers) wait for nothing and fail nothing", async () => {
    await beforeEffectLoads(async ({ Schema }) => {
      const machine = setup({}).createMachine({ entry: [sendMessage({ n: 1 }), sendMessage({ n: 2 })] });
      const recorded = recordingParent();
      websocketMachine("/p", { machine, send: Schema.Struct({ n: Schema.Number }) }).logic.start(recorded.parent);
      await tick();
      await tick();
      expect(recorded.log).toStrictEqual([
        ["reply", '{"n":1}'],
        ["reply", '{"n":2}'],
      ]);
    });
    const machine = setup({}).createMachine({ entry: sendMessage("slow") });
    const recorded = recordingParent();
    recorded.replyWith = () => new Promise<void>(() => {});
    websocketMachine("/p", { machine }).logic.start(recorded.parent);
    await tick();
    expect(recorded.log).toStrictEqual([["reply", "slow"]]);
  });

  test("after a reply the send schema refuses: the rest of the step sends nothing, and no more messages are handled", async () => {
    const numbers = {
      "~standard": {
        version: 1 as const,
        vendor: "test",
        validate: (value: unknown) => (typeof value === "number" ? { value } : { issues: [{ message: "not a number" }] }),
      },
    };
    const handled: string[] = [];
    const machine = setup({}).createMachine({
      on: { "*": { actions: [({ event }) => void handled.push(event.type), sendMessage({ refused: true }), sendMessage(1), closeConnection(4000)] } },
    });
    const recorded = recordingParent();
    const actor = websocketMachine("/p", { machine, send: numbers }).logic.start(recorded.parent);
    await tick();
    actor.message(json({ type: "a" }), false);
    actor.message(json({ type: "b" }), false);
    await tick();
    expect(recorded.log).toStrictEqual([["fail", new TypeError("Reply does not match the send schema: not a number")]]);
    expect(handled).toStrictEqual(["a"]);
  });
});
