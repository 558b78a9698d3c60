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

interface ActionStep {
  readonly name: string;
  /** Static params, or a function of the context and event, exactly as written in the machine. */
  readonly params: unknown;
}

interface CompiledTransition {
  readonly target: ConnectionState;
  readonly actions: readonly ActionStep[];
}

interface CompiledState {
  readonly entry: readonly ActionStep[];
  readonly on: Partial<Record<ConnectionEventType, CompiledTransition>>;
}

function step(action: unknown): ActionStep {
  if (typeof action === "string") return { name: action, params: undefined };
  if (typeof action === "object" && action !== null && typeof (action as { type?: unknown }).type === "string") {
    const { type, params } = action as { type: string; params?: unknown };
    return { name: type, params };
  }
  throw new TypeError("The compiled lifecycle runs named actions only; the connection machine has an inline one");
}

/** Read the machine's definition into a table: state → event → target and actions. */
function compile(): Record<ConnectionState, CompiledState> {
  const table = {} as Record<ConnectionState, CompiledState>;
  for (const [state, node] of Object.entries(connectionMachine.root.states)) {
    const on: Partial<Record<ConnectionEventType, CompiledTransition>> = {};
    for (const [event, transitions] of node.transitions) {
      const [transition] = transitions;
      if (transition === undefined) continue;
      if (transitions.length > 1 || transition.guard !== undefined) throw new TypeError("The compiled lifecycle does not run guards");
      const target = transition.target?.[0]?.key;
      if (target === undefined) throw new TypeError(`Transition ${state}:${event} has no target`);
      on[event as ConnectionEventType] = { target: target as ConnectionState, actions: transition.actions.map(step) };
    }
    table[state as ConnectionState] = { entry: node.entry.map(step), on };
  }
  return table;
}

const table = compile();
const updates: Record<string, ((params: never) => Partial<ConnectionContext>) | undefined> = contextUpdates;

export class CompiledLifecycle implements Lifecycle {
  value: ConnectionState = "connecting";
  context: ConnectionContext = { ...initialContext };
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
      while (this.#pending !== undefined && this.#pending.length > 0) this.#process(this.#pending.shift()!);
    } finally {
      this.#busy = false;
    }
  }

  #process(event: ConnectionEvent): void {
    const transition = table[this.value].on[event.type];
    if (transition === undefined) return;
    for (const action of transition.actions) this.#run(action, event);
    const entered = transition.target !== this.value;
    this.value = transition.target;
    if (entered) for (const action of table[transition.target].entry) this.#run(action, event);
  }

  #run(action: ActionStep, event: ConnectionEvent): void {
    const params =
      typeof action.params === "function"
        ? (action.params as (args: { context: ConnectionContext; event: ConnectionEvent }) => unknown)({ context: this.context, event })
        : action.params;
    const update = updates[action.name];
    if (update !== undefined) {
      this.context = { ...this.context, ...update(params as never) };
      return;
    }
    const effect = perform[action.name as EffectName];
    if (effect === undefined) throw new TypeError(`Unknown action "${action.name}" in the connection machine`);
    effect(this.#effects, this.context, params as never);
  }
}

/** Start one connection's lifecycle, in `connecting`: compiled, or an inspected xstate actor. */
export function startLifecycle(effects: LifecycleEffects, inspect?: (event: InspectionEvent) => void): Lifecycle {
  return inspect === undefined ? new CompiledLifecycle(effects) : new InspectedLifecycle(effects, inspect);
}
