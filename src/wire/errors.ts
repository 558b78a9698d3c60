/**
 * Errors a handler meets. Each names what happened in terms of the protocol, never internals.
 */

/**
 * The peer is gone, or the connection is closing: thrown by `receive*()` once no more messages
 * will come. `code` is the close code (1005 when the peer's close frame carried none, 1006 when
 * the connection ended without one).
 */
export class WebSocketDisconnect extends Error {
  override readonly name = "WebSocketDisconnect";
  /** Stable across releases: branch on it rather than on the message. */
  readonly errorCode = "SW_ERR_DISCONNECTED" as const;
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {
    super(`WebSocket disconnected with code ${code}${reason === "" ? "" : ` (${reason})`}`);
  }
}

/**
 * `receive*({ timeoutMs })` waited that long without a message. The wait was withdrawn: the
 * connection is still open, and a message arriving later waits for the next receive.
 */
export class ReceiveTimeoutError extends Error {
  override readonly name = "ReceiveTimeoutError";
  constructor(readonly timeoutMs: number) {
    super(`No message within ${timeoutMs} ms`);
  }
}

/** A send on a connection that is no longer open. Rejects the send's promise, never thrown unhandled. */
export class SocketClosedError extends Error {
  override readonly name = "SocketClosedError";
  /** Stable across releases: branch on it rather than on the message. */
  readonly errorCode = "SW_ERR_SOCKET_CLOSED" as const;
  constructor(
    readonly state: "closing" | "closed",
    readonly operation: string,
  ) {
    super(`Cannot ${operation}: the connection is ${state}`);
  }
}

/** A method called at a point of the lifecycle where it makes no sense (e.g. `accept()` twice). */
export class SocketStateError extends Error {
  override readonly name = "SocketStateError";
  /** Stable across releases: branch on it rather than on the message. */
  readonly errorCode = "SW_ERR_SOCKET_STATE" as const;
}

/**
 * Throw from a handler, guard or dependency provider to refuse a handshake with an HTTP status.
 * Only before accept: thrown after it, it is a fault like any other error (close 1011); to close
 * an accepted connection with a code, throw `WebSocketError`.
 */
export class HandshakeDenied extends Error {
  override readonly name = "HandshakeDenied";
  /** Stable across releases: branch on it rather than on the message. */
  readonly errorCode = "SW_ERR_HANDSHAKE_DENIED" as const;
  constructor(
    readonly status: number,
    readonly body = "",
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(`Handshake denied with HTTP ${status}`);
  }
}

/**
 * A message the handler cannot use: the wrong frame kind (close 1003, `UNSUPPORTED_DATA`) or a
 * payload that does not parse or validate (close 1007, `INVALID_PAYLOAD`). Thrown by
 * `receiveText()`, `receiveBytes()` and `receiveJson()`; when it escapes a handler, the
 * connection closes with `closeCode` and `reason` instead of 1011.
 */
export class MessageError extends Error {
  override readonly name = "MessageError";
  /** Stable across releases: branch on it rather than on the message. */
  readonly errorCode = "SW_ERR_INVALID_MESSAGE" as const;
  constructor(
    readonly closeCode: 1003 | 1007,
    /** Short, safe for a close reason (at most 123 bytes of UTF-8). */
    readonly reason: string,
  ) {
    super(reason);
  }
}

/**
 * Throw from a handler, hook or dependency provider to close the connection with `closeCode`
 * and `reason` (before accept, the handshake completes first so the client sees the code).
 */
export class WebSocketError extends Error {
  override readonly name = "WebSocketError";
  /** Stable across releases: branch on it rather than on the message. */
  readonly errorCode = "SW_ERR_CLOSE" as const;
  constructor(
    readonly closeCode: number,
    readonly reason = "",
  ) {
    super(`Closing with ${closeCode}${reason === "" ? "" : ` (${reason})`}`);
  }
}

/** The HTTP status an error names (`status` or `statusCode`, 400–599), as thrown by http-errors and friends. */
export function statusOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown };
  const candidate = typeof status === "number" ? status : statusCode;
  return typeof candidate === "number" && Number.isInteger(candidate) && candidate >= 400 && candidate <= 599 ? candidate : undefined;
}

/** Every `errorCode` a statewire error carries (as `ws` gives its errors `WS_ERR_*` codes). */
export type StatewireErrorCode =
  | "SW_ERR_STARTUP"
  | "SW_ERR_BACKLOG_OVERFLOW"
  | "SW_ERR_UNKNOWN_CHANNEL"
  | "SW_ERR_CHANNELS_CLOSED"
  | "SW_ERR_BACKEND_UNAVAILABLE"
  | "SW_ERR_DISCONNECTED"
  | "SW_ERR_SOCKET_CLOSED"
  | "SW_ERR_SOCKET_STATE"
  | "SW_ERR_HANDSHAKE_DENIED"
  | "SW_ERR_INVALID_MESSAGE"
  | "SW_ERR_CLOSE"
  | "SW_ERR_SOCKET_CLASS_CONFLICT";
