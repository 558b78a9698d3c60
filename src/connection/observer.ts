/**
 * What the runtime tells observers about each connection: its start, every lifecycle
 * transition, messages in and out (sizes only), handler faults and completion, dependencies,
 * and how it closed. The invariant checks of `statewire/testing` and the inspector are
 * observers. With none attached, the frame path pays one boolean read.
 */
import type { ConnectionEventType, ConnectionOutcome, ConnectionState } from "../../machines/connection.js";
import type { AnyStateMachine } from "xstate";
import { workerId } from "../cluster/worker-id.js";
import type { ClientAddress } from "./socket.js";

export interface ConnectionInfo {
  readonly id: number;
  /** The route's path pattern, e.g. `/rooms/:room`. */
  readonly route: string;
  /** The request target, e.g. `/rooms/lobby?x=1`. */
  readonly url: string;
  readonly client: ClientAddress;
  readonly startedAt: number;
  /** The node:cluster worker holding the connection; absent outside a cluster worker. */
  readonly worker?: number;
}

export interface ConnectionObserver {
  connectionStarted?(info: ConnectionInfo): void;
  transition?(id: number, from: ConnectionState, event: ConnectionEventType, to: ConnectionState): void;
  /** `data` is the payload itself: an observer that shows it must be asked to (the inspector redacts by default). */
  messageIn?(id: number, size: number, isBinary: boolean, data: Buffer): void;
  messageOut?(id: number, size: number, isBinary: boolean, data: string | Uint8Array): void;
  /** A frame the runtime refused to send (backpressure `drop`/`close`, or after close). */
  messageDropped?(id: number, size: number): void;
  /**
   * A message's handler is done with it, `durationMs` after the message arrived (monotonic clock).
   * Listeners, machines and streams' `onMessage`: until the handler's result is settled and its
   * reply written (queueing behind earlier messages and a backpressure wait included). The
   * low-level kind: until the `receive()` that takes it, i.e. how far behind the handler is.
   * The clock is read per turn (`turn-clock.ts`): messages of one read share their arrival, and
   * messages handled in one turn are reported at its end, with that moment as their end.
   */
  messageHandled?(id: number, durationMs: number): void;
  /**
   * `count` messages of one read handled in the same turn, each `durationMs` after it arrived:
   * the batched form of `messageHandled`. An observer that has it is called once per batch
   * instead of once per message; one that has only `messageHandled` is called `count` times.
   */
  messagesHandled?(id: number, durationMs: number, count: number): void;
  /** A send under the `wait` backpressure policy waited `durationMs` for the client to read (until written, or released by the close). */
  sendWaited?(id: number, durationMs: number): void;
  handlerStarted?(id: number): void;
  handlerError?(id: number, error: unknown): void;
  handlerFinished?(id: number): void;
  dependencyAcquired?(id: number, name: string): void;
  dependencyReleased?(id: number, name: string, error?: unknown): void;
  connectionClosed?(id: number, outcome: ConnectionOutcome): void;
  /** A connection subscribed to a channel (reported by channel plugins), and unsubscribed. */
  subscribed?(id: number, channel: string): void;
  unsubscribed?(id: number, channel: string): void;
  /** A machine route's handler machine started for a connection (`websocketMachine`), in `state`. */
  machineStarted?(id: number, machine: AnyStateMachine, state: string): void;
  /** The handler machine moved on `event` (`from`, `to`: state names such as `ready` or `a.x | b.y`). */
  machineTransition?(id: number, from: string, event: string, to: string): void;
}

type Method = keyof ConnectionObserver;

/** The app's observers; `active` is false when there are none. */
export class ObserverHub implements Required<ConnectionObserver> {
  active = false;
  readonly #observers: ConnectionObserver[] = [];

  /** Attach an observer; returns the function that detaches it. */
  add(observer: ConnectionObserver): () => void {
    this.#observers.push(observer);
    this.active = true;
    return () => {
      const index = this.#observers.indexOf(observer);
      if (index >= 0) this.#observers.splice(index, 1);
      this.active = this.#observers.length > 0;
    };
  }

  #emit<M extends Method>(method: M, args: Parameters<Required<ConnectionObserver>[M]>): void {
    for (const observer of this.#observers) {
      const fn = observer[method] as ((...a: unknown[]) => void) | undefined;
      if (fn === undefined) continue;
      try {
        fn.apply(observer, args);
      } catch {
        // An observer must never break the connection it watches.
      }
    }
  }

  connectionStarted(info: ConnectionInfo): void {
    this.#emit("connectionStarted", [workerId === undefined ? info : { ...info, worker: workerId }]);
  }
  transition(id: number, from: ConnectionState, event: ConnectionEventType, to: ConnectionState): void {
    this.#emit("transition", [id, from, event, to]);
  }
  // Once per message when observed: a plain loop, no arguments array per call.
  messageIn(id: number, size: number, isBinary: boolean, data: Buffer): void {
    for (const observer of this.#observers) {
      if (observer.messageIn === undefined) continue;
      try {
        observer.messageIn(id, size, isBinary, data);
      } catch {
        // An observer must never break the connection it watches.
      }
    }
  }
  messageOut(id: number, size: number, isBinary: boolean, data: string | Uint8Array): void {
    for (const observer of this.#observers) {
      if (observer.messageOut === undefined) continue;
      try {
        observer.messageOut(id, size, isBinary, data);
      } catch {
        // An observer must never break the connection it watches.
      }
    }
  }
  messageDropped(id: number, size: number): void {
    this.#emit("messageDropped", [id, size]);
  }
  messageHandled(id: number, durationMs: number): void {
    for (const observer of this.#observers) {
      if (observer.messageHandled === undefined) continue;
      try {
        observer.messageHandled(id, durationMs);
      } catch {
        // An observer must never break the connection it watches.
      }
    }
  }
  messagesHandled(id: number, durationMs: number, count: number): void {
    for (const observer of this.#observers) {
      try {
        if (observer.messagesHandled !== undefined) observer.messagesHandled(id, durationMs, count);
        else if (observer.messageHandled !== undefined) for (let n = count; n > 0; n--) observer.messageHandled(id, durationMs);
      } catch {
        // An observer must never break the connection it watches.
      }
    }
  }
  sendWaited(id: number, durationMs: number): void {
    this.#emit("sendWaited", [id, durationMs]);
  }
  handlerStarted(id: number): void {
    this.#emit("handlerStarted", [id]);
  }
  handlerError(id: number, error: unknown): void {
    this.#emit("handlerError", [id, error]);
  }
  handlerFinished(id: number): void {
    this.#emit("handlerFinished", [id]);
  }
  dependencyAcquired(id: number, name: string): void {
    this.#emit("dependencyAcquired", [id, name]);
  }
  dependencyReleased(id: number, name: string, error?: unknown): void {
    this.#emit("dependencyReleased", error === undefined ? [id, name] : [id, name, error]);
  }
  connectionClosed(id: number, outcome: ConnectionOutcome): void {
    this.#emit("connectionClosed", [id, outcome]);
  }
  subscribed(id: number, channel: string): void {
    this.#emit("subscribed", [id, channel]);
  }
  unsubscribed(id: number, channel: string): void {
    this.#emit("unsubscribed", [id, channel]);
  }
  machineStarted(id: number, machine: AnyStateMachine, state: string): void {
    this.#emit("machineStarted", [id, machine, state]);
  }
  machineTransition(id: number, from: string, event: string, to: string): void {
    this.#emit("machineTransition", [id, from, event, to]);
  }
}
