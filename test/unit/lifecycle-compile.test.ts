/**
 * How src/connection/lifecycle.ts reads the machine into its table, at load time: it refuses
 * what it cannot run (guards, several candidate transitions, a transition without a target, an
 * inline action, an action it has no implementation for) with a message naming the problem, and
 * does not re-enter a state on a transition to itself, as xstate does not. Each case loads a
 * fresh copy of both modules with a state node added to (or swapped into) the machine first.
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import { createActor } from "xstate";

type FakeTransition = { target?: readonly { key: string }[] | undefined; actions: readonly unknown[]; guard?: unknown };
interface FakeNode {
  transitions: Map<string, FakeTransition[]>;
  entry: readonly unknown[];
}

/** Load lifecycle.ts against a machine whose states include `nodes` (replacing same-named ones). */
async function loadWith(nodes: Record<string, FakeNode>): Promise<typeof import("../../src/connection/lifecycle.js")> {
  vi.resetModules();
  const { connectionMachine } = await import("../../machines/connection.js");
  Object.assign(connectionMachine.root.states, nodes);
  return import("../../src/connection/lifecycle.js");
}
const to = (key: string) => [{ key }];

afterEach(() => {
  vi.resetModules();
});

describe("compiling the connection machine", () => {
  test("the shipped machine compiles", async () => {
    const { CompiledLifecycle } = await loadWith({});
    expect(new CompiledLifecycle({} as never).value).toBe("connecting");
  });

  test("a guarded transition is refused", async () => {
    const guarded = { transitions: new Map([["accept", [{ target: to("open"), actions: [], guard: "allowed" }]]]), entry: [] };
    await expect(loadWith({ extra: guarded })).rejects.toThrow(new TypeError("The compiled lifecycle does not run guards"));
  });

  test("two candidate transitions for one event are refused", async () => {
    const twice = { transitions: new Map([["accept", [{ target: to("open"), actions: [] }, { target: to("closed"), actions: [] }]]]), entry: [] };
    await expect(loadWith({ extra: twice })).rejects.toThrow(new TypeError("The compiled lifecycle does not run guards"));
  });

  test.each([
    ["no target", undefined],
    ["an empty target", []],
  ])("a transition with %s is refused, naming it", async (_, target) => {
    const targetless = { transitions: new Map([["accept", [{ target, actions: [] }]]]), entry: [] };
    await expect(loadWith({ extra: targetless })).rejects.toThrow(new TypeError("Transition extra:accept has no target"));
  });

  test("an event with no transitions is skipped", async () => {
    const empty = { transitions: new Map([["accept", []]]), entry: [] };
    const { CompiledLifecycle } = await loadWith({ extra: empty });
    expect(new CompiledLifecycle({} as never).value).toBe("connecting");
  });

  test.each([
    ["an inline function", () => {}],
    ["null", null],
    ["an object without a type", {}],
    ["an object with a non-string type", { type: 7 }],
    // What xstate's own action creators (assign, raise, …) put in a definition: functions with a type.
    ["a built-in action function", Object.assign(() => {}, { type: "xstate.assign" })],
  ])("an action that is %s is refused", async (_, action) => {
    const inline = { transitions: new Map(), entry: [action] };
    await expect(loadWith({ extra: inline })).rejects.toThrow(
      new TypeError("The compiled lifecycle runs named actions only; the connection machine has an inline one"),
    );
  });

  test("an action with no implementation is refused when the table is built, naming it", async () => {
    const connecting = { transitions: new Map([["accept", [{ target: to("open"), actions: [{ type: "mystery" }] }]]]), entry: [] };
    await expect(loadWith({ connecting })).rejects.toThrow(new TypeError('Unknown action "mystery" in the connection machine'));
  });

  test("a transition to the same state runs its actions but not the state's entry again", async () => {
    const calls: string[] = [];
    const connecting = {
      transitions: new Map([["accept", [{ target: to("connecting"), actions: ["armCloseTimeout"] }]]]),
      entry: ["completeHandshake"],
    };
    const { CompiledLifecycle } = await loadWith({ connecting });
    const lifecycle = new CompiledLifecycle({
      armCloseTimeout: () => void calls.push("armCloseTimeout"),
      completeHandshake: () => void calls.push("completeHandshake"),
    } as never);
    lifecycle.send({ type: "accept" });
    expect(lifecycle.value).toBe("connecting");
    expect(calls).toStrictEqual(["armCloseTimeout"]);
  });
});

describe("the machine as xstate runs it", () => {
  test("closed is final, and the actor's output is the outcome", async () => {
    vi.resetModules();
    const { connectionMachine } = await import("../../machines/connection.js");
    const rejected = createActor(connectionMachine).start();
    rejected.send({ type: "reject", status: 401 });
    expect(rejected.getSnapshot().status).toBe("done");
    expect(rejected.getSnapshot().output).toStrictEqual({ code: 1006, reason: "", wasClean: false, initiator: "server", rejectedStatus: 401 });
    const closed = createActor(connectionMachine).start();
    closed.send({ type: "accept" });
    closed.send({ type: "close", code: 4000, reason: "bye" });
    expect(closed.getSnapshot().status).toBe("active");
    expect(closed.getSnapshot().output).toBeUndefined();
    closed.send({ type: "transportClosed", code: 4000, reason: "bye", wasClean: true });
    expect(closed.getSnapshot().status).toBe("done");
    expect(closed.getSnapshot().output).toStrictEqual({ code: 4000, reason: "bye", wasClean: true, initiator: "server" });
  });
});
