/**
 * The compiled runner of machines/connection.ts (what uninspected connections use) against a
 * real xstate actor of the same definition: on random event sequences both go through the same
 * states, end with the same context and output, and ask for the same side effects in the same
 * order — including events sent from inside an effect, which both queue.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { createActor } from "xstate";
import type { ConnectionEvent, ConnectionOutcome } from "../machines/connection.js";
import { CompiledLifecycle, type LifecycleEffects, lifecycleMachine } from "../src/connection/lifecycle.js";

const RUNS = process.env.STATEWIRE_DEEP === "1" ? 100_000 : process.env.STATEWIRE_MUTATION === "1" ? 300 : 2_000;

const code = fc.oneof(fc.constantFrom(1000, 1001, 1005, 1006, 1011), fc.integer({ min: 3000, max: 4999 }));
const reason = fc.string({ maxLength: 5 });
const event: fc.Arbitrary<ConnectionEvent> = fc.oneof(
  fc.constant({ type: "accept" } as const),
  fc.integer({ min: 400, max: 599 }).map((status) => ({ type: "reject", status }) as const),
  fc.record({ type: fc.constant("close" as const), code, reason }),
  fc.record({ type: fc.constant("peerClose" as const), code, reason }),
  fc.constant({ type: "handlerDone" } as const),
  fc.constant({ type: "handlerError" } as const),
  fc.record({ type: fc.constant("protocolError" as const), code: fc.constantFrom(1002, 1007, 1009), reason }),
  fc.record({ type: fc.constant("transportClosed" as const), code, reason, wasClean: fc.boolean() }),
  fc.constant({ type: "handshakeTimeout" } as const),
  fc.constant({ type: "heartbeatTimeout" } as const),
  fc.constant({ type: "closeTimeout" } as const),
  fc.constant({ type: "terminate" } as const),
);

/** Effects that record what they are asked, and — to exercise queueing — may send one event back. */
function recorder(log: string[], echo: { send?: (event: ConnectionEvent) => void; event: ConnectionEvent | undefined }): LifecycleEffects {
  const bounce = (): void => {
    const next = echo.event;
    echo.event = undefined;
    if (next !== undefined) echo.send?.(next);
  };
  return {
    completeHandshake: () => void log.push("completeHandshake"),
    sendHttpDenial: (status) => void log.push(`sendHttpDenial ${status}`),
    sendCloseFrame: (c, r) => {
      log.push(`sendCloseFrame ${c} ${r}`);
      bounce();
    },
    terminateTransport: () => {
      log.push("terminateTransport");
      bounce();
    },
    signalDisconnect: (c, r) => void log.push(`signalDisconnect ${c} ${r}`),
    armCloseTimeout: () => void log.push("armCloseTimeout"),
    releaseResources: (outcome: ConnectionOutcome) => void log.push(`releaseResources ${JSON.stringify(outcome)}`),
  };
}

describe("the compiled lifecycle and the xstate actor agree", () => {
  test(`on random event sequences (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 12 }), fc.option(event, { nil: undefined }), (events, bounced) => {
        const compiledLog: string[] = [];
        const actorLog: string[] = [];
        const compiledEcho: { send?: (event: ConnectionEvent) => void; event: ConnectionEvent | undefined } = { event: bounced };
        const actorEcho: { send?: (event: ConnectionEvent) => void; event: ConnectionEvent | undefined } = { event: bounced };
        const compiled = new CompiledLifecycle(recorder(compiledLog, compiledEcho));
        compiledEcho.send = (e) => compiled.send(e);
        const effects = recorder(actorLog, actorEcho);
        const machine = lifecycleMachine.provide({
          actions: {
            completeHandshake: () => effects.completeHandshake(),
            sendHttpDenial: (_, params) => effects.sendHttpDenial(params.status),
            sendCloseFrame: (_, params) => effects.sendCloseFrame(params.code, params.reason),
            terminateTransport: () => effects.terminateTransport(),
            signalDisconnect: ({ context }) => effects.signalDisconnect(context.code, context.reason),
            armCloseTimeout: () => effects.armCloseTimeout(),
            releaseResources: ({ context }) =>
              effects.releaseResources(
                context.rejectedStatus === undefined
                  ? { code: context.code, reason: context.reason, wasClean: context.wasClean, initiator: context.initiator }
                  : { code: context.code, reason: context.reason, wasClean: context.wasClean, initiator: context.initiator, rejectedStatus: context.rejectedStatus },
              ),
          },
        });
        const actor = createActor(machine).start();
        actorEcho.send = (e) => actor.send(e);
        const compiledStates: string[] = [];
        const actorStates: string[] = [];
        for (const e of events) {
          compiled.send(e);
          compiledStates.push(compiled.value);
          if (actor.getSnapshot().status === "active") actor.send(e);
          actorStates.push(actor.getSnapshot().value);
        }
        expect(compiledStates).toEqual(actorStates);
        expect(compiledLog).toEqual(actorLog);
        expect(compiled.context).toEqual(actor.getSnapshot().context);
      }),
      { numRuns: RUNS },
    );
  });
});
