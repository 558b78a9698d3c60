/**
 * ws's `'end'` and `'close'` listeners of a server socket, without the errors they throw away.
 *
 * When a client closes, ws 8 calls `end()` three times on streams that have already finished:
 * on its receiver at the socket's `'end'` (the receiver ended itself at the close frame), on the
 * socket there too (it ended once our answering close frame was out), and on the receiver again
 * at `'close'`. Node's `Writable.end()` on a finished or destroyed stream builds an
 * `ERR_STREAM_ALREADY_FINISHED` / `ERR_STREAM_DESTROYED`, capturing a full stack trace, and drops
 * it when no callback was given. That is about a tenth of a raw `ws` server's CPU per handshake
 * (docs/architecture.md, "Hot-path rules").
 *
 * The copies below are ws's own listeners (ws/lib/websocket.js `socketOnEnd`, `socketOnClose`),
 * line for line, except that `end()` is skipped exactly where it would only build that error.
 * They replace ws's in place, and only when ws's are found under their names with the fields
 * they read; otherwise ws's stay (an upgraded ws keeps working, just without the saving).
 */
import type { Duplex, Readable, Writable } from "node:stream";

/** `WebSocket.CLOSING` */
const CLOSING = 2;

interface WritableFlags {
  readonly finished: boolean;
  readonly destroyed: boolean;
  readonly errorEmitted: boolean;
}

type WsReceiver = Writable & { readonly _writableState: WritableFlags };

interface WsInternals {
  _readyState: number;
  readonly _receiver: WsReceiver;
  readonly _closeFrameReceived: boolean;
  readonly _closeTimer: NodeJS.Timeout | undefined;
  emitClose(): void;
}

type ServerSocket = Duplex & {
  readonly _readableState: { readonly endEmitted: boolean; readonly length: number };
  readonly _writableState: WritableFlags;
  _events?: Record<string | symbol, unknown>;
};

/** ws's `kWebSocket` symbol (module-private in ws), learnt from the first socket it marked. */
let kWebSocket: symbol | undefined;
/** ws's `socketOnData`, which `'close'` removes (module-private in ws). */
let wsOnData: ((chunk: Buffer) => void) | undefined;

/** `stream.end()`, unless the stream is finished or destroyed, where it would only build an error. */
function endQuietly(stream: Writable & { readonly _writableState: WritableFlags }): void {
  const state = stream._writableState;
  if (!state.finished && !state.destroyed) stream.end();
}

function websocketOf(socket: ServerSocket): WsInternals {
  return (socket as unknown as Record<symbol, WsInternals>)[kWebSocket!]!;
}

function quietOnEnd(this: ServerSocket): void {
  const websocket = websocketOf(this);
  websocket._readyState = CLOSING;
  endQuietly(websocket._receiver);
  endQuietly(this);
}

function quietOnClose(this: ServerSocket): void {
  const websocket = websocketOf(this);
  this.removeListener("close", quietOnClose);
  this.removeListener("data", wsOnData!);
  this.removeListener("end", quietOnEnd);
  websocket._readyState = CLOSING;
  // As ws: bytes still buffered in a paused socket reach the receiver before it ends.
  if (
    !this._readableState.endEmitted &&
    !websocket._closeFrameReceived &&
    !websocket._receiver._writableState.errorEmitted &&
    this._readableState.length !== 0
  ) {
    websocket._receiver.write((this as Readable).read(this._readableState.length));
  }
  endQuietly(websocket._receiver);
  (this as unknown as Record<symbol, unknown>)[kWebSocket!] = undefined;
  clearTimeout(websocket._closeTimer);
  const receiverState = websocket._receiver._writableState;
  if (receiverState.finished || receiverState.errorEmitted) websocket.emitClose();
  else {
    websocket._receiver.on("error", receiverOnFinish);
    websocket._receiver.on("finish", receiverOnFinish);
  }
}

function receiverOnFinish(this: WsReceiver): void {
  (this as unknown as Record<symbol, WsInternals>)[kWebSocket!]!.emitClose();
}

type Events = Record<string | symbol, unknown>;

/** `event`'s sole listener. */
const SOLE = -1;

function isNamed(listener: unknown, name: string): boolean {
  return typeof listener === "function" && listener.name === name;
}

/**
 * Where the one listener of `event` named `name` sits: `SOLE` (the event's only listener) or its
 * index in the event's array; undefined when there is none or more than one. A number, not an
 * object, since this runs once per handshake.
 */
function placeOf(events: Events, event: string, name: string): number | undefined {
  const listeners = events[event];
  if (!Array.isArray(listeners)) return isNamed(listeners, name) ? SOLE : undefined;
  let at: number | undefined;
  for (let i = 0; i < listeners.length; i++) {
    if (!isNamed(listeners[i], name)) continue;
    if (at !== undefined) return undefined;
    at = i;
  }
  return at;
}

function listenerAt(events: Events, event: string, place: number): unknown {
  return place === SOLE ? events[event] : (events[event] as unknown[])[place];
}

/**
 * Replace the listener at `place`, in place: removing and adding would `delete` a key of the
 * emitter's events object, which turns it into a slower dictionary.
 */
function replaceAt(events: Events, event: string, place: number, by: (this: ServerSocket) => void): void {
  if (place === SOLE) events[event] = by;
  else (events[event] as unknown[])[place] = by;
}

/**
 * Swap ws's `'end'` and `'close'` listeners on `socket` (just upgraded by ws, with `websocket`
 * its WebSocket) for the quiet copies. Returns whether it did.
 */
export function quietEnds(socket: Duplex, websocket: object): boolean {
  const serverSocket = socket as ServerSocket;
  const events = serverSocket._events;
  if (events === undefined || serverSocket._writableState === undefined || serverSocket._readableState === undefined) return false;
  if (kWebSocket === undefined) {
    kWebSocket = Object.getOwnPropertySymbols(socket).find(
      (symbol) => symbol.description === "websocket" && (socket as unknown as Record<symbol, unknown>)[symbol] === websocket,
    );
    if (kWebSocket === undefined) return false;
  } else if ((socket as unknown as Record<symbol, unknown>)[kWebSocket] !== websocket) return false;
  const internals = websocket as Partial<WsInternals>;
  if (typeof internals.emitClose !== "function" || internals._receiver?._writableState === undefined) return false;
  const onData = placeOf(events, "data", "socketOnData");
  const onEnd = placeOf(events, "end", "socketOnEnd");
  const onClose = placeOf(events, "close", "socketOnClose");
  // Both or neither: quietOnClose removes quietOnEnd and ws's data listener.
  if (onData === undefined || onEnd === undefined || onClose === undefined) return false;
  const dataListener = listenerAt(events, "data", onData) as (chunk: Buffer) => void;
  wsOnData ??= dataListener;
  if (dataListener !== wsOnData) return false;
  replaceAt(events, "end", onEnd, quietOnEnd);
  replaceAt(events, "close", onClose, quietOnClose);
  return true;
}
