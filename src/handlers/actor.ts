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
  report(report: HandlerReport): void;
  /** Queue an inbound message for `socket.receive()` (bounded; pauses the transport when full). */
  enqueue(data: Buffer, isBinary: boolean): void;
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
  start(parent: HandlerParent): HandlerActor;
}
