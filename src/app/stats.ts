import { workerId } from "../cluster/worker-id.js";

/**
 * Counters over an app's connections, kept as plain fields the runtime bumps: what the
 * invariants ("every cleanup ran once") and a `/stats` page read.
 */
import type { Plugin, PluginHealth } from "./plugin.js";
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
  /** `down` when any plugin reports that what it depends on (e.g. Redis) is unreachable; each such plugin's own health by name. */
  readonly health: { readonly status: "up" | "down"; readonly plugins: Readonly<Record<string, PluginHealth>> };
  /** The node:cluster worker id of this process; absent outside a cluster worker. */
  readonly worker?: number;
}

function healthOf(plugins: readonly Plugin[]): StatsSnapshot["health"] {
  const reports: Record<string, PluginHealth> = {};
  let status: "up" | "down" = "up";
  for (const plugin of plugins) {
    if (plugin.health === undefined) continue;
    const health = plugin.health();
    reports[plugin.name] = health;
    if (health.status === "down") status = "down";
  }
  return { status, plugins: reports };
}

export function snapshot(stats: AppStats, open: number, plugins: readonly Plugin[] = []): StatsSnapshot {
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
    health: healthOf(plugins),
  };
  return workerId === undefined ? counters : { ...counters, worker: workerId };
}
