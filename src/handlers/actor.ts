/**
 * The contract between a connection and the handler compiled for it (DESIGN.md §5).
 *
 * A handler actor receives data frames and the disconnect as typed calls on its hot path, and
 * reports back to its connection (the parent) with typed events. It never touches the
 * transport: what it sends goes through the `Socket`, which asks the connection.
 */
import type { AnySocket } from "../connection/socket.js";

/** What a handler actor tells its connection. */
export type HandlerReport =
  /** The handler's work ended; the connection closes with 1000 if it is still open. */
  | { readonly type: "handlerDone" }
  /** The handler failed; the connection decides what the error means for the wire. */
  | { readonly type: "handlerError"; readonly error: unknown };

export interface HandlerParent {
  readonly socket: AnySocket;
  /** The connection's resolved dependencies (empty when the route declares none). */
  readonly dependencies: Readonly<Record<string, unknown>>;
  report(report: HandlerReport): void;
  /** Queue an inbound message for `socket.receive()` (bounded; pauses the transport when full). */
  enqueue(data: Buffer, isBinary: boolean): void;
  /**
   * Send a frame on the handler's behalf. Resolves at once while the outbound buffer is below
   * its high-water mark, else when it drained; a frame after close is dropped (and counted).
   */
  reply(data: string | Uint8Array, isBinary: boolean): Promise<void>;
  /** Stop / resume reading from the peer while the handler is behind. */
  pauseInbound(): void;
  resumeInbound(): void;
  /** A client message the handler had no use for (a stream without `onMessage`). */
  discarded(): void;
}

/** One handler, running for one connection. */
export interface HandlerActor {
  /** A data frame, in wire order. Only called while the connection is open. */
  message(data: Buffer, isBinary: boolean): void;
  /** The connection is closing or closed; no more messages will come. Called once. */
  disconnect(code: number, reason: string): void;
}

/** A handler compiled once per route; `start` runs it for one connection. */
export interface HandlerLogic {
  /** Whether the handler reads messages with `socket.receive*()` (the low-level kind) rather than as arguments. */
  readonly readsSocket: boolean;
  start(parent: HandlerParent): HandlerActor;
}
