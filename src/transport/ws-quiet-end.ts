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

type Listener = (...args: never[]) => void;

function listenersOf(events: Record<string | symbol, unknown>, event: string): readonly unknown[] {
  const listeners = events[event];
  return typeof listeners === "function" ? [listeners] : Array.isArray(listeners) ? listeners : [];
}

function isNamed(listener: unknown, name: string): listener is Listener {
  return typeof listener === "function" && listener.name === name;
}

/** The one listener of `event` named `name`, and how to replace it in place; undefined unless exactly one. */
function slot(events: Record<string | symbol, unknown>, event: string, name: string): { listener: Listener; replace: (by: Listener) => void } | undefined {
  const listeners = listenersOf(events, event);
  const at = listeners.findIndex((listener) => isNamed(listener, name));
  if (at < 0 || listeners.findLastIndex((listener) => isNamed(listener, name)) !== at) return undefined;
  const listener = listeners[at] as Listener;
  // In place: removing and adding would `delete` a key of the emitter's events object, which
  // turns it into a slower dictionary.
  const replace = (by: Listener): void => {
    const current = events[event];
    if (Array.isArray(current)) current[at] = by;
    else events[event] = by;
  };
  return { listener, replace };
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
  const onData = slot(events, "data", "socketOnData");
  const onEnd = slot(events, "end", "socketOnEnd");
  const onClose = slot(events, "close", "socketOnClose");
  // Both or neither: quietOnClose removes quietOnEnd and ws's data listener.
  if (onData === undefined || onEnd === undefined || onClose === undefined) return false;
  wsOnData ??= onData.listener as (chunk: Buffer) => void;
  if (onData.listener !== wsOnData) return false;
  onEnd.replace(quietOnEnd);
  onClose.replace(quietOnClose);
  return true;
}
