/**
 * A handler machine as a test model: which events a client can drive it with (samples given,
 * or drawn from the route's effect Schema), how an event looks on the wire, and what the
 * machine does with a sequence of them — the frames its actions send and the close it asks for —
 * computed by running the same definition in an actor with a clock that never fires.
 */
import * as effect from "effect";
import { type AnyStateMachine, type EventObject, createActor } from "xstate";
import { adoptEffect } from "../codec/effect.js";
import { encodeNow, type OutboundFrame } from "../codec/message-codec.js";
import type { MessageSchema } from "../codec/schema.js";
import { CLOSE_CONNECTION, type CloseConnectionEmitted, SEND_MESSAGE, type SendMessageEmitted } from "../handlers/machine-actions.js";
import type { MachineInput, MachineRouteDescription } from "../handlers/machine.js";
import { isReservedEventType, stateName } from "../handlers/machine-state.js";
import { machineRouteOf } from "../handlers/machine.js";
import type { WebSocketRoute } from "../handlers/websocket.js";
import type { FlowStep } from "./flows.js";

const { Arbitrary, Effect, Schema } = effect;
// The toolkit imports effect anyway: hand it to the codec, so route encoders answer synchronously.
adoptEffect(effect);

export interface MachineModelOptions {
  /** Events to drive the machine with, by type (the first few are used for paths). Default: drawn from the route's effect Schema, else `{ type }`. */
  readonly samples?: Readonly<Record<string, readonly EventObject[]>>;
  /** How an event goes on the wire. Needed when the route has its own `toEvent`; default: the event as JSON (encoded through the route's effect Schema), `data` for text and bytes routes. */
  readonly toMessage?: (event: EventObject) => FlowStep;
  /** The machine's `input` in the model. Default: empty params, query, headers, state and dependencies. */
  readonly input?: Partial<MachineInput>;
  /** Samples drawn per event type from the schema. Default 3. */
  readonly samplesPerType?: number;
  /** Seed for drawing samples from the schema. Default 1. */
  readonly seed?: number;
  /** Event types a client can cause; others (sent by child actors, say) are internal. Default: every type but reserved ones. */
  readonly clientEvents?: readonly string[];
}

/** What the machine does with one event: frames, in order, and the close it asks for (if any). */
export interface ModelReaction {
  readonly frames: readonly OutboundFrame[];
  readonly close: { readonly code: number; readonly reason: string } | undefined;
  /** The state the event left the machine in. */
  readonly state: string;
}

/** A running model of one connection. */
export interface ModelRun {
  readonly state: string;
  readonly active: boolean;
  /** Whether the current state accepts `event` (reserved types never are). */
  accepts(event: EventObject): boolean;
  /** Send `event` (a client event, a timer event `xstate.after.*`, or `disconnect`) and return what the machine did. */
  send(event: EventObject): ModelReaction;
  /** The transitions `event` takes now, as `source —type→` keys. */
  transitionsFor(event: EventObject): string[];
  stop(): void;
}

export interface MachineModel {
  readonly route: WebSocketRoute;
  readonly description: MachineRouteDescription;
  readonly machine: AnyStateMachine;
  /** Client-drivable sample events, by type. */
  readonly samples: ReadonlyMap<string, readonly EventObject[]>;
  /** Every transition of the machine as a key `source —type→ #index`, in definition order. */
  readonly transitions: readonly string[];
  /** Transitions no client message can take (done/error events of children, `*`); reported, not driven. */
  readonly internal: readonly string[];
  /** Event types of `after` transitions: the runtime's timers take them. */
  readonly timers: readonly string[];
  start(): ModelRun;
  toMessage(event: EventObject): FlowStep;
}

/** Never fires: the model takes timer transitions only when a path says so. */
const stillClock = { setTimeout: () => 0, clearTimeout: () => {} };

const defaultInput: MachineInput = { params: {}, query: {}, headers: {}, state: {}, dependencies: {} as MachineInput["dependencies"] };

interface TransitionLike {
  readonly eventType: string;
  readonly source: { readonly id: string };
}

/** Every transition of `machine`, nested and parallel states included, keyed stably. */
function allTransitions(machine: AnyStateMachine): { key: (t: TransitionLike) => string; list: { key: string; eventType: string }[] } {
  const index = new Map<TransitionLike, string>();
  const list: { key: string; eventType: string }[] = [];
  const visit = (node: AnyStateMachine["root"]): void => {
    for (const [eventType, transitions] of node.transitions) {
      transitions.forEach((transition, i) => {
        const key = `${node.id} —${eventType}→${transitions.length > 1 ? ` #${i + 1}` : ""}`;
        index.set(transition as unknown as TransitionLike, key);
        list.push({ key, eventType });
      });
    }
    for (const child of Object.values(node.states)) visit(child as AnyStateMachine["root"]);
  };
  visit(machine.root);
  return { key: (t) => index.get(t) ?? `${t.source.id} —${t.eventType}→ ?`, list };
}

/** Sample values of an effect Schema, grouped by their `type`; empty for other schemas. */
function schemaSamples(receive: unknown, perType: number, seed: number): Map<string, EventObject[]> {
  const byType = new Map<string, EventObject[]>();
  if (!Schema.isSchema(receive)) return byType;
  let values: readonly unknown[] = [];
  try {
    values = Effect.runSync(Arbitrary.sampleEffect(Arbitrary.schema(receive as never), { count: 200, seed }));
  } catch {
    return byType;
  }
  for (const value of values) {
    if (typeof value !== "object" || value === null || typeof (value as { type?: unknown }).type !== "string") continue;
    const event = { ...(value as EventObject) };
    const list = byType.get(event.type) ?? [];
    // Short payloads first: paths read best, and they shrink toward them.
    if (list.length < perType && !list.some((other) => JSON.stringify(other) === JSON.stringify(event))) list.push(event);
    byType.set(event.type, list);
  }
  return byType;
}

/** The model of a `websocketMachine` route. */
export function machineModel(route: WebSocketRoute, options: MachineModelOptions = {}): MachineModel {
  const description = machineRouteOf(route);
  if (description === undefined) throw new TypeError(`Route ${route.path} is not a websocketMachine route`);
  const { machine, encode } = description;
  const { key, list } = allTransitions(machine);
  const fromSchema = schemaSamples(description.receive, options.samplesPerType ?? 3, options.seed ?? 1);
  const samples = new Map<string, EventObject[]>();
  const internal: string[] = [];
  const timers: string[] = [];
  for (const { key: transition, eventType } of list) {
    if (eventType.startsWith("xstate.after.")) {
      if (!timers.includes(eventType)) timers.push(eventType);
      continue;
    }
    if (eventType === "disconnect") continue;
    if (isReservedEventType(eventType) || eventType.includes("*") || (options.clientEvents !== undefined && !options.clientEvents.includes(eventType))) {
      internal.push(transition);
      continue;
    }
    if (samples.has(eventType)) continue;
    const given = options.samples?.[eventType] ?? fromSchema.get(eventType);
    samples.set(eventType, given !== undefined && given.length > 0 ? [...given] : [{ type: eventType }]);
  }
  const input = { ...defaultInput, ...options.input };
  const receive = description.receive;
  const wireEncode = Schema.isSchema(receive) ? Schema.encodeUnknownSync(receive as unknown as effect.Schema.Codec<unknown, unknown>) : (value: unknown) => value;
  const toMessage =
    options.toMessage ??
    ((event: EventObject): FlowStep => {
      if (description.customEvents) throw new TypeError(`Route ${route.path} maps messages with toEvent: give machineModel a toMessage`);
      if (receive === "text") return { kind: "text", data: String((event as { data?: unknown }).data ?? "") };
      if (receive === "bytes") return { kind: "binary", data: (event as { data?: Uint8Array }).data ?? new Uint8Array() };
      return { kind: "json", data: wireEncode(event) };
    });

  const start = (): ModelRun => {
    const actor = createActor(machine, { input, clock: stillClock });
    let frames: OutboundFrame[] = [];
    let close: { code: number; reason: string } | undefined;
    let closing = false;
    actor.on(SEND_MESSAGE, (emitted) => {
      if (closing) return;
      const frame = encodeNow(encode, (emitted as unknown as SendMessageEmitted).value);
      if (frame !== undefined) frames.push(frame);
    });
    actor.on(CLOSE_CONNECTION, (emitted) => {
      if (closing) return;
      const { code, reason } = emitted as unknown as CloseConnectionEmitted;
      closing = true;
      close = { code, reason };
    });
    actor.start();
    const settleDone = (): void => {
      const snapshot = actor.getSnapshot();
      if (snapshot.status === "done" && !closing) {
        const output = (snapshot.output ?? {}) as { code?: number; reason?: string };
        closing = true;
        close = { code: output.code ?? 1000, reason: output.reason ?? "" };
      }
    };
    settleDone();
    const initial = frames;
    frames = [];
    const run: ModelRun & { readonly initial: readonly OutboundFrame[]; readonly initialClose: typeof close } = {
      initial,
      initialClose: close,
      get state() {
        return stateName(actor.getSnapshot().value);
      },
      get active() {
        return actor.getSnapshot().status === "active" && !closing;
      },
      accepts(event) {
        const snapshot = actor.getSnapshot();
        return snapshot.status === "active" && !isReservedEventType(event.type) && machine.getTransitionData(snapshot as never, event).length > 0;
      },
      transitionsFor(event) {
        const snapshot = actor.getSnapshot();
        if (snapshot.status !== "active") return [];
        return machine.getTransitionData(snapshot as never, event).map((t) => key(t as unknown as TransitionLike));
      },
      send(event) {
        frames = [];
        close = undefined;
        actor.send(event);
        settleDone();
        const snapshot = actor.getSnapshot();
        if (snapshot.status === "error") throw snapshot.error;
        return { frames, close, state: stateName(snapshot.value) };
      },
      stop() {
        actor.stop();
      },
    };
    return run;
  };

  return { route, description, machine, samples, transitions: list.map((t) => t.key), internal, timers, start, toMessage };
}

/** The frames and close a fresh model produced on start (entry actions). */
export function initialReaction(run: ModelRun): ModelReaction {
  const { initial, initialClose } = run as ModelRun & { initial: readonly OutboundFrame[]; initialClose: ModelReaction["close"] };
  return { frames: initial, close: initialClose, state: run.state };
}

export type { MessageSchema };
