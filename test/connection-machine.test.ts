/**
 * The connection statechart on its own: every row of the lifecycle table, with
 * the side effects it asks for, and no I/O anywhere.
 */
import { describe, expect, test } from "vitest";
import { createActor } from "xstate";
import { type ConnectionEvent, connectionMachine, type ConnectionState } from "../machines/connection.js";

type Effect = string;

function run(events: ConnectionEvent[]) {
  const effects: Effect[] = [];
  const machine = connectionMachine.provide({
    actions: {
      completeHandshake: () => void effects.push("completeHandshake"),
      sendHttpDenial: (_, { status }) => void effects.push(`sendHttpDenial ${status}`),
      sendCloseFrame: (_, { code, reason }) => void effects.push(`sendCloseFrame ${code} ${reason}`),
      terminateTransport: () => void effects.push("terminateTransport"),
      signalDisconnect: () => void effects.push("signalDisconnect"),
      armCloseTimeout: () => void effects.push("armCloseTimeout"),
      releaseResources: () => void effects.push("releaseResources"),
    },
  });
  const actor = createActor(machine).start();
  for (const event of events) actor.send(event);
  const snapshot = actor.getSnapshot();
  return { state: snapshot.value as ConnectionState, output: snapshot.output, effects };
}

const transportClosed = (code = 1000, wasClean = true): ConnectionEvent => ({ type: "transportClosed", code, reason: "", wasClean });

describe("connection machine", () => {
  test("starts in connecting and does nothing until told", () => {
    expect(run([])).toEqual({ state: "connecting", output: undefined, effects: [] });
  });

  test("accept → open, completing the handshake", () => {
    expect(run([{ type: "accept" }])).toMatchObject({ state: "open", effects: ["completeHandshake"] });
  });

  test("reject → closed with the HTTP status, never opened", () => {
    const result = run([{ type: "reject", status: 401 }]);
    expect(result.state).toBe("closed");
    expect(result.effects).toEqual(["sendHttpDenial 401", "signalDisconnect", "releaseResources"]);
    expect(result.output).toEqual({ code: 1006, reason: "", wasClean: false, initiator: "server", rejectedStatus: 401 });
  });

  test("close before accept completes the handshake, then sends the close frame", () => {
    const result = run([{ type: "close", code: 4001, reason: "Invalid token" }, transportClosed(4001)]);
    expect(result.effects).toEqual([
      "completeHandshake",
      "sendCloseFrame 4001 Invalid token",
      "signalDisconnect",
      "armCloseTimeout",
      "signalDisconnect",
      "releaseResources",
    ]);
    expect(result.output).toEqual({ code: 4001, reason: "Invalid token", wasClean: true, initiator: "server" });
  });

  test("a handler that ends or fails before accept refuses the handshake (403 / 500)", () => {
    expect(run([{ type: "handlerDone" }]).output).toMatchObject({ rejectedStatus: 403 });
    expect(run([{ type: "handlerError" }]).output).toMatchObject({ rejectedStatus: 500 });
  });

  test.each(["transportClosed", "handshakeTimeout"] as const)("connecting → closed on %s, abnormally", (type) => {
    const event: ConnectionEvent = type === "transportClosed" ? transportClosed(1006, false) : { type };
    const result = run([event]);
    expect(result.state).toBe("closed");
    expect(result.output).toMatchObject({ code: 1006, wasClean: false, initiator: type === "transportClosed" ? "transport" : "server" });
    expect(result.effects.includes("terminateTransport")).toBe(type !== "transportClosed");
  });

  test.each([
    [{ type: "close", code: 4000, reason: "bye" }, { code: 4000, reason: "bye", initiator: "server" }, true],
    [{ type: "handlerDone" }, { code: 1000, reason: "", initiator: "server" }, true],
    [{ type: "handlerError" }, { code: 1011, reason: "Internal error", initiator: "server" }, true],
    [{ type: "peerClose", code: 1005, reason: "" }, { code: 1005, reason: "", initiator: "client" }, false],
    [{ type: "protocolError", code: 1009, reason: "" }, { code: 1009, reason: "", initiator: "server" }, false],
  ] as [ConnectionEvent, object, boolean][])("open → closing → closed on %o", (event, outcome, sendsCloseFrame) => {
    const closing = run([{ type: "accept" }, event]);
    expect(closing.state).toBe("closing");
    expect(closing.effects.some((effect) => effect.startsWith("sendCloseFrame"))).toBe(sendsCloseFrame);
    // Whoever began the close, entering closing arms its timeout.
    expect(closing.effects.slice(-2)).toEqual(["signalDisconnect", "armCloseTimeout"]);
    const closed = run([{ type: "accept" }, event, transportClosed()]);
    expect(closed.state).toBe("closed");
    expect(closed.output).toEqual({ ...outcome, wasClean: true });
    expect(closed.effects.filter((effect) => effect === "releaseResources")).toHaveLength(1);
  });

  test.each(["heartbeatTimeout"] as const)("open → closed on %s, terminating the transport as 1006", (type) => {
    const result = run([{ type: "accept" }, { type }]);
    expect(result.state).toBe("closed");
    expect(result.output).toEqual({ code: 1006, reason: "", wasClean: false, initiator: "server" });
    expect(result.effects).toContain("terminateTransport");
  });

  test("open → closed when the transport ends without a close frame", () => {
    expect(run([{ type: "accept" }, transportClosed(1006, false)]).output).toEqual({
      code: 1006,
      reason: "",
      wasClean: false,
      initiator: "transport",
    });
  });

  test.each(["closeTimeout", "terminate"] as const)("closing → closed on %s, terminating and unclean", (type) => {
    const result = run([{ type: "accept" }, { type: "close", code: 1000, reason: "" }, { type }]);
    expect(result.state).toBe("closed");
    expect(result.output).toMatchObject({ code: 1000, wasClean: false, initiator: "server" });
    expect(result.effects).toContain("terminateTransport");
  });

  test("in closing, a second close, the peer's answer and handler endings change nothing", () => {
    const result = run([
      { type: "accept" },
      { type: "close", code: 4000, reason: "first" },
      { type: "close", code: 4001, reason: "second" },
      { type: "peerClose", code: 4000, reason: "first" },
      { type: "handlerError" },
      { type: "handlerDone" },
    ]);
    expect(result.state).toBe("closing");
    expect(result.effects.filter((effect) => effect.startsWith("sendCloseFrame"))).toEqual(["sendCloseFrame 4000 first"]);
  });

  test("the definition is data: named actions only, so it can be drawn", () => {
    const json = JSON.stringify(connectionMachine.definition);
    // Inline functions serialize as null; every action here must be a named one.
    expect(json).not.toMatch(/"(actions|entry|exit)":\[[^\]]*null/);
    expect(json).toContain('"sendCloseFrame"');
    expect(Object.keys(connectionMachine.definition.states)).toEqual(["connecting", "open", "closing", "closed"]);
  });
});
