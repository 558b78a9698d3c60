/**
 * One connection at run time: its lifecycle and the effects the lifecycle asks for, between its
 * transport and its handler run. Lifecycle events go through the statechart; data frames go
 * straight from the transport to the handler (docs/architecture.md §3, §5). The other roles
 * have a home each, owned by the connection as functions or lazily created objects:
 * `admission.ts` (guards, dependencies, what a refusal means), `outbound.ts` (backpressure),
 * `inbound.ts` (why reading is paused, the mailbox), `counting.ts` (every counter).
 */
import { STATUS_CODES, validateHeaderName, validateHeaderValue } from "node:http";
import type { InspectionEvent } from "xstate";
import type { ConnectionEvent, ConnectionOutcome, ConnectionState } from "../../machines/connection.js";
import type { Dependencies } from "../dependencies/provide.js";
import type { DependencyEvents, DependencyScope } from "../dependencies/scope.js";
import type { HandlerRun, HandlerLogic, HandlerParent } from "./handler.js";
import type { AcceptOptions, DeflateOptions, DenialResponse, TransportConnection, TransportListener } from "../transport/transport.js";
import { assertCloseFrame, CloseCode } from "../wire/close-codes.js";
import { SocketClosedError, SocketStateError, WebSocketDisconnect } from "../wire/errors.js";
import { type Admitted, admit, closeCodeOf, refusalOf } from "./admission.js";
import { type AppStats, countFault, countHandlerFinished, countHandlerStarted, countIn, countDiscarded, countDropped } from "./counting.js";
import { openMailbox, PAUSED_BY_QUEUE, pauseFor, resumeAll, resumeFor } from "./inbound.js";
import { type BackpressurePolicy, type OutboundHost, SendWaits, SENT_AT_ONCE, writeFrame } from "./outbound.js";
import { type Lifecycle, type LifecycleEffects, startLifecycle } from "./lifecycle.js";
import { LivenessRecord, type Watched } from "../limits/liveness.js";
import { type MessageRate, TokenBucket } from "../limits/token-bucket.js";
import type { Logger } from "./logger.js";
import type { Interleaving } from "./interleaving.js";
import type { ObserverHub } from "./observer.js";
import type { InboundMessage } from "./inbound-queue.js";
import type { Mailbox, ReceiveOptions } from "./mailbox.js";
import { type AcceptInit, type ClientAddress, handledRejection, type RejectInit, type SocketRuntime, type AnySocket } from "./socket.js";

/** Settings shared by every connection of one route; built once per route. */
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

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
const NO_DEPENDENCIES: Readonly<Record<string, unknown>> = Object.freeze({});
const { GOING_AWAY, POLICY_VIOLATION } = CloseCode;
const PLAIN_ACCEPT: AcceptOptions = Object.freeze({ subprotocol: undefined, headers: NO_HEADERS, compression: false });
// Events without data are one object each, shared by every connection.
const ACCEPT: ConnectionEvent = Object.freeze({ type: "accept" });
const HANDLER_DONE: ConnectionEvent = Object.freeze({ type: "handlerDone" });

function validateHeaders(headers: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(headers)) {
    validateHeaderName(name);
    validateHeaderValue(name, value);
  }
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

export class Connection implements TransportListener, SocketRuntime, HandlerParent, LifecycleEffects, Watched, Admitted, OutboundHost {
  readonly id = nextId++;
  readonly startedAt = Date.now();
  readonly liveness = new LivenessRecord();
  readonly socket: AnySocket;
  readonly settings: ConnectionSettings;
  lifecycle: ConnectionState = "connecting";
  messagesIn = 0;
  messagesOut = 0;
  dependencies: Readonly<Record<string, unknown>> = NO_DEPENDENCIES;
  readonly #transport: TransportConnection;
  readonly #request: ParsedUpgrade;
  readonly #actor: Lifecycle;
  #handler: HandlerRun | undefined;
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
  /** Why we stopped reading from the peer (`inbound.ts`): the handler is behind, or its own sends wait. */
  #pausedBy = 0;
  /** `"wait"` sends not yet written (`outbound.ts`); created on the first wait. */
  #waits: SendWaits | undefined;

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
    if (settings.guards === undefined && settings.dependencies === undefined) this.startHandler();
    else admit(this).catch((error: unknown) => this.#admissionFailed(error));
  }

  /** A fault of the runtime itself while admitting: fail this connection, never the process. */
  #admissionFailed(error: unknown): void {
    if (this.lifecycle === "connecting") this.refuse(error, "admitting the connection failed");
    else this.#reportFault(error, "admitting the connection failed");
  }

  adoptScope(scope: DependencyScope): void {
    this.#scope = scope;
  }

  startHandler(): void {
    this.#handlerRunning = true;
    countHandlerStarted(this);
    const handler = this.settings.logic.start(this);
    this.#handler = handler;
    // The handler may have closed the connection before its first await.
    if (this.#disconnect !== undefined) handler.disconnect(this.#disconnect.code, this.#disconnect.reason);
  }

  /** Answer an error raised before accept: as `admission.ts: refusalOf` reads it. */
  refuse(error: unknown, what: string): void {
    const refusal = refusalOf(error);
    switch (refusal.kind) {
      case "close":
        this.#dispatch({ type: "close", code: refusal.code, reason: refusal.reason });
        return;
      case "deny":
        this.#denial = refusal.denial;
        this.#dispatch({ type: "reject", status: refusal.denial.status });
        return;
      case "fault":
        // A fault, not a decision: the machine answers it (500).
        this.#reportFault(error, what);
        this.#dispatch({ type: "handlerError" });
    }
  }

  #reportFault(error: unknown, what: string): void {
    countFault(this, error);
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
    countIn(this, data, isBinary);
    const rate = this.settings.messageRate;
    if (rate !== undefined) {
      const now = Date.now();
      this.#bucket ??= new TokenBucket(rate, now);
      if (!this.#bucket.take(now)) {
        this.#dispatch({ type: "close", code: POLICY_VIOLATION, reason: "Message rate exceeded" });
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
    this.#waits?.releaseAll();
    this.closeSlowConsumer();
  }

  get waitingSince(): number {
    return this.#waits === undefined ? 0 : this.#waits.since;
  }

  handshakeTimedOut(): void {
    this.#dispatch({ type: "handshakeTimeout" });
  }

  heartbeatTimedOut(): void {
    this.#dispatch({ type: "heartbeatTimeout" });
  }

  idleTimedOut(): void {
    this.#dispatch({ type: "close", code: GOING_AWAY, reason: "Idle timeout" });
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
    countHandlerFinished(this);
    this.#dispatch(HANDLER_DONE);
    if (this.lifecycle === "closed") this.#releaseDependencies();
  }

  fail(error: unknown): void {
    if (error instanceof WebSocketDisconnect || (error instanceof SocketClosedError && this.lifecycle !== "open")) {
      // How a handler learns its peer left: a normal end, not a fault.
      this.#dispatch(HANDLER_DONE);
      return;
    }
    if (this.lifecycle === "connecting") {
      this.refuse(error, "WebSocket handler failed");
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
    return (this.#mailbox ??= openMailbox(this, this.#disconnect));
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
    if (headers !== NO_HEADERS) validateHeaders(headers);
    const compression = this.settings.compression;
    // A plain accept (the usual one) shares one options object: nothing per connection.
    this.#acceptOptions =
      subprotocol === undefined && headers === NO_HEADERS && compression === false ? PLAIN_ACCEPT : { subprotocol, headers, compression };
    this.#dispatch(ACCEPT);
  }

  reject(status: number, init: RejectInit): void {
    if (this.lifecycle !== "connecting") {
      throw new SocketStateError(`Cannot reject: the connection is already ${this.lifecycle}; use close(code) after accept`);
    }
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`Cannot reject with HTTP status ${status}: use a 4xx or 5xx status`);
    }
    const headers = init.headers ?? NO_HEADERS;
    if (headers !== NO_HEADERS) validateHeaders(headers);
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
    return writeFrame(this, this.#transport, data, isBinary) ?? SENT_AT_ONCE;
  }

  reply(data: string | Uint8Array, isBinary: boolean): Promise<void> | undefined {
    if (this.lifecycle !== "open") {
      countDropped(this, data);
      return undefined;
    }
    return writeFrame(this, this.#transport, data, isBinary);
  }

  // ---- outbound.ts and inbound.ts → connection ---------------------------------------------

  sendWaits(): SendWaits {
    return (this.#waits ??= new SendWaits(this));
  }

  closeSlowConsumer(): void {
    this.#dispatch({ type: "close", code: POLICY_VIOLATION, reason: "Slow consumer" });
  }

  pauseReading(reason: number): void {
    this.#pausedBy = pauseFor(this.#transport, this.#pausedBy, reason);
  }

  resumeReading(reason: number): void {
    this.#pausedBy = resumeFor(this.#transport, this.#pausedBy, reason);
  }

  /** The inbound queue's flow control (the mailbox's and the pipeline's): the handler is behind. */
  pause(): void {
    this.pauseReading(PAUSED_BY_QUEUE);
  }

  resume(): void {
    this.resumeReading(PAUSED_BY_QUEUE);
  }

  discarded(): void {
    countDiscarded(this);
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
    this.#pausedBy = resumeAll(this.#transport, this.#pausedBy);
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
    this.#waits?.releaseAll();
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
      // Cleared at release: a timer left armed would keep the connection for closeTimeoutMs.
      this.#closeTimer = setTimeout(() => {
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
    if (this.#closeTimer !== undefined) clearTimeout(this.#closeTimer);
    // Settled: closed, the handler finished (or was given up on), dependencies released.
    if (this.#scope === undefined) this.settings.onSettled(this);
    else this.#scope.release().then(
      () => this.settings.onSettled(this),
      (error: unknown) => {
        this.#reportFault(error, "releasing dependencies failed");
        this.settings.onSettled(this);
      },
    );
  }
}
