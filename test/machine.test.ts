/**
 * `websocketMachine`: the handler is an xstate machine, one actor per connection — the example
 * protocol over memory and TCP, the unexpected-event policies, invalid input, faults (1011,
 * never on the wire), the disconnect event, final-state output, guards, dependencies and state.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, test } from "vitest";
import { assign, fromCallback, setup } from "xstate";
import {
  type App,
  closeConnection,
  createApp,
  type DisconnectEvent,
  type GuardContext,
  type Logger,
  type MachineInput,
  provide,
  sendMessage,
  websocketMachine,
} from "../src/index.js";
import { testClient } from "../src/testing/index.js";
import { protocol, protocolMachine } from "../examples/protocol.js";

const logged: unknown[] = [];
const logger: Logger = { error: (fields) => logged.push(fields), warn: () => {}, info: () => {}, debug: () => {} };
const apps: App[] = [];
function app(...routes: Parameters<typeof createApp>[0]["routes"]): App {
  const created = createApp({ routes, logger });
  apps.push(created);
  return created;
}
afterAll(async () => {
  await Promise.all(apps.map((each) => each.close()));
});

describe.each(["memory", "tcp"] as const)("examples/protocol.ts over %s", (transport) => {
  const protocolApp = app(protocol);

  test("hello, subscribe, unsubscribe, ping, bye: each reply, then close 1000 bye", async () => {
    const client = testClient(protocolApp, { transport });
    const socket = await client.connect("/protocol");
    socket.sendJson({ type: "hello", name: "ada" });
    expect(await socket.receiveJson()).toEqual({ type: "welcome", name: "ada" });
    socket.sendJson({ type: "subscribe", topic: "news" });
    expect(await socket.receiveJson()).toEqual({ type: "subscribed", topic: "news" });
    socket.sendJson({ type: "unsubscribe", topic: "news" });
    expect(await socket.receiveJson()).toEqual({ type: "unsubscribed", topic: "news" });
    socket.sendJson({ type: "ping" });
    expect(await socket.receiveJson()).toEqual({ type: "pong" });
    socket.sendJson({ type: "bye" });
    expect(await socket.closed).toMatchObject({ code: 1000, reason: "bye" });
    await client.close();
  });

  test.each([
    ["subscribe before hello", [{ type: "subscribe", topic: "x" }], "subscribe", "greeting"],
    ["a second hello", [{ type: "hello", name: "a" }, { type: "hello", name: "b" }], "hello", "ready"],
  ])("%s closes 1008 naming the event and the state", async (_name, messages, type, state) => {
    const client = testClient(protocolApp, { transport });
    const socket = await client.connect("/protocol");
    for (const message of messages) socket.sendJson(message);
    const closed = await socket.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toContain(type);
    expect(closed.reason).toContain(state);
    await client.close();
  });

  test.each([
    ["invalid JSON", (s: { sendText(t: string): void }) => s.sendText("{nope"), 1007],
    ["a shape no message has", (s: { sendText(t: string): void }) => s.sendText(JSON.stringify({ type: "hello", name: "" })), 1007],
    ["a binary frame", (s: { sendBytes(b: Uint8Array): void }) => s.sendBytes(new Uint8Array([1, 2])), 1003],
  ] as const)("%s closes 1007 / 1003 as for listeners", async (_name, send, code) => {
    const client = testClient(protocolApp, { transport });
    const socket = await client.connect("/protocol");
    send(socket as never);
    expect((await socket.closed).code).toBe(code);
    await client.close();
  });
});

describe("hello timeout", () => {
  test("no hello within the (shortened) timeout closes 4408 hello timeout", async () => {
    const timed = app(websocketMachine("/protocol", { machine: protocolMachine.provide({ delays: { helloTimeout: 100 } }), receive: "json" }));
    const client = testClient(timed);
    const socket = await client.connect("/protocol");
    expect(await socket.closed).toMatchObject({ code: 4408, reason: "hello timeout" });
    await client.close();
  });

  test("a hello in time cancels the timer", async () => {
    const timed = app(websocketMachine("/protocol", { machine: protocolMachine.provide({ delays: { helloTimeout: 100 } }), receive: "json" }));
    const client = testClient(timed);
    const socket = await client.connect("/protocol");
    socket.sendJson({ type: "hello", name: "x" });
    await socket.receiveJson();
    await sleep(200);
    socket.sendJson({ type: "ping" });
    expect(await socket.receiveJson()).toEqual({ type: "pong" });
    await socket.close(1000);
    await client.close();
  });
});

/** A small machine for the policies: `go` moves `idle` → `busy`, `boom` throws in an action. */
type TestEvent = { type: "go" } | { type: "boom" } | { type: "message"; data: string } | DisconnectEvent;
const seen: { disconnects: DisconnectEvent[] } = { disconnects: [] };
const policyMachine = setup({
  types: { events: {} as TestEvent, input: {} as MachineInput<"/m/:room">, context: {} as { room: string; user: string } },
  actions: {
    echo: sendMessage(({ event }: { event: TestEvent }) => (event.type === "message" ? `echo ${event.data}` : undefined)),
    explode: () => {
      throw new Error("secret failure detail");
    },
    record: ({ event }) => {
      if (event.type === "disconnect") seen.disconnects.push(event);
    },
  },
}).createMachine({
  id: "policy",
  initial: "idle",
  context: ({ input }) => ({ room: input.params.room, user: String(input.state.user ?? "") }),
  entry: sendMessage(({ context }: { context: { room: string; user: string } }) => `room ${context.room} user ${context.user}`),
  on: { disconnect: { actions: "record" } },
  states: {
    idle: { on: { go: "busy", message: { actions: "echo" } } },
    busy: { on: { boom: { actions: "explode" } } },
  },
});

describe("policies and faults", () => {
  const base = {
    machine: policyMachine,
    guards: [async ({ state }: GuardContext, next: () => Promise<void>) => {
      state.user = "guarded";
      await next();
    }],
  };

  test("input carries params and socket.state; text becomes { type: message, data }", async () => {
    const a = app(websocketMachine("/m/:room", { ...base, receive: "text" }));
    const client = testClient(a);
    const socket = await client.connect("/m/lobby");
    expect(await socket.receiveText()).toBe("room lobby user guarded");
    socket.sendText("hi");
    expect(await socket.receiveText()).toBe("echo hi");
    await socket.close(4001, "later");
    await client.close();
    await sleep(20);
    expect(seen.disconnects.at(-1)).toEqual({ type: "disconnect", code: 4001, reason: "later" });
  });

  test("onUnexpected reply: an error frame, the connection stays open", async () => {
    const a = app(websocketMachine("/m/:room", { ...base, receive: "json", onUnexpected: "reply" }));
    const client = testClient(a);
    const socket = await client.connect("/m/x");
    await socket.receiveText();
    socket.sendJson({ type: "boom" });
    expect(await socket.receiveJson()).toEqual({ error: "unexpected event", type: "boom", state: "idle" });
    socket.sendJson({ type: "go" });
    socket.sendJson({ type: "go" });
    expect(await socket.receiveJson()).toEqual({ error: "unexpected event", type: "go", state: "busy" });
    await socket.close(1000);
    await client.close();
  });

  test("onUnexpected ignore and a function", async () => {
    const ignoring = app(websocketMachine("/m/:room", { ...base, receive: "json", onUnexpected: "ignore" }));
    const c1 = testClient(ignoring);
    const s1 = await c1.connect("/m/x");
    await s1.receiveText();
    s1.sendJson({ type: "boom" });
    s1.sendJson({ type: "message", data: "still here" });
    expect(await s1.receiveText()).toBe("echo still here");
    await s1.close(1000);
    await c1.close();

    const deciding = app(websocketMachine("/m/:room", { ...base, receive: "json", onUnexpected: ({ event, state }) => `no ${event.type} in ${state}` }));
    const c2 = testClient(deciding);
    const s2 = await c2.connect("/m/x");
    await s2.receiveText();
    s2.sendJson({ type: "boom" });
    expect(await s2.receiveText()).toBe("no boom in idle");
    await s2.close(1000);
    await c2.close();
  });

  test("an action that throws closes 1011, reported to onError and the log, never on the wire", async () => {
    const errors: unknown[] = [];
    const a = app(websocketMachine("/m/:room", { ...base, receive: "json", onError: (error) => void errors.push(error) }));
    const client = testClient(a, { transport: "tcp" });
    const socket = await client.connect("/m/x");
    await socket.receiveText();
    socket.sendJson({ type: "go" });
    socket.sendJson({ type: "boom" });
    const closed = await socket.closed;
    expect(closed.code).toBe(1011);
    expect(closed.reason).not.toContain("secret");
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toContain("secret failure detail");
    expect(JSON.stringify(logged.map(String))).toBeDefined();
    await client.close();
  });

  test.each(["disconnect", "xstate.after.5000.protocol.greeting", "xstate.done.actor.x", "statewire.sendMessage"])(
    "a client sending the reserved event type %s is unexpected (1008), not obeyed",
    async (type) => {
      const a = app(websocketMachine("/m/:room", { ...base, receive: "json" }));
      const client = testClient(a);
      const socket = await client.connect("/m/x");
      await socket.receiveText();
      socket.sendJson({ type, code: 1000, reason: "" });
      const closed = await socket.closed;
      expect(closed.code).toBe(1008);
      expect(closed.reason).toContain("idle");
      await client.close();
    },
  );

  test("a JSON message without a string type closes 1007", async () => {
    const a = app(websocketMachine("/m/:room", { ...base, receive: "json" }));
    const client = testClient(a);
    const socket = await client.connect("/m/x");
    await socket.receiveText();
    socket.sendJson([1, 2]);
    expect((await socket.closed).code).toBe(1007);
    await client.close();
  });
});

describe("faults in guards, entry actions and output", () => {
  const cases = {
    "a guard that throws": setup({
      types: { events: {} as { type: "go" } },
      guards: {
        broken: () => {
          throw new Error("guard detail");
        },
      },
    }).createMachine({ on: { go: { guard: "broken", actions: sendMessage("never") } } }),
    "an entry action that throws": setup({
      actions: {
        broken: () => {
          throw new Error("entry detail");
        },
      },
    }).createMachine({ entry: "broken" }),
    "a final state whose output is no close": setup({ types: { events: {} as { type: "go" } } }).createMachine({
      initial: "a",
      states: { a: { on: { go: "b" } }, b: { type: "final" } },
      output: { code: 1005 },
    }),
  };

  test.each(Object.keys(cases))("%s closes 1011, the detail only in the log and onError", async (name) => {
    const errors: unknown[] = [];
    const a = app(websocketMachine("/x", { machine: cases[name as keyof typeof cases], onError: (error) => void errors.push(error) }));
    const client = testClient(a);
    const socket = await client.connect("/x");
    socket.sendJson({ type: "go" });
    const closed = await socket.closed;
    expect(closed.code).toBe(1011);
    expect(closed.reason).not.toMatch(/detail|1005/);
    expect(socket.history).toHaveLength(0);
    expect(errors).toHaveLength(1);
    await client.close();
  });
});

describe("final states, closeConnection, dependencies, children", () => {
  test("a final state without output closes 1000; closeConnection closes with its code", async () => {
    const m = setup({ types: { events: {} as { type: "end" } | { type: "kick" } } }).createMachine({
      initial: "on",
      states: { on: { on: { end: "off", kick: { actions: closeConnection(4003, "kicked") } } }, off: { type: "final" } },
    });
    const a = app(websocketMachine("/f", { machine: m }));
    const client = testClient(a);
    const s1 = await client.connect("/f");
    s1.sendJson({ type: "end" });
    expect((await s1.closed).code).toBe(1000);
    const s2 = await client.connect("/f");
    s2.sendJson({ type: "kick" });
    s2.sendJson({ type: "kick" });
    expect(await s2.closed).toMatchObject({ code: 4003, reason: "kicked" });
    await client.close();
  });

  test("dependencies reach input; a spawned/invoked child sends through the parent; stopping cleans it up", async () => {
    let released = 0;
    let childStopped = 0;
    const m = setup({
      types: { input: {} as MachineInput<"/d", { greeting: ReturnType<typeof provide<string>> }>, context: {} as { greeting: string }, events: {} as { type: "tick" } | DisconnectEvent },
      actors: {
        ticker: fromCallback(({ sendBack }) => {
          const timer = setInterval(() => sendBack({ type: "tick" }), 10);
          return () => {
            childStopped++;
            clearInterval(timer);
          };
        }),
      },
    }).createMachine({
      context: ({ input }) => ({ greeting: input.dependencies.greeting }),
      invoke: { src: "ticker" },
      on: { tick: { actions: sendMessage(({ context }: { context: { greeting: string } }) => context.greeting) } },
    });
    const a = app(
      websocketMachine("/d", {
        machine: m,
        dependencies: {
          greeting: provide(async function* () {
            yield "hi";
            released++;
          }),
        },
      }),
    );
    const client = testClient(a);
    const socket = await client.connect("/d");
    expect(await socket.receiveText()).toBe("hi");
    expect(await socket.receiveText()).toBe("hi");
    await socket.close(1000);
    await client.close();
    await sleep(50);
    expect(released).toBe(1);
    expect(childStopped).toBe(1);
  });
});
