/**
 * `statewire/testing` for machine routes: paths from `xstate/graph` driven over memory and TCP
 * with full transition coverage, and a fast-check property over random event sequences.
 */
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { type App, createApp, type DisconnectEvent, type Logger, sendMessage, websocketMachine } from "../src/index.js";
import { checkMachinePaths, checkMachineScript, machineModel, machinePaths, machineScript, scriptVerdict } from "../src/testing/index.js";
import { protocolMachine, ProtocolMessage } from "../examples/protocol.js";
import { echoMachine } from "./support/machines.js";

const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };
const apps: App[] = [];
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
});
function appWith(...routes: Parameters<typeof createApp>[0]["routes"]): App {
  const app = createApp({ routes, logger: quiet });
  apps.push(app);
  return app;
}

/**
 * The example as it runs, with a hello timeout short enough to walk and long enough that a path
 * which says hello first does so well before it (paths run in real time; the model does not).
 */
const protocolRoute = websocketMachine("/protocol", { machine: protocolMachine.provide({ delays: { helloTimeout: 300 } }), receive: ProtocolMessage });
const echoRoute = websocketMachine("/machine", { machine: echoMachine.provide({ delays: { tick: 300 } }), receive: "text" });

describe("paths from the machine", () => {
  test("examples/protocol.ts: every transition, over memory and TCP", async () => {
    const lines: string[] = [];
    const model = machineModel(protocolRoute);
    const { coverage, paths } = await checkMachinePaths(appWith(protocolRoute), model, { log: (line) => lines.push(line) });
    expect(coverage.missing).toEqual([]);
    expect(coverage.covered).toBe(coverage.total);
    expect(coverage.total).toBe(6);
    expect(lines[0]).toContain(`transition coverage 6/6`);
    expect(paths.some((path) => path.steps.some((step) => step.via === "timer" && step.reaction.close?.code === 4408))).toBe(true);
    console.log(lines[0]);
  }, 60_000);

  test("a parallel machine with nested states, a guard, a timer and closeConnection", async () => {
    const lines: string[] = [];
    const model = machineModel(echoRoute, { samples: { message: [{ type: "message", data: "hi" } as never, { type: "message", data: "bye" } as never] } });
    const { coverage } = await checkMachinePaths(appWith(echoRoute), model, { log: (line) => lines.push(line) });
    expect(coverage.text).toBe(`${coverage.total}/${coverage.total}`);
    console.log(lines[0]);
  }, 60_000);

  test("a transition no path can take fails the check, naming it", async () => {
    const model = machineModel(echoRoute, { samples: { message: [{ type: "message", data: "hi" } as never] } });
    const { coverage } = machinePaths(model);
    expect(coverage.missing.length).toBeGreaterThan(0);
    await expect(checkMachinePaths(appWith(echoRoute), model, { log: () => {} })).rejects.toThrow(/no path takes .*message/);
  });
});

const DEEP = process.env.STATEWIRE_DEEP === "1";
const RUNS = DEEP ? 2_000 : 100;

describe("random event sequences against the model", () => {
  const model = machineModel(protocolRoute);

  test.each(["memory", "tcp"] as const)(`examples/protocol.ts over %s: frames, order, close and invariants (${RUNS} runs)`, async (transport) => {
    const app = appWith(protocolRoute);
    await fc.assert(
      fc.asyncProperty(machineScript(model), async (steps) => {
        await checkMachineScript(app, model, steps, { transport });
      }),
      { numRuns: transport === "tcp" ? Math.ceil(RUNS / 4) : RUNS },
    );
  }, 600_000);

  test(`under fc.scheduler every interleaving agrees with the model (${RUNS} runs)`, async () => {
    const app = appWith(protocolRoute);
    await fc.assert(
      fc.asyncProperty(machineScript(model), fc.scheduler(), async (steps, scheduler) => {
        await checkMachineScript(app, model, steps, { scheduler });
      }),
      { numRuns: RUNS },
    );
  }, 600_000);

  test.each(["ignore", "reply"] as const)("onUnexpected %s: the property checks the policy", async (onUnexpected) => {
    const route = websocketMachine("/protocol", { machine: protocolMachine, receive: ProtocolMessage, onUnexpected });
    const policyModel = machineModel(route);
    const app = appWith(route);
    await fc.assert(
      fc.asyncProperty(machineScript(policyModel), async (steps) => {
        await checkMachineScript(app, policyModel, steps);
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
    // And it can fail: a sequence with an out-of-state event gets the policy's answer, not 1008.
    const verdict = await scriptVerdict(policyModel, [{ kind: "json", data: { type: "ping" } }]);
    expect(verdict.close.code).toBe(1000);
    expect(verdict.frames).toHaveLength(onUnexpected === "reply" ? 1 : 0);
  }, 600_000);

  test("the parallel machine, with text payloads (its timer pushed past the run: random scripts do not model time)", async () => {
    const slowTick = websocketMachine("/machine", { machine: echoMachine.provide({ delays: { tick: 60_000 } }), receive: "text" });
    const echoModel = machineModel(slowTick, { samples: { message: [{ type: "message", data: "hi" } as never, { type: "message", data: "bye" } as never] } });
    const app = appWith(slowTick);
    await fc.assert(
      fc.asyncProperty(machineScript(echoModel, { maxSteps: 5 }), async (steps) => {
        await checkMachineScript(app, echoModel, steps);
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  }, 600_000);
});

describe("a planted bug is caught", () => {
  /** A copy-paste bug in the handler: unsubscribe answers `subscribed`. The model is the example's machine. */
  const buggyRoute = websocketMachine("/protocol", {
    machine: protocolMachine.provide({
      delays: { helloTimeout: 300 },
      actions: {
        unsubscribed: sendMessage(({ event }: { event: ProtocolMessage | DisconnectEvent }) =>
          event.type === "unsubscribe" ? { type: "subscribed", topic: event.topic } : undefined,
        ),
      },
    }),
    receive: ProtocolMessage,
  });
  const model = machineModel(protocolRoute);
  const app = appWith(buggyRoute);

  test("by the generated paths, naming the path and the frame", async () => {
    await expect(checkMachinePaths(app, model, { log: () => {}, transports: ["memory"] })).rejects.toThrow(
      /—unsubscribe→.*expected frame .*unsubscribed.*got .*subscribed/,
    );
  });

  test("by the property, with a shrunk counterexample: hello, then unsubscribe", async () => {
    const details = await fc.check(
      fc.asyncProperty(machineScript(model), async (steps) => {
        await checkMachineScript(app, model, steps);
      }),
      { numRuns: 500, seed: 42 },
    );
    expect(details.failed).toBe(true);
    const [steps] = details.counterexample!;
    const types = steps.map((step) => (step.kind === "json" ? (step.data as { type?: unknown }).type : step.kind));
    // Shrunk to the two steps that show it: a hello to reach `ready`, and the unsubscribe.
    expect(types).toEqual(["hello", "unsubscribe"]);
    console.log(`planted bug caught after ${details.numRuns} runs, shrunk ${details.numShrinks} times to ${JSON.stringify(steps)}`);
  }, 120_000);
});
