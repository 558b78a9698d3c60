/**
 * `statewire/testing` for machine routes: paths from `xstate/graph` driven over memory and TCP
 * with full transition coverage, and a fast-check property over random event sequences.
 */
import { afterAll, describe, expect, test } from "vitest";
import { type App, createApp, type Logger, websocketMachine } from "../src/index.js";
import { checkMachinePaths, machineModel, machinePaths } from "../src/testing/index.js";
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

/** The example as it runs, with a hello timeout short enough to walk. */
const protocolRoute = websocketMachine("/protocol", { machine: protocolMachine.provide({ delays: { helloTimeout: 80 } }), receive: ProtocolMessage });
const echoRoute = websocketMachine("/machine", { machine: echoMachine, receive: "text" });

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
