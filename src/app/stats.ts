/**
 * `app.stats()`: a copy of the app's counters (`connection/counting.ts: AppStats`, bumped in
 * one place), with what the plugins say of their health: what the invariants ("every cleanup
 * ran once") and a `/stats` page read.
 */
import { workerId } from "../cluster/worker-id.js";
import type { AppStats } from "../connection/counting.js";

/** What a plugin that depends on something outside the process says about it (`app.stats().health`). */
export interface PluginHealth {
  readonly status: "up" | "down";
  /** `Date.now()` when the status last changed. */
  readonly since?: number;
  /** What it depends on, e.g. the channels backend's kind. */
  readonly backend?: string;
  /** Why it is down. */
  readonly error?: string;
}

/** What `app.stats()` asks of each plugin (`Plugin` has it). */
export interface HealthReporter {
  readonly name: string;
  health?(): PluginHealth;
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

function healthOf(plugins: readonly HealthReporter[]): StatsSnapshot["health"] {
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

export function snapshot(stats: AppStats, open: number, plugins: readonly HealthReporter[] = []): StatsSnapshot {
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
