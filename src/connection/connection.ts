/**
 * One connection at run time: its lifecycle actor, its transport and its handler actor, and the
 * events between them. Lifecycle events go through the statechart; data frames go straight
 * from the transport to the handler actor (docs/architecture.md §3, §5).
 */
import { STATUS_CODES, validateHeaderName, validateHeaderValue } from "node:http";
import type { InspectionEvent } from "xstate";
import type { ConnectionEvent, ConnectionOutcome, ConnectionState } from "../../machines/connection.js";
import type { AppStats } from "../app/stats.js";
import type { Dependencies } from "../dependencies/provide.js";
import { type DependencyEvents, DependencyScope } from "../dependencies/scope.js";
import type { HandlerActor, HandlerLogic, HandlerParent } from "../handlers/actor.js";
import type { AcceptOptions, DeflateOptions, DenialResponse, TransportConnection, TransportListener } from "../transport/transport.js";
import { assertCloseFrame, isValidCloseCode, truncateReason } from "./close-codes.js";
import { SocketClosedError, SocketStateError, WebSocketDisconnect, statusOf } from "./errors.js";
import { type Lifecycle, type LifecycleEffects, startLifecycle } from "./lifecycle.js";
import { LivenessRecord, type Watched } from "../limits/liveness.js";
import { FRAME_COST } from "../limits/budget.js";
import { type MessageRate, TokenBucket } from "../limits/token-bucket.js";
import type { Logger } from "./logger.js";
import type { Interleaving } from "./interleaving.js";
import type { ObserverHub } from "./observer.js";
import { type InboundMessage, Mailbox, type ReceiveOptions } from "./mailbox.js";
import { type AcceptInit, type ClientAddress, handledRejection, type RejectInit, Socket, type SocketRuntime, type AnySocket } from "./socket.js";

/** Settings shared by every connection of one route; built once per route. */
export type BackpressurePolicy = "wait" | "drop" | "close";

export interface ConnectionSettings {
  readonly routePath: string;
  readonly logic: HandlerLogic;
  readonly logger: Logger;
  /** How long the peer has to answer our close frame before the transport is destroyed. */
  readonly closeTimeoutMs: number;
  /** Queued inbound messages at which the transport is paused. */
  readonly inboundHighWater: number;
  /** Inbound bytes queued at which the transport is paused (whichever of the two marks comes first). */
  readonly inboundHighWaterBytes: number;
  /** Outbound cost (bytes plus `FRAME_COST` per queued frame) at which the backpressure policy applies. */
  readonly outboundHighWater: number;
  /** How long a `"wait"` send may go without outbound progress before the connection closes (1008). */
  readonly sendTimeoutMs: number;
  /** At the high-water mark: `wait` for the client to read, `drop` the newest frame (counted), or `close` (1008). */
  readonly backpressure: BackpressurePolicy;
  /** The route's guards, composed; undefined when none. */
  readonly guards: ((socket: AnySocket) => Promise<void>) | undefined;
  readonly messageRate: MessageRate | undefined;
  /** permessage-deflate offered at accept, or false. */
  readonly compression: DeflateOptions | false;
  /** The route's dependencies, its layers merged (nearest wins); undefined when none. */
  readonly dependencies: Dependencies | undefined;
  readonly dependencyEvents: DependencyEvents;
  /** Builds the socket a handler sees (a route may use a `Socket` subclass). */
  readonly createSocket: (runtime: SocketRuntime, params: object) => AnySocket;
  readonly onError: (error: unknown, socket: AnySocket) => void;
  readonly onStart: (connection: Connection) => void;
  readonly onClosed: (connection: Connection, outcome: ConnectionOutcome) => void;
  /** Once, after close: the handler finished (or was given up on) and dependencies are released. */
  readonly onSettled: (connection: Connection) => void;
  readonly inspect: ((event: InspectionEvent) => void) | undefined;
  readonly stats: AppStats;
  readonly observers: ObserverHub;
  readonly interleaving: Interleaving;
}

const RESOLVED = Promise.resolve();
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
const NO_DEPENDENCIES: Readonly<Record<string, unknown>> = Object.freeze({});

/** The close code an error names (`closeCode`, valid on the wire), e.g. `WebSocketError` or `MessageError`. */
function closeCodeOf(error: unknown): { code: number; reason: string } | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { closeCode, reason } = error as { closeCode?: unknown; reason?: unknown };
  if (typeof closeCode !== "number" || !isValidCloseCode(closeCode)) return undefined;
  return { code: closeCode, reason: typeof reason === "string" ? truncateReason(reason) : "" };
}

let nextId = 1;

/** What the edge parsed of the upgrade request, once, before routing. */
export interface ParsedUpgrade {
  /** The normalised path and query the route matched. */
  readonly target: string;
  /** The `Host` header, a valid URL authority (`localhost` when absent). */
  readonly host: string;
  /** The subprotocols the client offered, in its order of preference. */
  readonly subprotocols: readonly string[];
}

const PAUSED_BY_QUEUE = 1;
const PAUSED_BY_OUTBOUND = 2;

export class Connection implements TransportListener, SocketRuntime, HandlerParent, LifecycleEffects, Watched {
  readonly id = nextId++;
  readonly startedAt = Date.now();
  readonly liveness = new LivenessRecord();
  readonly socket: AnySocket;
  readonly settings: ConnectionSettings;
  lifecycle: ConnectionState = "connecting";
  messagesIn = 0;
  messagesOut = 0;
  messagesDropped = 0;
  messagesDiscarded = 0;
  dependencies: Readonly<Record<string, unknown>> = NO_DEPENDENCIES;
  readonly #transport: TransportConnection;
  readonly #request: ParsedUpgrade;
  readonly #actor: Lifecycle;
  #handler: HandlerActor | undefined;
  #acceptOptions: AcceptOptions | undefined;
  #denial: DenialResponse | undefined;
  #mailbox: Mailbox | undefined;
  /** How the connection ended for the handler; an error object only when a signal's reason needs one. */
  #disconnect: { readonly code: number; readonly reason: string } | undefined;
  #abort: AbortController | undefined;
  #outcome: ConnectionOutcome | undefined;
  #closedWaiters: ((outcome: ConnectionOutcome) => void)[] | undefined;
  #closeTimer: NodeJS.Timeout | undefined;
  #scope: DependencyScope | undefined;
  #handlerRunning = false;
  #released = false;
  #bucket: TokenBucket | undefined;
  /** Why we stopped reading from the peer: the handler is behind (`PAUSED_BY_QUEUE`), or its own sends wait (`PAUSED_BY_OUTBOUND`). */
  #pausedBy = 0;
  /** Resolvers of `"wait"` sends not yet written, oldest first; created on the first wait. */
  #waiters: (() => void)[] | undefined;
  /** When the oldest waiting send last saw progress (see `Watched.waitingSince`); 0 when none waits. */
  waitingSince = 0;

  constructor(transport: TransportConnection, settings: ConnectionSettings, params: object, request: ParsedUpgrade) {
    this.#transport = transport;
    this.#request = request;
    this.settings = settings;
    this.socket = settings.createSocket(this, params);
    transport.listen(this);
    this.#actor = startLifecycle(this, settings.inspect);
    settings.onStart(this);
    if (settings.observers.active) {
      settings.observers.connectionStarted({
        id: this.id,
        route: settings.routePath,
        url: transport.request.url,
        client: this.client,
        startedAt: this.startedAt,
      });
    }
    if (settings.guards === undefined && settings.dependencies === undefined) this.#startHandler();
    else this.#admit().catch((error: unknown) => this.#admissionFailed(error));
  }

  /** Before the handler: guards, then dependencies. A refusal answers the handshake. */
  async #admit(): Promise<void> {
    const { guards, dependencies } = this.settings;
    if (guards !== undefined) {
      try {
        await guards(this.socket);
      } catch (error) {
        if (this.lifecycle === "connecting") this.#refuse(error, "guard failed");
        return;
      }
      // A guard may have answered the handshake itself, or the client left meanwhile.
      if (this.lifecycle !== "connecting") return;
    }
    if (dependencies === undefined) this.#startHandler();
    else this.#resolveDependencies(dependencies);
  }

  /** A fault of the runtime itself while admitting: fail this connection, never the process. */
  #admissionFailed(error: unknown): void {
    if (this.lifecycle === "connecting") this.#refuse(error, "admitting the connection failed");
    else this.#reportFault(error, "admitting the connection failed");
  }

  #resolveDependencies(dependencies: Dependencies): void {
    const socket = this.socket;
    const { dependencyEvents, observers } = this.settings;
    const scope = new DependencyScope(
      dependencies,
      { params: socket.params as Record<string, string | undefined>, query: socket.query as Readonly<Record<string, string>>, headers: socket.headers, cookies: socket.cookies, client: this.client, socket },
      {
        acquired: (name) => {
          dependencyEvents.acquired(name);
          if (observers.active) observers.dependencyAcquired(this.id, name);
        },
        released: (name, error) => {
          dependencyEvents.released(name, error);
          if (observers.active) observers.dependencyReleased(this.id, name, error);
        },
      },
      this.settings.interleaving,
    );
    this.#scope = scope;
    scope.resolveAll().then(
      (resolved) => {
        this.dependencies = resolved;
        // The client may have left while providers ran; the scope is released at close.
        if (this.lifecycle === "connecting") this.#startHandler();
      },
      (error: unknown) => {
        if (this.lifecycle === "connecting") this.#refuse(error, "dependency provider failed");
      },
    );
  }

  #startHandler(): void {
    this.#handlerRunning = true;
    this.settings.stats.handlersStarted++;
    if (this.settings.observers.active) this.settings.observers.handlerStarted(this.id);
    const handler = this.settings.logic.start(this);
    this.#handler = handler;
    // The handler may have closed the connection before its first await.
    if (this.#disconnect !== undefined) handler.disconnect(this.#disconnect.code, this.#disconnect.reason);
  }

  /**
   * Answer an error raised before accept: the close code or HTTP status it names, else it is a
   * fault of the app's code (handler, guard or provider): logged, and answered 500 by the machine.
   */
  #refuse(error: unknown, what: string): void {
    const close = closeCodeOf(error);
    if (close !== undefined) {
      this.#dispatch({ type: "close", code: close.code, reason: close.reason });
      return;
    }
    const status = statusOf(error);
    if (status === undefined) {
      // A fault, not a decision: the machine answers it (500).
      this.#reportFault(error, what);
      this.#dispatch({ type: "handlerError" });
      return;
    }
    const { headers, body } = error as { headers?: unknown; body?: unknown };
    this.#denial = {
      status,
      headers: typeof headers === "object" && headers !== null ? (headers as Record<string, string>) : NO_HEADERS,
      body: typeof body === "string" && body !== "" ? body : (STATUS_CODES[status] ?? ""),
    };
    this.#dispatch({ type: "reject", status });
  }

  #reportFault(error: unknown, what: string): void {
    this.settings.stats.errors++;
    if (this.settings.observers.active) this.settings.observers.handlerError(this.id, error);
    this.settings.logger.error(
      { err: error, route: this.settings.routePath, connection: this.id, lifecycle: this.lifecycle },
      what,
    );
    try {
      this.settings.onError(error, this.socket);
    } catch (hookError) {
      this.settings.logger.error({ err: hookError, connection: this.id }, "onError hook failed");
    }
  }

  get outcome(): ConnectionOutcome | undefined {
    return this.#outcome;
  }

  #dispatch(event: ConnectionEvent): void {
    // `closed` is final: later events (a late handler end, the transport's last word) change nothing.
    if (this.lifecycle === "closed") return;
    const from = this.lifecycle;
    this.#actor.send(event);
    this.lifecycle = this.#actor.value;
    const observers = this.settings.observers;
    if (observers.active && this.lifecycle !== from) observers.transition(this.id, from, event.type, this.lifecycle);
  }

  // ---- transport → connection ---------------------------------------------------------------

  onMessage(data: Buffer, isBinary: boolean): void {
    if (this.lifecycle !== "open") return;
    this.messagesIn++;
    if (this.settings.observers.active) this.settings.observers.messageIn(this.id, data.length, isBinary, data);
    const rate = this.settings.messageRate;
    if (rate !== undefined) {
      const now = Date.now();
      this.#bucket ??= new TokenBucket(rate, now);
      if (!this.#bucket.take(now)) {
        this.#dispatch({ type: "close", code: 1008, reason: "Message rate exceeded" });
        return;
      }
    }
    this.#handler?.message(data, isBinary);
  }

  onPeerClose(code: number, reason: string): void {
    this.#dispatch({ type: "peerClose", code, reason });
  }

  onProtocolError(code: number, reason: string): void {
    this.#dispatch({ type: "protocolError", code, reason });
  }

  onClosed(code: number, reason: string, wasClean: boolean): void {
    this.#dispatch({ type: "transportClosed", code, reason, wasClean });
  }

  onPong(data: Buffer): void {
    this.liveness.pong(data);
  }

  // ---- liveness sweep → connection ------------------------------------------------------------

  ping(data: Buffer): void {
    this.#transport.ping(data);
  }

  get outboundBacklogged(): boolean {
    return this.#transport.queuedFrames > 0;
  }

  /** Paused because the handler is behind: not the peer's doing (see `Watched.inboundPaused`). */
  get inboundPaused(): boolean {
    return (this.#pausedBy & PAUSED_BY_QUEUE) !== 0;
  }

  /**
   * A `"wait"` send made no progress for `sendTimeoutMs`: the client is not reading. Its waiting
   * senders go on (a room's publisher is not held by one silent member) and it is closed.
   */
  sendTimedOut(): void {
    this.#releaseWaiters();
    this.#dispatch({ type: "close", code: 1008, reason: "Slow consumer" });
  }

  #releaseWaiters(): void {
    const waiters = this.#waiters;
    this.waitingSince = 0;
    if (waiters === undefined || waiters.length === 0) return;
    this.#waiters = [];
    this.#resumeFor(PAUSED_BY_OUTBOUND);
    for (const resolve of waiters) resolve();
  }

  handshakeTimedOut(): void {
    this.#dispatch({ type: "handshakeTimeout" });
  }

  heartbeatTimedOut(): void {
    this.#dispatch({ type: "heartbeatTimeout" });
  }

  idleTimedOut(): void {
    this.#dispatch({ type: "close", code: 1001, reason: "Idle timeout" });
  }

  // ---- handler → connection -----------------------------------------------------------------

  interleave(label: string): Promise<void> | undefined {
    return this.settings.interleaving.pass(label);
  }

  get observers(): ObserverHub {
    return this.settings.observers;
  }

  get inboundHighWater(): number {
    return this.settings.inboundHighWater;
  }

  get inboundHighWaterBytes(): number {
    return this.settings.inboundHighWaterBytes;
  }

  finished(): void {
    if (!this.#handlerRunning) return;
    this.#handlerRunning = false;
    this.settings.stats.handlersFinished++;
    if (this.settings.observers.active) this.settings.observers.handlerFinished(this.id);
    this.#dispatch({ type: "handlerDone" });
    if (this.lifecycle === "closed") this.#releaseDependencies();
  }

  fail(error: unknown): void {
    if (error instanceof WebSocketDisconnect || (error instanceof SocketClosedError && this.lifecycle !== "open")) {
      // How a handler learns its peer left: a normal end, not a fault.
      this.#dispatch({ type: "handlerDone" });
      return;
    }
    if (this.lifecycle === "connecting") {
      this.#refuse(error, "WebSocket handler failed");
      return;
    }
    const close = closeCodeOf(error);
    if (close !== undefined) {
      this.#dispatch({ type: "close", code: close.code, reason: close.reason });
      return;
    }
    this.#reportFault(error, "WebSocket handler failed");
    this.#dispatch({ type: "handlerError" });
  }

  /** Hand an inbound message to `receive()` (the low-level handler's mailbox). */
  enqueue(data: Buffer, isBinary: boolean): void {
    this.#inbox().push(data, isBinary);
  }

  #inbox(): Mailbox {
    if (this.#mailbox === undefined) {
      this.#mailbox = new Mailbox(this, this.settings.inboundHighWater, this.settings.inboundHighWaterBytes);
      if (this.#disconnect !== undefined) this.#mailbox.end(this.#disconnect.code, this.#disconnect.reason);
    }
    return this.#mailbox;
  }

  // ---- socket → connection ------------------------------------------------------------------

  get requestUrl(): string {
    return this.#request.target;
  }

  get requestHost(): string {
    return this.#request.host;
  }

  get requestHeaders(): TransportConnection["request"]["headers"] {
    return this.#transport.request.headers;
  }

  get client(): ClientAddress {
    const { remoteAddress, remotePort } = this.#transport.request;
    return { host: remoteAddress, port: remotePort };
  }

  get acceptedSubprotocol(): string | undefined {
    return this.#acceptOptions?.subprotocol;
  }

  offeredSubprotocols(): readonly string[] {
    return this.#request.subprotocols;
  }

  get signal(): AbortSignal {
    if (this.#abort === undefined) {
      this.#abort = new AbortController();
      if (this.#disconnect !== undefined) this.#abort.abort(new WebSocketDisconnect(this.#disconnect.code, this.#disconnect.reason));
    }
    return this.#abort.signal;
  }

  get closed(): Promise<ConnectionOutcome> {
    if (this.#outcome !== undefined) return Promise.resolve(this.#outcome);
    return new Promise((resolve) => (this.#closedWaiters ??= []).push(resolve));
  }

  accept(init: AcceptInit): void {
    if (this.lifecycle === "closed" && this.#acceptOptions === undefined && this.#denial === undefined) {
      return; // the client left first: `Socket.accept` reports the disconnect
    }
    if (this.lifecycle !== "connecting") {
      throw new SocketStateError(`Cannot accept: the connection is already ${this.lifecycle}`);
    }
    const { subprotocol, headers = NO_HEADERS } = init;
    if (subprotocol !== undefined && !this.offeredSubprotocols().includes(subprotocol)) {
      const offered = this.offeredSubprotocols();
      throw new RangeError(
        `Cannot accept subprotocol "${subprotocol}": the client offered ${offered.length === 0 ? "none" : offered.map((p) => `"${p}"`).join(", ")}`,
      );
    }
    for (const [name, value] of Object.entries(headers)) {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    }
    this.#acceptOptions = { subprotocol, headers, compression: this.settings.compression };
    this.#dispatch({ type: "accept" });
  }

  reject(status: number, init: RejectInit): void {
    if (this.lifecycle !== "connecting") {
      throw new SocketStateError(`Cannot reject: the connection is already ${this.lifecycle}; use close(code) after accept`);
    }
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`Cannot reject with HTTP status ${status}: use a 4xx or 5xx status`);
    }
    const headers = init.headers ?? NO_HEADERS;
    for (const [name, value] of Object.entries(headers)) {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    }
    this.#denial = { status, headers, body: init.body ?? STATUS_CODES[status] ?? "" };
    this.#dispatch({ type: "reject", status });
  }

  close(code: number, reason: string): void {
    assertCloseFrame(code, reason);
    this.#dispatch({ type: "close", code, reason });
  }

  send(data: string | Uint8Array, isBinary: boolean, operation: string): Promise<void> {
    if (this.lifecycle !== "open") {
      if (this.lifecycle === "connecting") {
        throw new SocketStateError(`Cannot ${operation} before the connection is accepted: call socket.accept() first`);
      }
      return handledRejection(new SocketClosedError(this.lifecycle, operation));
    }
    return this.#write(data, isBinary) ?? RESOLVED;
  }

  reply(data: string | Uint8Array, isBinary: boolean): Promise<void> | undefined {
    if (this.lifecycle !== "open") {
      this.#dropped(data);
      return undefined;
    }
    return this.#write(data, isBinary);
  }

  /**
   * Write one frame; past the outbound high-water mark, apply the backpressure policy. What
   * counts is bytes plus a fixed cost per queued frame, so that a flood of empty replies is
   * bounded as well as a flood of large ones.
   */
  #write(data: string | Uint8Array, isBinary: boolean): Promise<void> | undefined {
    const transport = this.#transport;
    if (transport.bufferedAmount + transport.queuedFrames * FRAME_COST < this.settings.outboundHighWater) {
      this.#sent(data, isBinary);
      transport.send(data, isBinary);
      return undefined;
    }
    switch (this.settings.backpressure) {
      case "wait":
        this.#sent(data, isBinary);
        return new Promise((resolve) => {
          if (this.settings.observers.active) resolve = this.#timedWait(resolve); // metrics: backpressure wait
          const waiters = (this.#waiters ??= []);
          if (waiters.length === 0) {
            this.waitingSince = Date.now();
            // A client we are waiting on is not read either until it reads: what it sends
            // meanwhile (messages, pings) stays in its own buffers, not ours.
            this.#pauseFor(PAUSED_BY_OUTBOUND);
          }
          waiters.push(resolve);
          transport.send(data, isBinary, () => this.#written(resolve));
        });
      case "drop":
        this.#dropped(data);
        return undefined;
      case "close":
        this.#dropped(data);
        this.#dispatch({ type: "close", code: 1008, reason: "Slow consumer" });
        return undefined;
    }
  }

  /** `resolve`, first telling observers how long the send waited (once: it may be called again after close). */
  #timedWait(resolve: () => void): () => void {
    const since = performance.now();
    let told = false;
    return () => {
      if (!told && this.settings.observers.active) this.settings.observers.sendWaited(this.id, performance.now() - since);
      told = true;
      resolve();
    };
  }

  /** A waited-for frame was written (or failed with the connection): progress, the deadline restarts. */
  #written(resolve: () => void): void {
    const waiters = this.#waiters;
    const index = waiters === undefined ? -1 : waiters.indexOf(resolve);
    if (index >= 0) {
      waiters!.splice(index, 1);
      this.waitingSince = waiters!.length === 0 ? 0 : Date.now();
      if (waiters!.length === 0) this.#resumeFor(PAUSED_BY_OUTBOUND);
    }
    resolve();
  }

  #sent(data: string | Uint8Array, isBinary: boolean): void {
    this.messagesOut++;
    const observers = this.settings.observers;
    if (observers.active) observers.messageOut(this.id, typeof data === "string" ? Buffer.byteLength(data) : data.byteLength, isBinary, data);
  }

  #dropped(data: string | Uint8Array): void {
    this.messagesDropped++;
    this.settings.stats.messagesDropped++;
    const observers = this.settings.observers;
    if (observers.active) observers.messageDropped(this.id, typeof data === "string" ? Buffer.byteLength(data) : data.byteLength);
  }

  pauseInbound(): void {
    this.#pauseFor(PAUSED_BY_QUEUE);
  }

  resumeInbound(): void {
    this.#resumeFor(PAUSED_BY_QUEUE);
  }

  #pauseFor(reason: number): void {
    if (this.#pausedBy === 0) this.#transport.pause();
    this.#pausedBy |= reason;
  }

  #resumeFor(reason: number): void {
    if ((this.#pausedBy & reason) === 0) return;
    this.#pausedBy &= ~reason;
    if (this.#pausedBy === 0) this.#transport.resume();
  }

  /** The mailbox's flow control (`socket.receive()`): the same as the pipeline's. */
  pause(): void {
    this.pauseInbound();
  }

  resume(): void {
    this.resumeInbound();
  }

  discarded(): void {
    this.messagesDiscarded++;
    this.settings.stats.messagesDiscarded++;
  }

  take(operation: string, bound?: ReceiveOptions): Promise<InboundMessage> {
    this.#checkReadable(operation);
    return this.#inbox().take(bound);
  }

  takeAs<T, E>(operation: string, map: (data: Buffer, isBinary: boolean) => T, ended: E): Promise<T | E> {
    this.#checkReadable(operation);
    return this.#inbox().takeAs(map, ended);
  }

  #checkReadable(operation: string): void {
    if (this.lifecycle === "connecting") {
      throw new SocketStateError(`Cannot ${operation} before the connection is accepted: call socket.accept() first`);
    }
    if (!this.settings.logic.readsSocket) {
      throw new SocketStateError(`Cannot ${operation}: this route's handler receives messages as arguments, not from the socket`);
    }
  }

  /** Give up on the connection: destroy its transport without a close handshake. */
  terminate(): void {
    this.#dispatch({ type: "terminate" });
  }

  // ---- lifecycle effects (called by the machine's actions) -----------------------------------

  completeHandshake(): void {
    this.settings.stats.accepted++;
    this.#transport.accept(this.#acceptOptions ?? { subprotocol: undefined, headers: NO_HEADERS, compression: this.settings.compression });
  }

  sendHttpDenial(status: number): void {
    this.settings.stats.rejected++;
    this.#transport.deny(this.#denial ?? { status, headers: NO_HEADERS, body: STATUS_CODES[status] ?? "" });
  }

  sendCloseFrame(code: number, reason: string): void {
    this.#transport.close(code, reason);
    // Read again, whatever paused us: the peer's answering close frame must reach us.
    if (this.#pausedBy !== 0) {
      this.#pausedBy = 0;
      this.#transport.resume();
    }
  }

  armCloseTimeout(): void {
    this.#closeTimer ??= setTimeout(() => this.#dispatch({ type: "closeTimeout" }), this.settings.closeTimeoutMs).unref();
  }

  terminateTransport(): void {
    this.#transport.terminate();
  }

  signalDisconnect(code: number, reason: string): void {
    if (this.#disconnect !== undefined) return;
    this.#disconnect = { code, reason };
    this.#mailbox?.end(code, reason);
    if (this.#abort !== undefined) this.#abort.abort(new WebSocketDisconnect(code, reason));
    this.#handler?.disconnect(code, reason);
  }

  releaseResources(outcome: ConnectionOutcome): void {
    this.#outcome = outcome;
    this.#releaseWaiters();
    this.settings.stats.closed++;
    if (this.#closeTimer !== undefined) clearTimeout(this.#closeTimer);
    this.lifecycle = "closed";
    this.settings.onClosed(this, outcome);
    if (this.settings.observers.active) this.settings.observers.connectionClosed(this.id, outcome);
    const waiters = this.#closedWaiters;
    this.#closedWaiters = undefined;
    if (waiters !== undefined) for (const resolve of waiters) resolve(outcome);
    if (!this.#handlerRunning) this.#releaseDependencies();
    else {
      // Dependencies outlive the connection only as long as the handler still uses them, and
      // not forever: a handler that ignores the disconnect loses them after the close timeout.
      setTimeout(() => {
        if (this.#released) return;
        this.settings.logger.warn(
          { route: this.settings.routePath, connection: this.id },
          "handler still running after its connection closed; releasing its dependencies",
        );
        this.#releaseDependencies();
      }, this.settings.closeTimeoutMs).unref();
    }
  }


  /** Release dependencies once: after close, once the handler has settled. */
  #releaseDependencies(): void {
    if (this.#released) return;
    this.#released = true;
    // Settled: closed, the handler finished (or was given up on), dependencies released.
    const settle = (): void => this.settings.onSettled(this);
    if (this.#scope === undefined) settle();
    else this.#scope.release().then(settle, (error: unknown) => {
      this.#reportFault(error, "releasing dependencies failed");
      settle();
    });
  }
}
