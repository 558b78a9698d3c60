/**
 * Each core module loads, and builds what it builds at load time (the compiled lifecycle table,
 * the close-code names, the handshake patterns). Imported dynamically so that a module that
 * throws while loading fails a test here instead of leaving a test file with no tests — which
 * the mutation run (npm run test:mutation) would otherwise count as a surviving mutant.
 */
import { describe, expect, test } from "vitest";

describe("the core modules load", () => {
  test("machines/connection.ts", async () => {
    const module = await import("../../machines/connection.js");
    expect(module.connectionMachine.id).toBe("connection");
    expect(Object.keys(module.connectionMachine.root.states)).toStrictEqual(["connecting", "open", "closing", "closed"]);
  });

  test("src/connection/lifecycle.ts, compiling the machine into its table", async () => {
    const { CompiledLifecycle } = await import("../../src/connection/lifecycle.js");
    expect(new CompiledLifecycle({} as never).value).toBe("connecting");
  });

  test("src/connection/close-codes.ts, with its table of names", async () => {
    const { closeCodeName } = await import("../../src/connection/close-codes.js");
    expect(closeCodeName(1001)).toBe("GOING_AWAY");
  });

  test("src/connection/mailbox.ts", async () => {
    const { Mailbox } = await import("../../src/connection/mailbox.js");
    expect(new Mailbox({ pause: () => {}, resume: () => {} }, 1).size).toBe(0);
  });

  test("src/handlers/pipeline.ts", async () => {
    const { MessagePipeline } = await import("../../src/handlers/pipeline.js");
    expect(typeof MessagePipeline).toBe("function");
  });

  test("src/transport/handshake.ts, with its patterns", async () => {
    const { parseSubprotocols } = await import("../../src/transport/handshake.js");
    expect(parseSubprotocols("a, b")).toStrictEqual(["a", "b"]);
  });
});
