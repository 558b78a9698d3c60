/**
 * The connection machine with the runtime's side effects plugged in — done once per process,
 * not per connection (`provide` builds a new machine; per connection it would cost more than
 * the actor itself). Each action finds its connection through the actor that runs it.
 */
import { type Actor, type AnyActorRef, createActor, type InspectionEvent, type Observer } from "xstate";
import { type ConnectionOutcome, connectionMachine, outcomeOf } from "../../machines/connection.js";

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

const effectsOf = new WeakMap<AnyActorRef, LifecycleEffects>();
const owner = (self: AnyActorRef): LifecycleEffects => effectsOf.get(self)!;

export const lifecycleMachine = connectionMachine.provide({
  actions: {
    completeHandshake: ({ self }) => owner(self).completeHandshake(),
    sendHttpDenial: ({ self }, { status }) => owner(self).sendHttpDenial(status),
    sendCloseFrame: ({ self }, { code, reason }) => owner(self).sendCloseFrame(code, reason),
    terminateTransport: ({ self }) => owner(self).terminateTransport(),
    signalDisconnect: ({ self, context }) => owner(self).signalDisconnect(context.code, context.reason),
    armCloseTimeout: ({ self }) => owner(self).armCloseTimeout(),
    releaseResources: ({ self, context }) => owner(self).releaseResources(outcomeOf(context)),
  },
});

export type LifecycleActor = Actor<typeof lifecycleMachine>;

/** Start one connection's lifecycle actor, in `connecting`. */
export function startLifecycle(
  effects: LifecycleEffects,
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void),
): LifecycleActor {
  const actor = inspect === undefined ? createActor(lifecycleMachine) : createActor(lifecycleMachine, { inspect });
  effectsOf.set(actor, effects);
  actor.start();
  return actor;
}
