/**
 * The production transport: `ws` in `noServer` mode on a node:http `upgrade`. With
 * `ws-client.ts` (the test client's TCP wire), the only code in statewire that imports `ws`.
 */
import type { IncomingMessage } from "node:http";
import type { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";
import { corkReads, flushReplies } from "./cork.js";
import { bytesFrame, textFrame } from "./frame.js";
import { WebSocketServer, type WebSocket } from "ws";
import { afterPendingResponses, guardSocket } from "./edge-socket.js";
import { handshakeProblem } from "./handshake.js";
import { writeRawResponse } from "./raw-response.js";
import { quietEnds } from "./ws-quiet-end.js";
import type {
  AcceptOptions,
  DeflateOptions,
  DenialResponse,
  TransportConnection,
  TransportLimits,
  TransportListener,
  UpgradeRequest,
} from "./transport.js";

/** Below this many UTF-16 units a text frame is written as a Buffer, above as a string. */
const SHORT_STRING = 1024;
/** Below this many bytes a binary frame is built here in one Buffer (a copy); above, ws writes header and payload. */
const SHORT_BYTES = 1024;

const EMPTY = Buffer.alloc(0);


export type UpgradeListener = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * The handshake `accept` is completing, read back by `handleProtocols`, the `headers` event and
 * the upgrade callback: `ws` completes an upgrade synchronously (no `verifyClient`), so one
 * variable serves every connection, where a map keyed by request would cost a set and a delete
 * per handshake.
 */
let accepting: { readonly transport: WsTransportConnection; readonly options: AcceptOptions } | undefined;

/**
 * An `upgrade` listener that validates the opening handshake and hands every valid one to
 * `onConnection` as a transport connection, still unanswered. `handshakeTimeoutMs` bounds how
 * long an upgrade may wait for responses to requests pipelined before it.
 */
export function createWsUpgradeListener(
  limits: TransportLimits,
  onConnection: (connection: TransportConnection) => void,
  handshakeTimeoutMs = 10_000,
): UpgradeListener {
  // One ws server per compression setting and message limit: ws negotiates permessage-deflate
  // from its server's options and gives each receiver its server's maxPayload, so a route's own
  // limit costs the receiver's one comparison, as the app's does. Routes share a few settings.
  const servers = new Map<DeflateOptions | false, Map<number, WebSocketServer>>();
  const serverFor = (compression: DeflateOptions | false | undefined, maxPayload: number): WebSocketServer => {
    const key = compression ?? false;
    let byLimit = servers.get(key);
    if (byLimit === undefined) servers.set(key, (byLimit = new Map()));
    let server = byLimit.get(maxPayload);
    if (server === undefined) {
      server = new WebSocketServer({
        noServer: true,
        clientTracking: false,
        maxPayload,
        perMessageDeflate: key === false ? false : { ...key },
        handleProtocols: () => accepting?.options.subprotocol ?? false,
      });
      server.on("headers", (headers) => {
        const extra = accepting?.options.headers;
        if (extra !== undefined) for (const [name, value] of Object.entries(extra)) headers.push(`${name}: ${value}`);
      });
      byLimit.set(maxPayload, server);
    }
    return server;
  };

  const upgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const problem = handshakeProblem(request.method, request.headers);
    if (problem !== undefined) {
      writeRawResponse(socket, { status: problem.status, headers: problem.headers, body: problem.message });
      return;
    }
    const connection = new WsTransportConnection(serverFor, request, socket, head, limits.maxPayload);
    onConnection(connection);
    watchUnanswered(connection);
  };
  return (request, socket, head) => {
    guardSocket(socket);
    afterPendingResponses(socket, handshakeTimeoutMs, () => upgrade(request, socket, head));
  };
}

/**
 * Handshakes not answered by the end of the turn they arrived in (guards, dependencies, a slow
 * handler) are watched from then on (see `watch`); one answered within the turn, the usual
 * case, never installs a listener for it. Node leaves the upgraded socket paused meanwhile, so
 * nothing it receives is lost. One list and one scheduled flush per turn, not a closure per
 * handshake.
 */
let unanswered: WsTransportConnection[] = [];
let watchScheduled = false;

function watchUnanswered(connection: WsTransportConnection): void {
  if (connection.answered) return;
  unanswered.push(connection);
  if (watchScheduled) return;
  watchScheduled = true;
  // After every microtask of this turn (as cork.ts flushes): the handler's accept, if it answers at once.
  queueMicrotask(scheduleWatching);
}

function scheduleWatching(): void {
  process.nextTick(watchAll);
}

function watchAll(): void {
  watchScheduled = false;
  const connections = unanswered;
  unanswered = [];
  for (const connection of connections) connection.watch();
}

/** Whether `ws` negotiated no extension (no permessage-deflate): frames may then bypass its sender. */
function noExtensions(extensions: Record<string, unknown>): boolean {
  for (const _ in extensions) return false;
  return true;
}

/** ws's frame parser: an EventEmitter that reports a protocol violation as `'error'`. */
type Receiver = EventEmitter & { [kTransport]?: WsTransportConnection };

const NO_LISTENER: TransportListener = {
  onMessage() {},
  onPeerClose() {},
  onProtocolError() {},
  onClosed() {},
  onPong() {},
};

/** Close codes for the errors `ws` raises while reading frames, by their `code`. */
function protocolErrorCode(error: Error & { code?: string }): number {
  // ws attaches the status it closed with under a private symbol; prefer it when present.
  for (const symbol of Object.getOwnPropertySymbols(error)) {
    if (symbol.description === "status-code") {
      const value = (error as unknown as Record<symbol, unknown>)[symbol];
      if (typeof value === "number") return value;
    }
  }
  if (error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") return 1009;
  if (error.code === "WS_ERR_INVALID_UTF8") return 1007;
  return 1002;
}

/** The peer's address is read on first use: each read is a `getpeername` system call. */
class NodeUpgradeRequest implements UpgradeRequest {
  readonly url: string;
  readonly headers: IncomingMessage["headers"];
  readonly #socket: IncomingMessage["socket"];
  #address: { host: string; port: number } | undefined;

  constructor(request: IncomingMessage) {
    this.url = request.url ?? "/";
    this.headers = request.headers;
    this.#socket = request.socket;
  }

  #peer(): { host: string; port: number } {
    return (this.#address ??= { host: this.#socket.remoteAddress ?? "", port: this.#socket.remotePort ?? 0 });
  }

  get remoteAddress(): string {
    return this.#peer().host;
  }

  get remotePort(): number {
    return this.#peer().port;
  }
}

/** The transport a `ws` socket belongs to, for the shared event listeners below. */
const kTransport = Symbol("statewire.transport");
type OwnedWebSocket = WebSocket & { [kTransport]: WsTransportConnection };

class WsTransportConnection implements TransportConnection {
  readonly request: UpgradeRequest;
  #listener: TransportListener = NO_LISTENER;
  #ws: WebSocket | undefined;
  #closed = false;
  #rawRequest: IncomingMessage | undefined;
  #socket: Duplex | undefined;
  #head: Buffer | undefined;
  readonly #serverFor: (compression: DeflateOptions | false | undefined, maxPayload: number) => WebSocketServer;
  /** The largest message accepted: the app's, or the route's (`limitPayload`). */
  #maxPayload: number;
  readonly #maxEarlyBytes: number;
  /** Frames handed to ws and not yet written to the OS. */
  #queuedFrames = 0;
  /** The write callback of every frame sent without one of its own: one function per connection (made on first use), not per frame. */
  #writtenCallback: (() => void) | undefined;
  get #written(): () => void {
    return (this.#writtenCallback ??= () => {
      this.#queuedFrames--;
    });
  }
  /**
   * The TCP socket, when frames may be written to it directly: no extension (permessage-deflate,
   * whose frames only ws's sender can build). Without one ws's sender never queues (it queues
   * only while deflating or reading a Blob, and we send no Blob), so nothing it holds can be
   * overtaken, and the socket's writable length is all that is buffered.
   */
  #raw: Duplex | undefined;
  /** ws's own `'error'` listeners on its receiver, run one turn late (see `#adopt`). */
  #receiverErrorListeners: ((error: Error) => void)[] | undefined;
  /** Set while watching an unanswered handshake (see `watch`). */
  #early: { chunks: Buffer[]; bytes: number; onData: (chunk: Buffer) => void; onGone: () => void } | undefined;

  constructor(
    serverFor: (compression: DeflateOptions | false | undefined, maxPayload: number) => WebSocketServer,
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    maxEarlyBytes: number,
  ) {
    this.#serverFor = serverFor;
    this.#maxEarlyBytes = maxEarlyBytes;
    this.#maxPayload = maxEarlyBytes;
    this.#rawRequest = request;
    this.#socket = socket;
    this.#head = head;
    this.request = new NodeUpgradeRequest(request);
  }

  /** Whether the handshake was answered (accepted or denied). */
  get answered(): boolean {
    return this.#socket === undefined;
  }

  /**
   * The handshake was not answered within its turn (guards, dependencies, a slow handler):
   * watch the socket meanwhile. Node leaves an upgraded socket paused, where a client's FIN goes
   * unnoticed, so read it; a client may not send frames before our answer, but what it sent is
   * kept for ws, bounded. Handshakes answered in the same turn never pay for this.
   */
  watch(): void {
    const socket = this.#socket;
    if (socket === undefined || this.#early !== undefined) return;
    if (socket.destroyed) {
      // Gone before the watch began (its 'close' may already have been emitted).
      this.#end(1006, "", false);
      return;
    }
    const early = {
      chunks: [] as Buffer[],
      bytes: 0,
      onData: (chunk: Buffer): void => {
        early.bytes += chunk.length;
        if (early.bytes > this.#maxEarlyBytes) socket.destroy();
        else early.chunks.push(chunk);
      },
      onGone: (): void => {
        if (this.#ws !== undefined) return;
        socket.destroy();
        this.#end(1006, "", false);
      },
    };
    this.#early = early;
    socket.once("close", early.onGone);
    socket.once("end", early.onGone);
    socket.on("data", early.onData);
  }

  /** Stop watching; what the client sent meanwhile goes in front of `head`. */
  #unwatch(socket: Duplex, head: Buffer): { head: Buffer; watched: boolean } {
    const early = this.#early;
    if (early === undefined) return { head, watched: false };
    this.#early = undefined;
    socket.removeListener("data", early.onData);
    socket.removeListener("end", early.onGone);
    socket.removeListener("close", early.onGone);
    socket.pause();
    return { head: early.chunks.length === 0 ? head : Buffer.concat([head, ...early.chunks]), watched: true };
  }

  listen(listener: TransportListener): void {
    this.#listener = listener;
  }

  limitPayload(bytes: number): void {
    this.#maxPayload = bytes;
  }

  accept(options: AcceptOptions): void {
    const request = this.#rawRequest;
    const socket = this.#socket;
    if (request === undefined || socket === undefined || this.#head === undefined) return;
    const { head, watched } = this.#unwatch(socket, this.#head);
    this.#rawRequest = undefined;
    this.#socket = undefined;
    // ws completes the upgrade synchronously when no verifyClient is set; it does not resume a
    // socket that was paused explicitly, so hand a watched one back flowing once ws listens.
    accepting = { transport: this, options };
    try {
      this.#serverFor(options.compression, this.#maxPayload).handleUpgrade(request, socket, head, WsTransportConnection.#adoptAccepting);
    } finally {
      accepting = undefined;
    }
    if (watched) socket.resume();
    this.#head = undefined;
    if (this.#ws === undefined) {
      // ws refused to finish the upgrade (the socket was already gone); it destroyed the socket.
      socket.destroy();
      this.#end(1006, "", false);
    }
  }

  static #adoptAccepting = (ws: WebSocket): void => {
    if (accepting !== undefined) accepting.transport.#adopt(ws);
  };

  #adopt(ws: WebSocket): void {
    this.#ws = ws;
    ws.binaryType = "nodebuffer";
    // Shared listeners that find this transport through the socket, rather than closures per connection.
    (ws as OwnedWebSocket)[kTransport] = this;
    ws.on("message", WsTransportConnection.#onMessage);
    ws.on("pong", WsTransportConnection.#onPong);
    ws.on("error", WsTransportConnection.#onError);
    ws.on("close", WsTransportConnection.#onClose);
    const internals = ws as unknown as { _socket: Duplex; _extensions: Record<string, unknown> };
    corkReads(internals._socket);
    quietEnds(internals._socket, ws);
    if (noExtensions(internals._extensions)) {
      this.#raw = internals._socket;
    }
    // The close frame from the peer is seen by the receiver before the TCP connection ends;
    // report it then, so the handler learns of the disconnect without waiting for the socket.
    const receiver = (ws as unknown as { _receiver?: Receiver })._receiver;
    if (receiver !== undefined && typeof receiver.on === "function") {
      receiver[kTransport] = this;
      receiver.on("conclude", WsTransportConnection.#onConclude);
    }
    this.#deferViolations(receiver);
  }

  static #onConclude = function (this: Receiver, code: number, reason: Buffer): void {
    const transport = this[kTransport];
    if (transport !== undefined) transport.#listener.onPeerClose(code, reason.toString("utf8"));
  };

  /**
   * On a protocol violation ws sends its close frame at once, while the messages that came
   * before the bad frame (in the same read) are still on their way to an asynchronous handler,
   * whose replies would then find the connection closing. Raw ws with a synchronous echo
   * answers them first, and so do we: ws's reaction to the violation runs one turn later (after
   * the microtasks in which the handler answers), and nothing after the bad frame is parsed.
   */
  #deferViolations(receiver: Receiver | undefined): void {
    if (receiver === undefined || typeof receiver.listeners !== "function") return;
    this.#receiverErrorListeners = receiver.listeners("error") as ((error: Error) => void)[];
    receiver[kTransport] = this;
    // ws's one listener is replaced in place: removing it would `delete` a key of the emitter's
    // events object, which turns it into a dictionary (≈ 350 bytes per connection, slower emits).
    const events = (receiver as unknown as { _events?: Record<string, unknown> })._events;
    if (events !== undefined && typeof events.error === "function") {
      events.error = WsTransportConnection.#onViolation;
      return;
    }
    receiver.removeAllListeners("error");
    receiver.on("error", WsTransportConnection.#onViolation);
  }

  static #onViolation = function (this: Receiver, error: Error): void {
    const transport = this[kTransport];
    if (transport === undefined) return;
    const listeners = transport.#receiverErrorListeners;
    if (listeners === undefined) return;
    transport.#receiverErrorListeners = undefined;
    setImmediate(() => {
      for (const listener of listeners) listener.call(this, error);
    });
  };

  static #onMessage = function (this: WebSocket, data: unknown, isBinary: boolean): void {
    (this as OwnedWebSocket)[kTransport].#listener.onMessage(data as Buffer, isBinary);
  };

  static #onPong = function (this: WebSocket, data: Buffer): void {
    (this as OwnedWebSocket)[kTransport].#listener.onPong(data);
  };

  static #onError = function (this: WebSocket, error: Error & { code?: string }): void {
    (this as OwnedWebSocket)[kTransport].#listener.onProtocolError(protocolErrorCode(error), "");
  };

  static #onClose = function (this: WebSocket, code: number, reason: Buffer): void {
    (this as OwnedWebSocket)[kTransport].#end(code, reason.toString("utf8"), code !== 1006);
  };

  #end(code: number, reason: string, wasClean: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#listener.onClosed(code, reason, wasClean);
  }

  deny(response: DenialResponse): void {
    const socket = this.#socket;
    if (socket === undefined) return;
    this.#unwatch(socket, this.#head ?? Buffer.alloc(0));
    this.#socket = undefined;
    this.#rawRequest = undefined;
    this.#head = undefined;
    writeRawResponse(socket, response);
    this.#end(1006, "", false);
  }

  send(data: string | Uint8Array, isBinary: boolean, callback?: (error?: Error) => void): void {
    const ws = this.#ws;
    if (ws === undefined || ws.readyState !== 1) {
      callback?.(new Error("WebSocket is not open"));
      return;
    }
    const raw = this.#raw;
    if (raw !== undefined) {
      // Short frames are built here whole and written at once (see frame.ts); ws's sender would
      // allocate a header and write header and payload as two chunks.
      if (typeof data === "string") {
        if (data.length < SHORT_STRING) {
          this.#writeFrame(raw, textFrame(data), callback);
          return;
        }
      } else if (data.byteLength < SHORT_BYTES) {
        this.#writeFrame(raw, bytesFrame(data, isBinary), callback);
        return;
      }
    }
    this.#queuedFrames++;
    const written = callback === undefined ? this.#written : (error?: Error | null) => (this.#written(), callback(error ?? undefined));
    // Long strings go to ws as strings, which it hands to the socket unframed-copied, where a
    // Buffer.from would add an unpooled allocation per frame (the size-dependent cost measured
    // at 4 KiB); long Buffers as they are, header and payload in two chunks.
    ws.send(data, { binary: isBinary }, written);
  }

  /**
   * Write one whole frame. A frame the OS takes at once (nothing buffered before it, not corked:
   * a broadcast's write to an idle socket) is written without a callback, so node schedules
   * nothing and allocates nothing after it, and it never counts as queued. One the OS took only
   * part of counts until an empty write queued behind it completes.
   */
  #writeFrame(raw: Duplex, frame: Buffer, callback: ((error?: Error) => void) | undefined): void {
    if (callback === undefined && raw.writableLength === 0 && raw.writableCorked === 0) {
      raw.write(frame);
      if (raw.writableLength === 0) return;
      this.#queuedFrames++;
      raw.write(EMPTY, this.#written);
      return;
    }
    this.#queuedFrames++;
    raw.write(frame, callback === undefined ? this.#written : (error?: Error | null) => (this.#written(), callback(error ?? undefined)));
  }

  close(code: number, reason: string): void {
    this.#ws?.close(code, reason);
  }

  terminate(): void {
    if (this.#ws !== undefined) {
      // Replies already sent go out before the socket is destroyed, as they did when each
      // frame was written at once: destroy() drops what a corked socket still holds.
      flushReplies((this.#ws as unknown as { _socket: Duplex })._socket);
      this.#ws.terminate();
    } else this.#socket?.destroy();
  }

  ping(data: Buffer): void {
    if (this.#ws?.readyState === 1) this.#ws.ping(data);
  }

  pause(): void {
    this.#ws?.pause();
  }

  resume(): void {
    this.#ws?.resume();
  }

  get bufferedAmount(): number {
    // Without extensions ws's sender never queues (see `#raw`): what is buffered is the socket's.
    return this.#raw !== undefined ? this.#raw.writableLength : (this.#ws?.bufferedAmount ?? 0);
  }

  get queuedFrames(): number {
    return this.#queuedFrames;
  }
}
