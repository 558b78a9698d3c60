/**
 * Plugins: capabilities that add routes and react to the app's life (channels, the inspector).
 * A plugin sees the app through a host: its observers, its counters, and its actors' inspection
 * events; it never reaches into connections.
 */
import type { Logger } from "../connection/logger.js";
import type { ConnectionObserver } from "../connection/observer.js";
import type { SocketClass } from "../connection/socket-class.js";
import type { AnySocket } from "../connection/socket.js";
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

/** `S`: the instance type of the socket class it may give the app's handlers. */
export interface Plugin<S extends AnySocket = AnySocket> {
  readonly name: string;
  /** Routes the plugin serves, added after the app's own. */
  readonly routes?: readonly Route[];
  /**
   * The socket class for the app's handlers (e.g. one with `join`/`leave`). A socket class the
   * app, a group or a route sets must extend it; two plugins with unrelated classes are an error.
   */
  readonly socketClass?: SocketClass<S>;
  /** Called once, when the app is created. */
  setup?(host: PluginHost): void;
  /** Whether what it depends on is reachable; shown in `app.stats().health` and the inspector. */
  health?(): PluginHealth;
  /** Called by `app.close()` once connections are closed and settled: release clients, timers. */
  close?(): Promise<void> | void;
}
