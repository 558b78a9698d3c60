/**
 * Random event sequences for a machine route — events the current state accepts, events it
 * does not, reserved types a client may not send, and malformed frames — with the model's
 * verdict on each: the frames the client must receive, in order, and the close it must see
 * (the machine's own close, the `onUnexpected` 1008, the codec's 1007 / 1003, or the runner's
 * 1000). `checkMachineScript` plays one sequence through `runFlows` and also checks the lifecycle
 * invariants.
 */
import fc from "fast-check";
import type { EventObject } from "xstate";
import type { App } from "../app/app.js";
import { createDecoder, encodeNow, type OutboundFrame } from "../codec/message-codec.js";
import { truncateReason } from "../wire/close-codes.js";
import type { FlowStep } from "./flows.js";
import { assertInvariants } from "./invariants.js";
import { initialReaction, type MachineModel } from "./machine-model.js";
import { runFlows } from "./run.js";

export interface ScriptOptions {
  /** Most steps in a sequence. Default 8. */
  readonly maxSteps?: number;
  /** Include malformed frames (bad JSON, no `type`, the wrong frame kind). Default true. */
  readonly malformed?: boolean;
}

/**
 * Steps a client takes against a machine route, guided by the model: mostly an event the
 * current state accepts (so sequences get deep into the protocol), sometimes any sample event
 * (often out of state), a reserved type, or a malformed frame. Each choice is a number mapped
 * through the model, so fast-check shrinks sequences as it shrinks numbers.
 */
export function machineScript(model: MachineModel, options: ScriptOptions = {}): fc.Arbitrary<FlowStep[]> {
  const anyStep = machineAnyStep(model, options);
  const events = [...model.samples.values()].flat();
  return fc
    .array(fc.record({ accepted: fc.boolean().chain((b) => (b ? fc.constant(true) : fc.nat({ max: 3 }).map((n) => n > 0))), pick: fc.nat(), other: anyStep }), {
      maxLength: options.maxSteps ?? 8,
    })
    .map((choices) => {
      const run = model.start();
      const steps: FlowStep[] = [];
      try {
        for (const choice of choices) {
          const accepted = run.active ? events.filter((event) => run.accepts(event)) : [];
          if (choice.accepted && accepted.length > 0) {
            const event = accepted[choice.pick % accepted.length]!;
            steps.push(model.toMessage(event));
            run.send(event);
          } else steps.push(choice.other);
        }
      } catch {
        // A model that fails is the property's to report; the sequence so far is still a sequence.
      } finally {
        run.stop();
      }
      return steps;
    });
}

/** One step regardless of state: any sample event, a reserved type, or a malformed frame. */
function machineAnyStep(model: MachineModel, options: ScriptOptions): fc.Arbitrary<FlowStep> {
  const events = [...model.samples.values()].flat();
  const choices: fc.Arbitrary<FlowStep>[] = [];
  if (events.length > 0) choices.push(fc.constantFrom(...events).map((event) => model.toMessage(event)));
  const json = typeof model.description.receive !== "string" || model.description.receive === "json";
  if (json) {
    choices.push(
      fc.constantFrom<EventObject>(
        { type: "disconnect", code: 1000, reason: "" } as EventObject,
        ...model.timers.map((type) => ({ type })),
        { type: "xstate.init" },
      ).map((data) => ({ kind: "json", data }) as const),
    );
  }
  if (options.malformed ?? true) {
    const bad: FlowStep[] = [{ kind: model.description.receiveMode === "binary" ? "text" : "binary", data: new Uint8Array([1, 2, 3]) } as FlowStep];
    if (json) bad.push({ kind: "text", data: "{" }, { kind: "json", data: [1] }, { kind: "json", data: { type: 7 } }, { kind: "json", data: { type: "ping", extra: { deep: true } } });
    choices.push(fc.constantFrom(...bad));
  }
  const weighted = choices.map((arbitrary, index) => ({ arbitrary, weight: index === 0 ? 4 : 1 }));
  return fc.oneof(...weighted);
}

/** What the client must see for `steps`: frames in order and the close; `exact` false after an `onUnexpected` function decided. */
export interface ScriptVerdict {
  readonly frames: readonly OutboundFrame[];
  readonly close: { readonly code: number; readonly reason?: string; readonly reasonIncludes?: readonly string[] };
  readonly exact: boolean;
}

const toBuffer = (step: FlowStep): { data: Buffer; isBinary: boolean } | undefined => {
  switch (step.kind) {
    case "text":
      return { data: Buffer.from(step.data, "utf8"), isBinary: false };
    case "binary":
      return { data: Buffer.from(step.data), isBinary: true };
    case "json":
      return { data: Buffer.from(JSON.stringify(step.data) ?? "null", "utf8"), isBinary: false };
    default:
      return undefined;
  }
};

/** The model's verdict on `steps`, decoding each frame as the route does. */
export async function scriptVerdict(model: MachineModel, steps: readonly FlowStep[]): Promise<ScriptVerdict> {
  const { description } = model;
  const decode = createDecoder(description.receive, description.receiveMode);
  const raw = description.receive === "text" || description.receive === "bytes";
  const run = model.start();
  const start = initialReaction(run);
  const frames: OutboundFrame[] = [...start.frames];
  try {
    if (start.close !== undefined) return { frames, close: start.close, exact: true };
    for (const step of steps) {
      const frame = toBuffer(step);
      if (frame === undefined) continue;
      const decoded = await decode(frame.data, frame.isBinary);
      if (!decoded.ok) {
        if (description.onInvalid !== "close") return { frames, close: { code: 1000 }, exact: false };
        return { frames, close: { code: decoded.code, reason: decoded.problem }, exact: true };
      }
      const value = decoded.value;
      let event: EventObject;
      if (typeof value === "object" && value !== null && !Array.isArray(value) && typeof (value as { type?: unknown }).type === "string") event = value as EventObject;
      else if (raw) event = { type: "message", data: value } as EventObject;
      else return { frames, close: { code: 1007, reason: 'expected a message with a string "type"' }, exact: true };
      if (!run.accepts(event)) {
        const state = run.state;
        switch (description.onUnexpected) {
          case "close":
            return { frames, close: { code: 1008, reason: truncateReason(`unexpected "${event.type}" in state ${state}`) }, exact: true };
          case "ignore":
            continue;
          case "reply": {
            const reply = encodeNow(description.encode, { error: "unexpected event", type: event.type, state });
            if (reply !== undefined) frames.push(reply);
            continue;
          }
          case "function":
            return { frames, close: { code: 1000 }, exact: false };
        }
      }
      const reaction = run.send(event);
      frames.push(...reaction.frames);
      if (reaction.close !== undefined) return { frames, close: reaction.close, exact: true };
    }
    return { frames, close: { code: 1000 }, exact: true };
  } finally {
    run.stop();
  }
}

const show = (data: Buffer | string | Uint8Array, isBinary: boolean): string =>
  isBinary ? `<${Buffer.from(data as Uint8Array).toString("hex")}>` : JSON.stringify(Buffer.from(data as Uint8Array).toString("utf8"));

export interface ScriptRunOptions {
  readonly transport?: "memory" | "tcp";
  readonly scheduler?: fc.Scheduler;
  /** The URL to connect to (default: the route's path). */
  readonly path?: string;
}

/**
 * Play `steps` against `app` and check the client saw exactly the model's verdict — frames,
 * order, close code — and that the lifecycle invariants hold. Throws with the difference.
 */
export async function checkMachineScript(app: App, model: MachineModel, steps: readonly FlowStep[], options: ScriptRunOptions = {}): Promise<void> {
  const verdict = await scriptVerdict(model, steps);
  const result = await runFlows(app, [{ path: options.path ?? model.route.path, headers: {}, subprotocols: [], steps }], {
    ...(options.transport === undefined ? {} : { transport: options.transport }),
    ...(options.scheduler === undefined ? {} : { scheduler: options.scheduler }),
  });
  assertInvariants(result);
  const outcome = result.outcomes[0]!;
  if (outcome.error !== undefined || outcome.refused !== undefined) throw new Error(`connection failed: ${outcome.error ?? `HTTP ${outcome.refused}`}`);
  const got = outcome.received;
  const expected = verdict.frames;
  const limit = verdict.exact ? Math.max(got.length, expected.length) : Math.min(got.length, expected.length);
  for (let index = 0; index < limit; index++) {
    const want = expected[index];
    const have = got[index];
    const wantBytes = want === undefined ? undefined : Buffer.from(typeof want.data === "string" ? Buffer.from(want.data, "utf8") : want.data);
    if (want === undefined || have === undefined || !wantBytes!.equals(have.data) || want.isBinary !== have.isBinary) {
      throw new Error(
        `frame ${index + 1}: the machine sends ${want === undefined ? "nothing" : show(want.data, want.isBinary)}, the client received ${
          have === undefined ? "nothing" : show(have.data, have.isBinary)
        }`,
      );
    }
  }
  if (!verdict.exact) return;
  const closed = outcome.closed;
  if (closed?.code !== verdict.close.code) throw new Error(`close: the machine asks for ${verdict.close.code}, the client saw ${closed?.code ?? "no close"}`);
  if (verdict.close.reason !== undefined && closed.reason !== verdict.close.reason && verdict.close.code !== 1000) {
    throw new Error(`close reason: expected ${JSON.stringify(verdict.close.reason)}, got ${JSON.stringify(closed.reason)}`);
  }
}
