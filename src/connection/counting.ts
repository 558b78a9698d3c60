/**
 * Counting, in one place (docs/architecture.md §3): every message in, out, dropped or
 * discarded, every handler start, end and fault, every dependency acquired or released is
 * counted here — on the connection (what the liveness sweep reads), in the app's `AppStats`
 * (what `app.stats()` and the invariants read), and told to the observers, which is how the
 * inspector, metrics and the testing toolkit count. Shared functions, not a counter object per
 * connection: with no observer attached, a frame costs an increment and one boolean read.
 */
import { utf8Length } from "../transport/frame.js";
import type { ObserverHub } from "./observer.js";

/** Counters over an app's connections, kept as plain fields that the functions below bump. */
export class AppStats {
  /** Connections that reached the app (matched a route and were admitted). */
  started = 0;
  /** Connections that completed the handshake. */
  accepted = 0;
  /** Connections refused with an HTTP status. */
  rejected = 0;
  /** Connections that reached `closed` (cleanup ran). */
  closed = 0;
  /** Handler actors started, and those that reported they were done. */
  handlersStarted = 0;
  handlersFinished = 0;
  dependenciesAcquired = 0;
  dependenciesReleased = 0;
  /** Handler, hook and provider faults (logged errors). */
  errors = 0;
  /** Upgrades refused before a connection existed: unknown path (404), limits (503), shutdown. */
  refusedAtDoor = 0;
  /** Client messages a handler had no use for (a stream without `onMessage`). */
  messagesDiscarded = 0;
  /** Frames not sent: backpressure `drop` / `close`, or replies after the connection closed. */
  messagesDropped = 0;
}

/** What is counted of one connection. */
export interface Counted {
  readonly id: number;
  /** Messages received and sent: the liveness sweep reads them to tell idleness. */
  messagesIn: number;
  messagesOut: number;
  readonly settings: { readonly stats: AppStats; readonly observers: ObserverHub };
}

function sizeOf(data: string | Uint8Array): number {
  return typeof data === "string" ? utf8Length(data) : data.byteLength;
}

export function countIn(connection: Counted, data: Buffer, isBinary: boolean): void {
  connection.messagesIn++;
  const observers = connection.settings.observers;
  if (observers.active) observers.messageIn(connection.id, data.length, isBinary, data);
}

export function countOut(connection: Counted, data: string | Uint8Array, isBinary: boolean): void {
  connection.messagesOut++;
  const observers = connection.settings.observers;
  if (observers.active) observers.messageOut(connection.id, sizeOf(data), isBinary, data);
}

export function countDropped(connection: Counted, data: string | Uint8Array): void {
  connection.settings.stats.messagesDropped++;
  const observers = connection.settings.observers;
  if (observers.active) observers.messageDropped(connection.id, sizeOf(data));
}

export function countDiscarded(connection: Counted): void {
  connection.settings.stats.messagesDiscarded++;
}

export function countHandlerStarted(connection: Counted): void {
  connection.settings.stats.handlersStarted++;
  if (connection.settings.observers.active) connection.settings.observers.handlerStarted(connection.id);
}

export function countHandlerFinished(connection: Counted): void {
  connection.settings.stats.handlersFinished++;
  if (connection.settings.observers.active) connection.settings.observers.handlerFinished(connection.id);
}

export function countFault(connection: Counted, error: unknown): void {
  connection.settings.stats.errors++;
  if (connection.settings.observers.active) connection.settings.observers.handlerError(connection.id, error);
}

export function countDependencyAcquired(connection: Counted, name: string): void {
  connection.settings.stats.dependenciesAcquired++;
  if (connection.settings.observers.active) connection.settings.observers.dependencyAcquired(connection.id, name);
}

/** A release that failed is a fault as well (logged by the app's `dependencyEvents`). */
export function countDependencyReleased(connection: Counted, name: string, error: unknown): void {
  connection.settings.stats.dependenciesReleased++;
  if (error !== undefined) connection.settings.stats.errors++;
  if (connection.settings.observers.active) connection.settings.observers.dependencyReleased(connection.id, name, error);
}
