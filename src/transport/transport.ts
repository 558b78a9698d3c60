/**
 * The only boundary that touches a wire. Everything above it speaks in these terms; only the
 * adapters (`ws.ts`, `memory.ts`) know how frames really travel.
 */
import type { IncomingHttpHeaders } from "node:http";

/** The parts of an upgrade request the runtime needs; adapter-neutral. */
export interface UpgradeRequest {
  /** The request target as sent: path and query, e.g. `/chat/lobby?x=1`. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

/** permessage-deflate (RFC 7692) settings, as `ws` takes them. */
export interface DeflateOptions {
  /** Messages smaller than this many bytes go uncompressed. `ws` default 1024. */
  readonly threshold?: number;
  /** Concurrent zlib operations. `ws` default 10. */
  readonly concurrencyLimit?: number;
  readonly serverNoContextTakeover?: boolean;
  readonly clientNoContextTakeover?: boolean;
  readonly serverMaxWindowBits?: number;
  readonly clientMaxWindowBits?: number;
  readonly zlibDeflateOptions?: Readonly<Record<string, unknown>>;
  readonly zlibInflateOptions?: Readonly<Record<string, unknown>>;
}

/** What the server answers a handshake with when it accepts. */
export interface AcceptOptions {
  readonly subprotocol: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  /** Offer permessage-deflate to a client that asks for it; `false`/undefined: never. Ignored by the memory transport. */
  readonly compression?: DeflateOptions | false | undefined;
}

/** What the server answers a handshake with when it refuses. */
export interface DenialResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Events a transport reports upward. Called synchronously, in wire order. */
export interface TransportListener {
  onMessage(data: Buffer, isBinary: boolean): void;
  /** A close frame arrived; the transport answers it itself. `code` is 1005 when the frame carried none. */
  onPeerClose(code: number, reason: string): void;
  /** The transport failed the connection (bad frame, payload too big) and sent `code` itself. */
  onProtocolError(code: number, reason: string): void;
  /** The transport is gone. Called exactly once, last. */
  onClosed(code: number, reason: string, wasClean: boolean): void;
  /** A pong arrived, with its payload: an answer to our ping only if the payload is the one we sent. */
  onPong(data: Buffer): void;
}

/** One connection's wire, from the upgrade request until the transport closes. */
export interface TransportConnection {
  readonly request: UpgradeRequest;
  /** Install the listener; called once, before `accept`. */
  listen(listener: TransportListener): void;
  /** The largest message this connection accepts (its route's), when it differs from the transport's; called before `accept`. */
  limitPayload?(bytes: number): void;
  /** Complete the handshake (101). Synchronous: frames may be sent right after it returns. */
  accept(options: AcceptOptions): void;
  /** Refuse the handshake with an HTTP response and end the transport. */
  deny(response: DenialResponse): void;
  /** Queue one frame. The callback runs once the frame was handed to the OS, or with the error that prevented it. */
  send(data: string | Uint8Array, isBinary: boolean, callback?: (error?: Error) => void): void;
  /** Start the close handshake with an already validated code and reason. */
  close(code: number, reason: string): void;
  /** Destroy the transport at once, without a close handshake. */
  terminate(): void;
  /** Send a ping carrying `data` (at most 125 bytes), which an answering pong echoes. */
  ping(data: Buffer): void;
  /** Stop reading from the peer (inbound backpressure). */
  pause(): void;
  resume(): void;
  /** Bytes queued but not yet written. */
  readonly bufferedAmount: number;
  /**
   * Frames queued but not yet written (each one holds memory of its own whatever its size: a
   * buffer, a write request, a callback). Kept as a counter: reading it costs nothing.
   */
  readonly queuedFrames: number;
}

/** Limits a transport enforces at the wire. */
export interface TransportLimits {
  /** Largest message in bytes; larger ones fail the connection with 1009. */
  readonly maxPayload: number;
}
