/**
 * The contract between a connection and the handler compiled for it (docs/architecture.md §6),
 * owned by the connection that consumes it; each handler kind implements it.
 *
 * A handler run receives data frames and the disconnect as typed calls on its hot path, and
 * reports back to its connection (the parent) with typed events. It never touches the
 * transport: what it sends goes through the `Socket`, which asks the connection.
 */
import type { ReceiveKind } from "../codec/message-codec.js";
import type { InboundBound } from "./inbound-queue.js";
import type { ObserverHub } from "./observer.js";
import type { AnySocket } from "./socket.js";

/** What a handler run may ask of its connection. `pause()` / `resume()`: stop and resume reading from the peer while the handler is behind. */
export interface HandlerParent extends InboundBound {
  /** The connection's id, as observers know it. */
  readonly id: number;
  readonly socket: AnySocket;
  /** The app's observers: a handler kind with more to tell than the lifecycle (a machine's own transitions) reports here. */
  readonly observers: ObserverHub;
  /** The connection's resolved dependencies (empty when the route declares none). */
  readonly dependencies: Readonly<Record<string, unknown>>;
  /**
   * The handler failed: the connection decides what the error means on the wire (1011, or the
   * close code / HTTP status it names). Not final: the actor still calls `finished()`.
   */
  fail(error: unknown): void;
  /**
   * The handler is done with the connection, for good: it closes with 1000 if still open (403
   * before accept), and its dependencies may now be released. Called once, last.
   */
  finished(): void;
  /** Queue an inbound message for `socket.receive()` (bounded; pauses the transport when full). */
  enqueue(data: Buffer, isBinary: boolean): void;
  /**
   * Send a frame on the handler's behalf. Returns `undefined` when the frame was written and the
   * outbound buffer is below its high-water mark, else a promise that settles once it drained.
   * A frame after close is dropped (and counted).
   */
  reply(data: string | Uint8Array, isBinary: boolean): Promise<void> | undefined;
  /** A client message the handler had no use for (a stream without `onMessage`). */
  discarded(): void;
  /** Testing hook: a promise to await before an asynchronous step (see `Interleaving`), or undefined. */
  interleave(label: string): Promise<void> | undefined;
}

/** One handler, running for one connection. */
export interface HandlerRun {
  /** A data frame, in wire order. Only called while the connection is open. */
  message(data: Buffer, isBinary: boolean): void;
  /** The connection is closing or closed; no more messages will come. Called once. */
  disconnect(code: number, reason: string): void;
}

/** A handler compiled once per route; `start` runs it for one connection. */
export interface HandlerLogic {
  /** Whether the handler reads messages with `socket.receive*()` (the low-level kind) rather than as arguments. */
  readonly readsSocket: boolean;
  /** What the handler receives (listeners, machines): the testing toolkit generates flows from it. */
  readonly receive?: ReceiveKind;
  start(parent: HandlerParent): HandlerRun;
}
