import { workerId } from "../cluster/worker-id.js";

/**
 * Counters over an app's connections, kept as plain fields the runtime bumps: what the
 * invariants ("every cleanup ran once") and a `/stats` page read.
 */
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

/** A copy of the counters, with the connections open right now. */
export interface StatsSnapshot {
  readonly open: number;
  readonly started: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly closed: number;
  readonly handlers: { readonly started: number; readonly finished: number };
  readonly dependencies: { readonly acquired: number; readonly released: number };
  readonly errors: number;
  readonly refusedAtDoor: number;
  readonly messages: { readonly discarded: number; readonly dropped: number };
  /** The node:cluster worker id of this process; absent outside a cluster worker. */
  readonly worker?: number;
}

export function snapshot(stats: AppStats, open: number): StatsSnapshot {
  const counters: StatsSnapshot = {
    open,
    started: stats.started,
    accepted: stats.accepted,
    rejected: stats.rejected,
    closed: stats.closed,
    handlers: { started: stats.handlersStarted, finished: stats.handlersFinished },
    dependencies: { acquired: stats.dependenciesAcquired, released: stats.dependenciesReleased },
    errors: stats.errors,
    refusedAtDoor: stats.refusedAtDoor,
    messages: { discarded: stats.messagesDiscarded, dropped: stats.messagesDropped },
  };
  return workerId === undefined ? counters : { ...counters, worker: workerId };
}
