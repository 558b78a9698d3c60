/**
 * The machine kind's modules load (see test/unit/imports.test.ts for why this matters to
 * `npm run test:mutation`). A file of its own: it loads xstate and the runtime, which the other
 * parts of the mutation run, whose suites include imports.test.ts, do without.
 */
import { describe, expect, test } from "vitest";

describe("the machine kind's modules load", () => {
  test("src/handlers/machine.ts, with its actions and state names", async () => {
    const { machineRouteOf, websocketMachine } = await import("../../src/handlers/machine.js");
    const { SEND_MESSAGE, CLOSE_CONNECTION } = await import("../../src/handlers/machine-actions.js");
    const { isReservedEventType } = await import("../../src/handlers/machine-state.js");
    const { createMachine } = await import("xstate");
    expect(machineRouteOf(websocketMachine("/m", { machine: createMachine({}) }))?.receive).toBe("json");
    expect([SEND_MESSAGE, CLOSE_CONNECTION]).toStrictEqual(["statewire.sendMessage", "statewire.closeConnection"]);
    expect(isReservedEventType("disconnect")).toBe(true);
  });
});
