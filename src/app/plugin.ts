/**
 * Plugins: capabilities that add routes and react to the app's life (channels, the inspector).
 * A plugin sees the app through a host: its observers, its counters, and its actors' inspection
 * events; it never reaches into connections.
 */
import type { Logger } from "../connection/logger.js";
import type { ConnectionObserver } from "../connection/observer.js";
import type { SocketClass } from "../handlers/layers.js";
import type { Route } from "./routes.js";
import type { PluginHealth, StatsSnapshot } from "./stats.js";

export interface PluginHost {
  /** Watch every connection (start, transitions, messages, dependencies, close). */
  observe(observer: ConnectionObserver): () => void;
  /** Report a connection's channel subscriptions to the app's observers (the invariants check they end once). */
  subscribed(connectionId: number, channel: string): void;
  unsubscribed(connectionId: number, channel: string): void;
  stats(): StatsSnapshot;
  /** The app's logger: where a plugin reports its own faults (a backend that went down). */
  readonly logger: Logger;
}

export interface Plugin {
  readonly name: string;
  /** Routes the plugin serves, added after the app's own. */
  readonly routes?: readonly Route[];
  /** The socket class for the app's handlers when the app sets none (e.g. one with `join`/`leave`). */
  readonly socketClass?: SocketClass;
  /** Called once, when the app is created. */
  setup?(host: PluginHost): void;
  /** Whether what it depends on is reachable; shown in `app.stats().health` and the inspector. */
  health?(): PluginHealth;
  /** Called by `app.close()` once connections are closed and settled: release clients, timers. */
  close?(): Promise<void> | void;
}
