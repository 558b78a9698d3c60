/**
 * Running the connection machine for one connection, two ways with one definition:
 *
 * - compiled (the default): `machines/connection.ts` is read once per process into a transition
 *   table, and each connection runs it with a few fields — no actor, no per-connection setup.
 *   An xstate actor costs about 3.4 KB and tens of microseconds per connection, which alone
 *   would put memory and handshake rate far outside the performance budget (docs/architecture.md §5).
 * - an xstate actor, when something inspects (the inspector, or the app's own `inspect`): then
 *   the inspection events are xstate's own.
 *
 * Both apply the same named actions and context updates; test/compiled-lifecycle.test.ts checks
 * they agree on random event sequences.
 */
import { type AnyActorRef, createActor, type InspectionEvent } from "xstate";
import {
  type ConnectionContext,
  type ConnectionEvent,
  type ConnectionEventType,
  type ConnectionOutcome,
  type ConnectionState,
  connectionMachine,
  contextUpdates,
  initialContext,
  outcomeOf,
} from "../../machines/connection.js";

/** The side effects a connection runtime performs when the machine asks for them. */
export interface LifecycleEffects {
  completeHandshake(): void;
  sendHttpDenial(status: number): void;
  sendCloseFrame(code: number, reason: string): void;
  terminateTransport(): void;
  signalDisconnect(code: number, reason: string): void;
  armCloseTimeout(): void;
  releaseResources(outcome: ConnectionOutcome): void;
}

/** One connection's lifecycle, however it is run. */
export interface Lifecycle {
  send(event: ConnectionEvent): void;
  readonly value: ConnectionState;
}

type EffectName = keyof LifecycleEffects;

/** How each named side-effect action calls the runtime; shared by both ways of running. */
const perform: { readonly [Name in EffectName]: (effects: LifecycleEffects, context: ConnectionContext, params: never) => void } = {
  completeHandshake: (effects) => effects.completeHandshake(),
  sendHttpDenial: (effects, _context, params: { status: number }) => effects.sendHttpDenial(params.status),
  sendCloseFrame: (effects, _context, params: { code: number; reason: string }) => effects.sendCloseFrame(params.code, params.reason),
  terminateTransport: (effects) => effects.terminateTransport(),
  signalDisconnect: (effects, context) => effects.signalDisconnect(context.code, context.reason),
  armCloseTimeout: (effects) => effects.armCloseTimeout(),
  releaseResources: (effects, context) => effects.releaseResources(outcomeOf(context)),
};

// ---- the xstate actor, for inspected connections --------------------------------------------

const effectsOf = new WeakMap<AnyActorRef, LifecycleEffects>();
const owner = (self: AnyActorRef): LifecycleEffects => effectsOf.get(self)!;

export const lifecycleMachine = connectionMachine.provide({
  actions: {
    completeHandshake: ({ self, context }) => perform.completeHandshake(owner(self), context, undefined as never),
    sendHttpDenial: ({ self, context }, params) => perform.sendHttpDenial(owner(self), context, params as never),
    sendCloseFrame: ({ self, context }, params) => perform.sendCloseFrame(owner(self), context, params as never),
    terminateTransport: ({ self, context }) => perform.terminateTransport(owner(self), context, undefined as never),
    signalDisconnect: ({ self, context }) => perform.signalDisconnect(owner(self), context, undefined as never),
    armCloseTimeout: ({ self, context }) => perform.armCloseTimeout(owner(self), context, undefined as never),
    releaseResources: ({ self, context }) => perform.releaseResources(owner(self), context, undefined as never),
  },
});

class InspectedLifecycle implements Lifecycle {
  readonly #actor;

  constructor(effects: LifecycleEffects, inspect: (event: InspectionEvent) => void) {
    this.#actor = createActor(lifecycleMachine, { inspect });
    effectsOf.set(this.#actor, effects);
    this.#actor.start();
  }

  send(event: ConnectionEvent): void {
    this.#actor.send(event);
  }

  get value(): ConnectionState {
    return this.#actor.getSnapshot().value;
  }
}

// ---- the compiled table, for everything else -----------------------------------------------

/**
 * One action of a transition, resolved when the table is built: a context update or a side
 * effect, with its params (static, or a function of the context and event as written in the
 * machine). Nothing is looked up by name per transition (docs/architecture.md §5).
 */
interface ActionStep {
  readonly name: string;
  readonly params: unknown;
  readonly paramsOf: ((args: { context: ConnectionContext; event: ConnectionEvent }) => unknown) | undefined;
  readonly update: ((params: never) => Partial<ConnectionContext>) | undefined;
  readonly effect: ((effects: LifecycleEffects, context: ConnectionContext, params: never) => void) | undefined;
}

interface CompiledTransition {
  readonly target: ConnectionState;
  readonly actions: readonly ActionStep[];
  /** The target's entry actions when the transition enters it; empty for a self-transition. */
  readonly entry: readonly ActionStep[];
}

type CompiledState = Partial<Record<ConnectionEventType, CompiledTransition>>;

const updates: Record<string, ((params: never) => Partial<ConnectionContext>) | undefined> = contextUpdates;

function step(action: unknown): ActionStep {
  let name: string;
  let params: unknown;
  if (typeof action === "string") name = action;
  else if (typeof action === "object" && action !== null && typeof (action as { type?: unknown }).type === "string") {
    ({ type: name, params } = action as { type: string; params?: unknown });
  } else throw new TypeError("The compiled lifecycle runs named actions only; the connection machine has an inline one");
  const update = updates[name];
  const effect = Object.hasOwn(perform, name) ? perform[name as EffectName] : undefined;
  if (update === undefined && effect === undefined) throw new TypeError(`Unknown action "${name}" in the connection machine`);
  const paramsOf = typeof params === "function" ? (params as ActionStep["paramsOf"]) : undefined;
  return { name, params, paramsOf, update, effect };
}

/** Read the machine's definition into a table: state → event → target, actions and entry actions. */
function compile(): Record<ConnectionState, CompiledState> {
  const entries = {} as Record<ConnectionState, readonly ActionStep[]>;
  for (const [state, node] of Object.entries(connectionMachine.root.states)) entries[state as ConnectionState] = node.entry.map(step);
  const table = {} as Record<ConnectionState, CompiledState>;
  for (const [state, node] of Object.entries(connectionMachine.root.states)) {
    const on: CompiledState = {};
    for (const [event, transitions] of node.transitions) {
      const [transition] = transitions;
      if (transition === undefined) continue;
      if (transitions.length > 1 || transition.guard !== undefined) throw new TypeError("The compiled lifecycle does not run guards");
      const target = transition.target?.[0]?.key as ConnectionState | undefined;
      if (target === undefined) throw new TypeError(`Transition ${state}:${event} has no target`);
      on[event as ConnectionEventType] = { target, actions: transition.actions.map(step), entry: target === state ? [] : entries[target] };
    }
    table[state as ConnectionState] = on;
  }
  return table;
}

const table = compile();

/** `{ ...context, ...update }` with the context's one shape (no generic spread, docs/architecture.md §5). */
function updated(context: ConnectionContext, update: Partial<ConnectionContext>): ConnectionContext {
  return {
    code: "code" in update ? update.code! : context.code,
    reason: "reason" in update ? update.reason! : context.reason,
    initiator: "initiator" in update ? update.initiator! : context.initiator,
    wasClean: "wasClean" in update ? update.wasClean! : context.wasClean,
    rejectedStatus: "rejectedStatus" in update ? update.rejectedStatus : context.rejectedStatus,
  };
}

export class CompiledLifecycle implements Lifecycle {
  value: ConnectionState = "connecting";
  /** Replaced, never mutated, by each update: the initial context is shared until the first. */
  context: ConnectionContext = initialContext;
  readonly #effects: LifecycleEffects;
  /** Events sent while one is being processed wait their turn, as in an actor's mailbox. */
  #pending: ConnectionEvent[] | undefined;
  #busy = false;

  constructor(effects: LifecycleEffects) {
    this.#effects = effects;
  }

  send(event: ConnectionEvent): void {
    if (this.#busy) {
      (this.#pending ??= []).push(event);
      return;
    }
    this.#busy = true;
    try {
      this.#process(event);
      const pending = this.#pending;
      if (pending !== undefined) while (pending.length > 0) this.#process(pending.shift()!);
    } finally {
      this.#busy = false;
    }
  }

  #process(event: ConnectionEvent): void {
    const transition = table[this.value][event.type];
    if (transition === undefined) return;
    const { actions, entry } = transition;
    for (let i = 0; i < actions.length; i++) this.#run(actions[i]!, event);
    this.value = transition.target;
    for (let i = 0; i < entry.length; i++) this.#run(entry[i]!, event);
  }

  #run(action: ActionStep, event: ConnectionEvent): void {
    const params = action.paramsOf === undefined ? action.params : action.paramsOf({ context: this.context, event });
    if (action.update !== undefined) this.context = updated(this.context, action.update(params as never));
    else action.effect!(this.#effects, this.context, params as never);
  }
}

/** Start one connection's lifecycle, in `connecting`: compiled, or an inspected xstate actor. */
export function startLifecycle(effects: LifecycleEffects, inspect?: (event: InspectionEvent) => void): Lifecycle {
  return inspect === undefined ? new CompiledLifecycle(effects) : new InspectedLifecycle(effects, inspect);
}
