/**
 * The client end of a wire, as the test client drives it: the same shape over memory and TCP.
 */
import type { DenialResponse } from "./transport.js";

export interface ClientWireListener {
  onOpen(subprotocol: string | undefined, headers: Readonly<Record<string, string>>): void;
  onDenied(response: DenialResponse): void;
  onMessage(data: Buffer, isBinary: boolean): void;
  onClosed(code: number, reason: string, wasClean: boolean): void;
}

export interface ClientWire {
  send(data: string | Uint8Array, isBinary: boolean): void;
  /** Send a close frame; no code sends a frame without a status. */
  close(code?: number, reason?: string): void;
  /** Drop the connection without a close frame. */
  abort(): void;
  /** Send a ping; the server's transport answers it without the app seeing it. */
  ping(): void;
  /** Stop reading from the server (its frames queue up on its side), and start again. */
  pauseReading(): void;
  resumeReading(): void;
}

export interface ClientHandshake {
  readonly headers: Readonly<Record<string, string>>;
  readonly subprotocols: readonly string[];
  /** Answer pings (default true). */
  readonly autoPong?: boolean;
  /** Ask for permessage-deflate (TCP only). */
  readonly perMessageDeflate?: boolean;
}
