/**
 * `metrics()`: Prometheus exposition of an app through prom-client, as a plugin. It watches
 * connections through the app's observers and reads the app's (and channels') counters when
 * Prometheus scrapes. Per-message work is a field increment (and, for the message-handling
 * latency, a bucket search in the route's series): prom-client's labelled counters are only
 * touched once per connection event (start, handshake, close) and at scrape time.
 *
 * Imported from `statewire/metrics` only: `import "statewire"` never loads prom-client.
 */
import { performance } from "node:perf_hooks";
import { AggregatorRegistry, Counter, Gauge, Histogram, type PrometheusContentType, Registry, collectDefaultMetrics } from "prom-client";
import type { ConnectionOutcome, ConnectionState } from "../../machines/connection.js";
import { get } from "../handlers/http-route.js";
import { checkToken, presentedToken } from "../inspector/token.js";
import type { Plugin, PluginHost } from "../app/plugin.js";
import type { ChannelsStats } from "../channels/channels.js";
import type { ConnectionInfo, ConnectionObserver } from "../connection/observer.js";
import { workerId } from "../cluster/worker-id.js";
import { type HistogramSeries, RouteHistogram } from "./route-histogram.js";

export interface MetricsOptions {
  /** Where the exposition is served on the app. Default `/metrics`; `false` serves nothing (read `registry` yourself). */
  readonly path?: string | false;
  /** When set, the route answers only requests with `Authorization: Bearer <token>` (Prometheus's `authorization` scrape setting): 401 without one, 403 with a wrong one. */
  readonly token?: string;
  /** Prefix of every metric name. Default `statewire_`. */
  readonly prefix?: string;
  /** Labels added to every series, e.g. `{ service: "chat" }`. In a cluster worker `worker` (its id) is added. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Also export Node's process metrics (CPU, memory, event loop lag, GC). Default false. */
  readonly processMetrics?: boolean;
  /** Handshake latency histogram buckets, in seconds. */
  readonly handshakeBuckets?: readonly number[];
  /** Message-handling latency histogram buckets, in seconds. */
  readonly messageBuckets?: readonly number[];
  /** Backpressure wait histogram buckets, in seconds. */
  readonly backpressureBuckets?: readonly number[];
  /** Channel counters to export (`createChannels(...)`'s result or anything with its `stats()`). */
  readonly channels?: { stats(): ChannelsStats };
}

export interface MetricsPlugin extends Plugin {
  readonly name: "metrics";
  /** The prom-client registry holding this app's metrics. */
  readonly registry: Registry;
  /** The exposition text, as the route serves it. */
  render(): Promise<string>;
}

/** What the plugin keeps per live connection: where it is, when it started (for the handshake latency), its route's latency series. */
interface Live {
  readonly route: string;
  state: ConnectionState;
  readonly startedAt: number;
  readonly handling: HistogramSeries;
  readonly waits: HistogramSeries;
}

const DEFAULT_HANDSHAKE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const DEFAULT_MESSAGE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];
const DEFAULT_BACKPRESSURE_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30];
/** The close reason of a connection closed for not reading (backpressure `close`, a `wait` send timing out, a channel backlog overflowing). */
const SLOW_CONSUMER = "Slow consumer";

/** The worker id when running under node:cluster, for the `worker` label. */
export function workerLabel(): string | undefined {
  return workerId === undefined ? undefined : String(workerId);
}

/** Registries the cluster aggregator collects from, in this worker. */
const clusterRegistries: Registry[] = [];
/** Constructing one makes prom-client answer the primary's requests in this worker. */
let clusterAnswerer: AggregatorRegistry<PrometheusContentType> | undefined;

/** A plugin exporting the app's metrics for Prometheus. See `MetricsOptions`. */
export function metrics(options: MetricsOptions = {}): MetricsPlugin {
  const prefix = options.prefix ?? "statewire_";
  const registry = new Registry();
  const worker = workerLabel();
  registry.setDefaultLabels({ ...options.labels, ...(worker === undefined ? {} : { worker }) });
  if (options.processMetrics === true) collectDefaultMetrics({ register: registry, prefix });
  if (worker !== undefined) {
    // prom-client answers the primary's AggregatorRegistry from these registries.
    clusterRegistries.push(registry);
    AggregatorRegistry.setRegistries(clusterRegistries);
    clusterAnswerer ??= new AggregatorRegistry();
  }

  const live = new Map<number, Live>();
  // Per-message counters as plain fields: read at scrape time.
  const totals = { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, dropped: 0, droppedBytes: 0, handlerErrors: 0, slowConsumerCloses: 0 };
  let host: PluginHost | undefined;

  const registers = [registry];
  new Gauge({
    name: `${prefix}connections`,
    help: "Connections not yet closed, by route and lifecycle state",
    labelNames: ["route", "state"] as const,
    registers,
    collect() {
      this.reset();
      const counts = new Map<string, { route: string; state: string; n: number }>();
      for (const { route, state } of live.values()) {
        const key = `${state} ${route}`;
        const entry = counts.get(key);
        if (entry === undefined) counts.set(key, { route, state, n: 1 });
        else entry.n++;
      }
      for (const { route, state, n } of counts.values()) this.set({ route, state }, n);
    },
  });
  const handshakes = new Counter({
    name: `${prefix}handshakes_total`,
    help: "Handshakes answered, by route and outcome (accepted, or rejected with an HTTP status)",
    labelNames: ["route", "outcome", "status"] as const,
    registers,
  });
  new Counter({
    name: `${prefix}upgrades_refused_total`,
    help: "Upgrades refused before a connection existed (unknown path, limits, shutdown, malformed)",
    registers,
    collect() {
      if (host !== undefined) setCounter(this, host.stats().refusedAtDoor);
    },
  });
  const closes = new Counter({
    name: `${prefix}closes_total`,
    help: "Accepted connections closed, by route, close code and initiator (server, client, transport)",
    labelNames: ["route", "code", "initiator"] as const,
    registers,
  });
  const handshakeSeconds = new Histogram({
    name: `${prefix}handshake_duration_seconds`,
    help: "From the upgrade request reaching its route to the 101 response, in seconds",
    labelNames: ["route"] as const,
    buckets: [...(options.handshakeBuckets ?? DEFAULT_HANDSHAKE_BUCKETS)],
    registers,
  });
  const handlingSeconds = new RouteHistogram({
    name: `${prefix}message_handling_seconds`,
    help: "From a message's arrival to its handler being done with it: listeners, machines, streams' onMessage until the result is settled and the reply written; the low-level kind until the receive() that takes it",
    buckets: options.messageBuckets ?? DEFAULT_MESSAGE_BUCKETS,
    registers,
  });
  const waitSeconds = new RouteHistogram({
    name: `${prefix}backpressure_wait_seconds`,
    help: "How long sends under the wait backpressure policy waited for the client to read (until written, or released by the close)",
    buckets: options.backpressureBuckets ?? DEFAULT_BACKPRESSURE_BUCKETS,
    registers,
  });
  new Counter({
    name: `${prefix}backpressure_waits_total`,
    help: "Sends that had to wait under the wait backpressure policy (counted when the wait ends)",
    registers,
    collect() {
      setCounter(this, waitSeconds.total().count);
    },
  });
  const plain = (name: string, help: string, read: () => number): void => {
    new Counter({
      name: `${prefix}${name}`,
      help,
      registers,
      collect() {
        setCounter(this, read());
      },
    });
  };
  const directional = (name: string, help: string, inbound: () => number, outbound: () => number): void => {
    new Counter({
      name: `${prefix}${name}`,
      help,
      labelNames: ["direction"] as const,
      registers,
      collect() {
        this.reset();
        this.inc({ direction: "in" }, inbound());
        this.inc({ direction: "out" }, outbound());
      },
    });
  };
  directional("messages_total", "WebSocket messages received (in) and sent (out)", () => totals.messagesIn, () => totals.messagesOut);
  directional("message_bytes_total", "Payload bytes of WebSocket messages received (in) and sent (out)", () => totals.bytesIn, () => totals.bytesOut);
  plain("messages_dropped_total", "Frames not sent: backpressure drop/close policy, or replies after close", () => totals.dropped);
  plain("slow_consumer_closes_total", "Connections closed with 1008 Slow consumer: backpressure close policy, a wait send timing out, or a channel backlog overflowing", () => totals.slowConsumerCloses);
  plain("handler_errors_total", "Errors thrown by handlers, guards and providers (the connection closes with 1011)", () => totals.handlerErrors);
  plain("errors_total", "Every logged fault: handlers, hooks, providers, dependency releases", () => host?.stats().errors ?? 0);
  const channels = options.channels;
  if (channels !== undefined) {
    plain("channel_publishes_total", "Calls to publish / broadcast in this process", () => channels.stats().published);
    plain("channel_deliveries_total", "Channel messages offered to this process's subscribers", () => channels.stats().offered);
    plain("channel_dropped_total", "Channel messages dropped by subscribers' backlog strategies", () => channels.stats().dropped);
    plain("channel_slow_consumer_closes_total", "Connections closed (1008) because their channel backlog overflowed", () => channels.stats().disconnected);
  }

  const observer: ConnectionObserver = {
    connectionStarted(info: ConnectionInfo) {
      live.set(info.id, {
        route: info.route,
        state: "connecting",
        startedAt: performance.now(),
        handling: handlingSeconds.series(info.route),
        waits: waitSeconds.series(info.route),
      });
    },
    transition(id, _from, _event, to) {
      const entry = live.get(id);
      if (entry === undefined) return;
      if (to === "open") {
        handshakes.inc({ route: entry.route, outcome: "accepted", status: "101" });
        handshakeSeconds.observe({ route: entry.route }, (performance.now() - entry.startedAt) / 1000);
      } else if (entry.state === "connecting" && to === "closing") {
        // A close before accept completes the handshake first (lifecycle machine).
        handshakes.inc({ route: entry.route, outcome: "accepted", status: "101" });
      }
      entry.state = to;
    },
    messageIn(_id, size) {
      totals.messagesIn++;
      totals.bytesIn += size;
    },
    messageOut(_id, size) {
      totals.messagesOut++;
      totals.bytesOut += size;
    },
    messageDropped(_id, size) {
      totals.dropped++;
      totals.droppedBytes += size;
    },
    messageHandled(id, durationMs) {
      live.get(id)?.handling.observe(durationMs / 1000, 1);
    },
    messagesHandled(id, durationMs, count) {
      live.get(id)?.handling.observe(durationMs / 1000, count);
    },
    sendWaited(id, durationMs) {
      live.get(id)?.waits.observe(durationMs / 1000, 1);
    },
    handlerError() {
      totals.handlerErrors++;
    },
    connectionClosed(id, outcome: ConnectionOutcome) {
      const entry = live.get(id);
      live.delete(id);
      const route = entry?.route ?? "";
      if (outcome.rejectedStatus !== undefined) {
        handshakes.inc({ route, outcome: "rejected", status: String(outcome.rejectedStatus) });
      } else {
        closes.inc({ route, code: String(outcome.code), initiator: outcome.initiator });
        if (outcome.code === 1008 && outcome.initiator === "server" && outcome.reason === SLOW_CONSUMER) totals.slowConsumerCloses++;
      }
    },
  };

  let detach: (() => void) | undefined;
  const render = (): Promise<string> => registry.metrics();
  const plugin: MetricsPlugin = {
    name: "metrics",
    registry,
    render,
    routes:
      options.path === false
        ? []
        : [
            get(options.path ?? "/metrics", async (request) => {
              const access = checkToken(options.token, presentedToken(request.headers.get("authorization"), undefined));
              if (access !== "ok") {
                return new Response(access === 401 ? "Unauthorized" : "Forbidden", {
                  status: access,
                  headers: access === 401 ? { "WWW-Authenticate": 'Bearer realm="statewire metrics"' } : {},
                });
              }
              return new Response(await render(), { headers: { "content-type": registry.contentType } });
            }),
          ],
    setup(pluginHost) {
      if (host !== undefined) throw new Error("A metrics plugin belongs to one app: create one per app");
      host = pluginHost;
      detach = pluginHost.observe(observer);
    },
    close() {
      detach?.();
      const at = clusterRegistries.indexOf(registry);
      if (at >= 0) {
        clusterRegistries.splice(at, 1);
        AggregatorRegistry.setRegistries(clusterRegistries);
      }
    },
  };
  return plugin;
}

/** A counter whose value lives elsewhere: set it at scrape time. */
function setCounter(counter: Counter, value: number): void {
  counter.reset();
  counter.inc(value);
}
