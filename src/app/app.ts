/**
 * `createApp`: the route table, the upgrade path, HTTP routes beside WebSocket routes, and
 * graceful shutdown.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { InspectionEvent, Observer } from "xstate";
import type { ConnectionOutcome } from "../../machines/connection.js";
import type { Plugin, PluginHost } from "./plugin.js";
import { assertCloseFrame } from "../wire/close-codes.js";
import { Connection, type ConnectionSettings } from "../connection/connection.js";
import type { BackpressurePolicy } from "../connection/outbound.js";
import { AppStats } from "../connection/counting.js";
import { composeGuards, type Guard } from "../guards/guard.js";
import { allowOrigins } from "../guards/origin.js";
import { type HeartbeatOptions, LivenessSweep } from "../limits/liveness.js";
import { createJsonLogger, type Logger } from "../connection/logger.js";
import { type Gate, Interleaving } from "../connection/interleaving.js";
import { type ConnectionObserver, ObserverHub } from "../connection/observer.js";
import { type AnySocket, Socket } from "../connection/socket.js";
import { queryOf } from "../connection/query.js";
import type { TransportConnection, TransportLimits } from "../transport/transport.js";
import { createWsUpgradeListener, type UpgradeListener } from "../transport/ws.js";
import { type HttpRoute, toResponse } from "../handlers/http-route.js";
import { connectionWrappers, messageWrappers, withRequestMiddleware } from "../handlers/middleware.js";
import { aroundConnection } from "../guards/around-connection.js";
import { withMessageMiddleware } from "../handlers/message-middleware.js";
import { answerPlain, toRequest, writeResponse } from "./node-http.js";
import { isProblem, normaliseTarget, parseRequestMeta } from "./request-meta.js";
import { parseSubprotocols } from "../transport/handshake.js";
import { guardSocket } from "../transport/edge-socket.js";
import { Router } from "./router.js";
import type { Dependencies } from "../dependencies/provide.js";
import { type LayerOptions, pickLayer } from "../handlers/layers.js";
import type { SocketClass } from "../connection/socket-class.js";
import { pluginSocketClass, refinedSocketClass } from "./socket-class.js";
import { flattenRoutes, type Route } from "./routes.js";
import { snapshot, type StatsSnapshot } from "./stats.js";

export interface AppOptions extends Omit<LayerOptions, "maxConnections" | "socketClass"> {
  readonly routes: readonly Route[];
  /** The socket class handlers receive unless a group or route sets one; it must extend a plugin's (a `SocketClassConflictError` otherwise). */
  readonly socketClass?: SocketClass;
  /** Where handler errors are reported; any pino-compatible logger. Default: JSON lines on stderr, warnings and errors only. */
  readonly logger?: Logger;
  /** Called with every error a handler throws (after it is logged); the connection closes with 1011. */
  readonly onError?: (error: unknown, socket: AnySocket) => void;
  /** Largest inbound message in bytes; larger ones close the connection with 1009. Default 1 MiB. */
  readonly maxPayload?: number;
  /** How long a peer has to answer a close frame before its transport is destroyed. Default 5 000 ms. */
  readonly closeTimeoutMs?: number;
  /** Inbound messages queued for a handler before the transport stops reading. Default 64. */
  readonly inboundHighWater?: number;
  /** Inbound bytes queued for a handler before the transport stops reading (whichever mark comes first). Default `maxPayload`. */
  readonly inboundHighWaterBytes?: number;
  /**
   * What to do when a client does not read: past `highWaterMark` (default 1 MiB) of queued
   * outbound data — bytes plus 256 per queued frame, so a flood of empty frames counts too —
   * `"wait"` (default: sends and stream pulls wait), `"drop"` the newest frames (counted), or
   * `"close"` the connection with 1008. `sendTimeoutMs` (default 30 000): a `"wait"` that sees no
   * outbound progress for that long closes the connection with 1008 `Slow consumer` and lets its
   * waiting senders go on (a room's publisher is not held by one member that stopped reading).
   */
  readonly backpressure?: { readonly highWaterMark?: number; readonly policy?: BackpressurePolicy; readonly sendTimeoutMs?: number };
  /** Ping idle peers and terminate those that do not answer (recorded as 1006). Default `{ intervalMs: 30_000, timeoutMs: 10_000 }`; `false` turns it off. */
  readonly heartbeat?: HeartbeatOptions | false;
  /** How long an upgrade may take, from its first byte until the handshake is answered; slower ones are dropped. Default 10 000 ms. */
  readonly handshakeTimeoutMs?: number;
  /** Close connections with no message either way for this long (1001 "Idle timeout"). Default: off. */
  readonly idleTimeoutMs?: number;
  /** Most open connections on the whole app; more get HTTP 503 with `Retry-After`. Default: no limit. */
  readonly maxConnections?: number;
  /** Most open connections from one client address; more get HTTP 503 with `Retry-After`. Default: no limit. */
  readonly maxConnectionsPerAddress?: number;
  /** Capabilities that add routes and hooks: channels, … */
  readonly plugins?: readonly Plugin[];
  /** Run in order before the app serves (`listen()`, or `start()` with `attach()`); one that fails makes `listen()` fail with nothing left listening. */
  readonly onStartup?: LifecycleHook | readonly LifecycleHook[];
  /** Run once, in order, by `close()` after every connection has closed and settled. */
  readonly onShutdown?: LifecycleHook | readonly LifecycleHook[];
  /** Your own xstate inspection observer (e.g. `@statelyai/inspect`'s): it receives every connection actor's events. */
  readonly inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

export interface ListenOptions {
  /** Default 0: any free port. */
  readonly port?: number;
  /** Default `127.0.0.1`. */
  readonly host?: string;
}

export interface ServerAddress {
  readonly host: string;
  readonly port: number;
  /** `http://host:port`; WebSocket clients use the same address with `ws://`. */
  readonly url: string;
}

export interface CloseOptions {
  /** Close code every open connection receives. Default 1001 (`GOING_AWAY`). */
  readonly code?: number;
  readonly reason?: string;
  /** How long connections may take to close before they are terminated. Default 10 000 ms. */
  readonly timeoutMs?: number;
}

/** An application lifecycle hook (`onStartup` / `onShutdown`). */
export type LifecycleHook = () => void | Promise<void>;

/** `listen()` or `start()` failed because an `onStartup` hook did; `cause` is its error. */
export class StartupError extends Error {
  override readonly name = "StartupError";
  /** Stable across releases: branch on it rather than on the message. */
  readonly errorCode = "SW_ERR_STARTUP" as const;
}

export interface App {
  /** Run the `onStartup` hooks (once), then start a node:http server for this app; resolves once it listens. */
  listen(options?: ListenOptions): Promise<ServerAddress>;
  /** Run the `onStartup` hooks once; `listen()` does it for you, call it yourself with `attach()`. */
  start(): Promise<void>;
  /** Serve this app's WebSocket routes on an existing server; its own HTTP handler is left alone. */
  attach(server: Server): void;
  /** A node:http request listener serving this app's HTTP routes (for use inside another server). */
  readonly requestListener: (request: IncomingMessage, response: ServerResponse) => void;
  /** Answer an HTTP request with this app's HTTP routes: 404, or 426 for a WebSocket-only path. */
  fetch(request: Request): Promise<Response>;
  /** Route one upgrade request arriving on any transport (the `ws` adapter, the memory test client). */
  handleUpgrade(transport: TransportConnection): void;
  /**
   * Graceful shutdown: stop accepting, close every connection with 1001, wait for them up to
   * `timeoutMs`, terminate the rest, and stop the servers `listen` started.
   */
  close(options?: CloseOptions): Promise<void>;
  /** The limits transports enforce at the wire for this app. */
  readonly limits: TransportLimits;
  /** Connections not yet closed. */
  readonly connectionCount: number;
  /** Counters over every connection so far: started, accepted, closed, handlers, dependencies, errors. */
  stats(): StatsSnapshot;
  /** Watch every connection's lifecycle, messages (sizes), dependencies and faults; returns the function that stops watching. */
  observe(observer: ConnectionObserver): () => void;
  /**
   * Testing: pass the runtime's own asynchronous steps (dependency providers, stream pulls,
   * async replies) through `gate`, e.g. fast-check's scheduler; `undefined` removes it.
   * `runFlows` does this for you.
   */
  interleave(gate: Gate | undefined): void;
}

const MiB = 1024 * 1024;
/** Methods `new Request` refuses (Fetch's forbidden methods). */
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

function plainResponse(status: number, body: string): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}

/** A WebSocket route as the router holds it: its settings, and its open-connection count for `maxConnections`. */
interface RouteEntry {
  readonly settings: ConnectionSettings;
  readonly count: { open: number };
  readonly max: number;
  /** The route's own `maxPayload`, when it differs from the app's. */
  readonly maxPayload: number | undefined;
}
const RESERVED_CONTEXT_KEYS = new Set(["socket", "params", "query", "signal"]);

function assertDependencyNames(dependencies: Dependencies | undefined, where: string): void {
  for (const name of Object.keys(dependencies ?? {})) {
    if (RESERVED_CONTEXT_KEYS.has(name)) {
      throw new TypeError(`${where}: a dependency cannot be named "${name}"; handler contexts already use that name`);
    }
  }
}

class StatewireApp implements App {
  readonly limits: TransportLimits;
  readonly #logger: Logger;
  readonly #wsRoutes = new Router<RouteEntry>();
  readonly #stats = new AppStats();
  readonly #observers = new ObserverHub();
  readonly #interleaving = new Interleaving();
  readonly #plugins: readonly Plugin[];
  readonly #onStartup: readonly LifecycleHook[];
  readonly #onShutdown: readonly LifecycleHook[];
  #started: Promise<void> | undefined;
  readonly #perAddress = new Map<string, number>();
  readonly #maxConnections: number;
  readonly #maxPerAddress: number;
  readonly #sweep: LivenessSweep;
  readonly #handshakeTimeoutMs: number;
  readonly #httpRoutes = new Router<HttpRoute>();
  /** Every connection from its start until it settled (closed, handler finished, dependencies released). */
  readonly #connections = new Set<Connection>();
  /** Of those, the ones not yet closed. */
  #open = 0;
  readonly #servers: Server[] = [];
  #drained: (() => void) | undefined;
  #settledAll: (() => void) | undefined;
  #upgradeListener: UpgradeListener | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: AppOptions) {
    this.#logger = options.logger ?? createJsonLogger("warn");
    this.#onStartup = hookList(options.onStartup);
    this.#onShutdown = hookList(options.onShutdown);
    this.limits = { maxPayload: options.maxPayload ?? MiB };
    const onError = options.onError ?? (() => {});
    this.#maxConnections = options.maxConnections ?? Infinity;
    this.#maxPerAddress = options.maxConnectionsPerAddress ?? Infinity;
    this.#handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
    const heartbeat = options.heartbeat ?? {};
    this.#sweep = new LivenessSweep(
      {
        heartbeat: heartbeat === false ? false : { intervalMs: heartbeat.intervalMs ?? 30_000, timeoutMs: heartbeat.timeoutMs ?? 10_000 },
        handshakeTimeoutMs: this.#handshakeTimeoutMs,
        idleTimeoutMs: options.idleTimeoutMs,
        sendTimeoutMs: options.backpressure?.sendTimeoutMs ?? 30_000,
      },
      this.#connections,
    );
    // Counting per address costs a peer-address lookup per connection: only when limited.
    const countAddresses = Number.isFinite(this.#maxPerAddress);
    const onStart = (connection: Connection): void => {
      stats.started++;
      this.#connections.add(connection);
      this.#open++;
      if (countAddresses) {
        const host = connection.client.host;
        this.#perAddress.set(host, (this.#perAddress.get(host) ?? 0) + 1);
      }
    };
    const onClosed = (connection: Connection, _outcome: ConnectionOutcome): void => {
      this.#open--;
      if (countAddresses) {
        const host = connection.client.host;
        const left = (this.#perAddress.get(host) ?? 1) - 1;
        if (left === 0) this.#perAddress.delete(host);
        else this.#perAddress.set(host, left);
      }
      if (this.#open === 0) this.#drained?.();
    };
    const onSettled = (connection: Connection): void => {
      this.#connections.delete(connection);
      if (this.#connections.size === 0) this.#settledAll?.();
    };
    const stats = this.#stats;
    // Counted in connection/counting.ts; the app only logs.
    const dependencyEvents = {
      acquired: () => {},
      released: (name: string, error?: unknown) => {
        if (error !== undefined) this.#logger.error({ err: error, dependency: name }, "releasing a dependency failed");
      },
    };
    assertDependencyNames(options.dependencies, "The app");
    const plugins = [...(options.plugins ?? [])];
    this.#plugins = plugins;
    const inspect = inspectCallback(options.inspect);
    const appLayer = pickLayer(options);
    const pluginSocket = pluginSocketClass(plugins);
    const rootSocket = refinedSocketClass(appLayer.socketClass, pluginSocket, "The app's socketClass");
    const rootLayer: LayerOptions = rootSocket === undefined ? appLayer : { ...appLayer, socketClass: rootSocket };
    const routes = [...options.routes, ...plugins.flatMap((plugin) => plugin.routes ?? [])];
    for (const { path, route, layers } of flattenRoutes(routes, rootLayer)) {
      const middleware = layers.middleware ?? [];
      if (route.kind === "http") {
        this.#httpRoutes.add(route.method, path, withRequestMiddleware(route, middleware));
        continue;
      }
      const SocketType = refinedSocketClass(layers.socketClass, pluginSocket, `Route ${path}: its socketClass`) ?? Socket;
      const guards: Guard[] = [
        ...(layers.allowedOrigins === undefined ? [] : [allowOrigins(layers.allowedOrigins)]),
        ...connectionWrappers(middleware).map((wrapper) => aroundConnection(wrapper)),
        ...(layers.guards ?? []),
      ];
      const count = { open: 0 };
      const routeDependencies = layers.dependencies;
      assertDependencyNames(routeDependencies, `Route ${path}`);
      const settings: ConnectionSettings = {
        routePath: path,
        logic: withMessageMiddleware(route.logic, messageWrappers(middleware)),
        logger: this.#logger,
        closeTimeoutMs: options.closeTimeoutMs ?? 5000,
        inboundHighWater: options.inboundHighWater ?? 64,
        inboundHighWaterBytes: options.inboundHighWaterBytes ?? this.limits.maxPayload,
        outboundHighWater: options.backpressure?.highWaterMark ?? MiB,
        sendTimeoutMs: options.backpressure?.sendTimeoutMs ?? 30_000,
        backpressure: options.backpressure?.policy ?? "wait",
        guards: guards.length === 0 ? undefined : composeGuards(guards),
        messageRate: layers.messageRate,
        compression: layers.perMessageDeflate === true ? {} : (layers.perMessageDeflate ?? false),
        dependencies: routeDependencies === undefined || Object.keys(routeDependencies).length === 0 ? undefined : routeDependencies,
        dependencyEvents,
        createSocket: (runtime, params) => new SocketType(runtime, params as never),
        onError,
        onStart: (connection) => {
          count.open++;
          onStart(connection);
        },
        onClosed: (connection, outcome) => {
          count.open--;
          onClosed(connection, outcome);
        },
        onSettled,
        inspect,
        stats,
        observers: this.#observers,
        interleaving: this.#interleaving,
      };
      const maxPayload = layers.maxPayload ?? this.limits.maxPayload;
      if (!Number.isSafeInteger(maxPayload) || maxPayload < 1) throw new RangeError(`Route ${path}: maxPayload is a positive whole number of bytes: got ${String(maxPayload)}`);
      this.#wsRoutes.add("GET", path, { settings, count, max: layers.maxConnections ?? Infinity, maxPayload: maxPayload === this.limits.maxPayload ? undefined : maxPayload });
    }
  }

  get connectionCount(): number {
    return this.#open;
  }

  /** @internal Give each plugin its host; once, from `createApp`. */
  setUpPlugins(): void {
    const host: PluginHost = {
      observe: (observer) => this.observe(observer),
      subscribed: (id, channel) => {
        if (this.#observers.active) this.#observers.subscribed(id, channel);
      },
      unsubscribed: (id, channel) => {
        if (this.#observers.active) this.#observers.unsubscribed(id, channel);
      },
      stats: () => this.stats(),
      logger: this.#logger,
    };
    for (const plugin of this.#plugins) plugin.setup?.(host);
  }

  interleave(gate: Gate | undefined): void {
    this.#interleaving.gate = gate;
  }

  observe(observer: ConnectionObserver): () => void {
    return this.#observers.add(observer);
  }

  stats(): StatsSnapshot {
    return snapshot(this.#stats, this.#open, this.#plugins);
  }

  handleUpgrade(transport: TransportConnection): void {
    if (this.#closing !== undefined) {
      this.#stats.refusedAtDoor++;
      transport.deny({ status: 503, headers: { "Retry-After": "5" }, body: "Server shutting down" });
      return;
    }
    const request = transport.request;
    const meta = parseRequestMeta(request.url, request.headers.host);
    if (isProblem(meta)) {
      this.#stats.refusedAtDoor++;
      transport.deny({ status: 400, headers: {}, body: meta.problem });
      return;
    }
    const subprotocols = parseSubprotocols(request.headers["sec-websocket-protocol"]);
    if (subprotocols === undefined) {
      this.#stats.refusedAtDoor++;
      transport.deny({ status: 400, headers: {}, body: "Invalid Sec-WebSocket-Protocol header" });
      return;
    }
    const match = this.#wsRoutes.find("GET", meta.target);
    if (match === undefined) {
      this.#stats.refusedAtDoor++;
      transport.deny({ status: 404, headers: {}, body: "Not Found" });
      return;
    }
    const route = match.value;
    if (
      this.#open >= this.#maxConnections ||
      route.count.open >= route.max ||
      (Number.isFinite(this.#maxPerAddress) && (this.#perAddress.get(transport.request.remoteAddress) ?? 0) >= this.#maxPerAddress)
    ) {
      this.#stats.refusedAtDoor++;
      transport.deny({ status: 503, headers: { "Retry-After": "5" }, body: "Too many connections" });
      return;
    }
    if (route.maxPayload !== undefined) transport.limitPayload?.(route.maxPayload);
    new Connection(transport, route.settings, match.params, { target: meta.target, host: meta.host, subprotocols });
  }

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const target = normaliseTarget(url.pathname + url.search);
    if (target === undefined) return plainResponse(400, "Invalid request target");
    return this.#serve(request, target);
  }

  /** Answer `request`, routed by its already normalised `target`. */
  async #serve(request: Request, target: string): Promise<Response> {
    // HEAD is answered by the GET route where there is no HEAD route of its own (RFC 9110 §9.3.2).
    const isHead = request.method === "HEAD";
    const match = this.#httpRoutes.find(request.method, target) ?? (isHead ? this.#httpRoutes.find("GET", target) : undefined);
    if (match === undefined) {
      const allowed = this.#httpRoutes.methodsFor(target);
      if (allowed.length > 0) {
        if (allowed.includes("GET") && !allowed.includes("HEAD")) allowed.push("HEAD");
        return new Response("Method Not Allowed", {
          status: 405,
          headers: { allow: allowed.join(", "), "content-type": "text/plain; charset=utf-8" },
        });
      }
      if ((request.method === "GET" || isHead) && this.#wsRoutes.find("GET", target) !== undefined) {
        return new Response("Upgrade Required: this path speaks WebSocket", {
          status: 426,
          headers: { upgrade: "websocket", connection: "Upgrade", "content-type": "text/plain; charset=utf-8" },
        });
      }
      return new Response("Not Found", { status: 404, headers: { "content-type": "text/plain; charset=utf-8" } });
    }
    const query = queryOf(target);
    try {
      const response = toResponse(await match.value.handler(request, { params: match.params, query }));
      return isHead && match.value.method !== "HEAD" ? new Response(null, { status: response.status, statusText: response.statusText, headers: response.headers }) : response;
    } catch (error) {
      this.#logger.error({ err: error, route: match.value.path, method: request.method }, "HTTP handler failed");
      return new Response("Internal Server Error", { status: 500 });
    }
  }

  readonly requestListener = (request: IncomingMessage, response: ServerResponse): void => {
    guardSocket(request.socket);
    // What the client says about its request is parsed here, once; what does not parse is a 400, never an exception.
    const meta = parseRequestMeta(request.url, request.headers.host);
    if (isProblem(meta)) return answerPlain(response, 400, meta.problem);
    const method = request.method ?? "GET";
    // The web platform's Request refuses these methods; no route can be written for them.
    if (FORBIDDEN_METHODS.has(method)) return answerPlain(response, 405, "Method Not Allowed");
    let webRequest: Request;
    try {
      webRequest = toRequest(request, meta);
    } catch {
      return answerPlain(response, 400, "Bad Request");
    }
    this.#serve(webRequest, meta.target)
      .then((answer) => writeResponse(response, answer))
      .catch((error: unknown) => {
        this.#logger.error({ err: error, url: request.url }, "Could not answer HTTP request");
        if (!response.headersSent) response.writeHead(500);
        response.end();
      });
  };

  #upgrades(): UpgradeListener {
    return (this.#upgradeListener ??= createWsUpgradeListener(
      this.limits,
      (transport) => this.handleUpgrade(transport),
      this.#handshakeTimeoutMs,
    ));
  }

  attach(server: Server): void {
    server.on("upgrade", this.#upgrades());
  }

  start(): Promise<void> {
    return (this.#started ??= this.#runStartup());
  }

  async #runStartup(): Promise<void> {
    for (const [index, hook] of this.#onStartup.entries()) {
      try {
        await hook();
      } catch (error) {
        const name = hook.name === "" ? `#${index + 1}` : `"${hook.name}"`;
        throw new StartupError(`onStartup hook ${name} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    }
  }

  async listen(options: ListenOptions = {}): Promise<ServerAddress> {
    if (this.#closing !== undefined) throw new Error("Cannot listen: the app is closing");
    await this.start();
    // Upgrade requests are HTTP requests until answered: a client that dribbles its headers
    // (slowloris) is dropped after the handshake timeout, checked often enough to matter.
    const server = createServer(
      {
        headersTimeout: this.#handshakeTimeoutMs,
        requestTimeout: Math.max(this.#handshakeTimeoutMs, 30_000),
        connectionsCheckingInterval: Math.min(1000, Math.max(50, this.#handshakeTimeoutMs / 4)),
      },
      this.requestListener,
    );
    this.attach(server);
    const host = options.host ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.#servers.push(server);
    const address = server.address() as AddressInfo;
    const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
    return { host: address.address, port: address.port, url: `http://${shownHost}:${address.port}` };
  }

  close(options: CloseOptions = {}): Promise<void> {
    const { code = 1001, reason = "", timeoutMs = 10_000 } = options;
    assertCloseFrame(code, reason);
    return (this.#closing ??= this.#shutDown(code, reason, timeoutMs));
  }

  async #shutDown(code: number, reason: string, timeoutMs: number): Promise<void> {
    this.#sweep.stop();
    const serversClosed = this.#servers.map(
      (server) => new Promise<void>((resolve) => server.close(() => resolve())),
    );
    for (const server of this.#servers) server.closeIdleConnections();
    for (const connection of [...this.#connections]) {
      if (connection.lifecycle === "connecting" || connection.lifecycle === "open") connection.close(code, reason);
    }
    const deadline = Date.now() + timeoutMs;
    if (!(await this.#waitForDrain(timeoutMs))) {
      for (const connection of [...this.#connections]) if (connection.lifecycle === "closing") connection.terminate();
      await this.#waitForDrain(1000);
    }
    // Closed is not done: onDisconnect hooks and dependency cleanup may still be running, and
    // a process that exits when close() resolves must not cut them short.
    await this.#waitForSettled(Math.max(deadline - Date.now(), 1000));
    // Shutdown hooks run once, and only for an app that started.
    if (this.#started !== undefined && (await this.#started.then(() => true, () => false))) {
      for (const hook of this.#onShutdown) {
        try {
          await hook();
        } catch (error) {
          this.#logger.error({ err: error }, "onShutdown hook failed");
        }
      }
    }
    for (const plugin of this.#plugins) {
      try {
        await plugin.close?.();
      } catch (error) {
        this.#logger.error({ err: error, plugin: plugin.name }, "plugin close failed");
      }
    }
    for (const server of this.#servers) server.closeAllConnections();
    await Promise.all(serversClosed);
  }

  #waitForSettled(timeoutMs: number): Promise<void> {
    if (this.#connections.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#settledAll = () => {
        this.#settledAll = undefined;
        done();
      };
    });
  }

  /** Resolves true once no connection is left, false after `timeoutMs`. */
  #waitForDrain(timeoutMs: number): Promise<boolean> {
    if (this.#open === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#drained = undefined;
        resolve(false);
      }, timeoutMs);
      this.#drained = () => {
        clearTimeout(timer);
        this.#drained = undefined;
        resolve(true);
      };
    });
  }
}

/** Create an app from its routes. */
export function createApp(options: AppOptions): App {
  const app = new StatewireApp(options);
  app.setUpPlugins();
  return app;
}

function hookList(hooks: LifecycleHook | readonly LifecycleHook[] | undefined): readonly LifecycleHook[] {
  return hooks === undefined ? [] : typeof hooks === "function" ? [hooks] : hooks;
}

/** The inspect callback for the connection actors, or undefined (then none is attached at all). */
function inspectCallback(
  own: Observer<InspectionEvent> | ((event: InspectionEvent) => void) | undefined,
): ((event: InspectionEvent) => void) | undefined {
  if (typeof own === "function" || own === undefined) return own;
  return (event) => own.next?.(event);
}
