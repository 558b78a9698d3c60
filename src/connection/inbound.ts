/**
 * Inbound flow control of one connection (docs/architecture.md §3): why the transport is not
 * read. Two reasons can hold it — the handler is behind (its inbound queue is full) and the
 * handler's own sends wait on a client that does not read — and it is read again only when
 * neither holds. The reasons are bits in one number the connection keeps: no object per
 * connection.
 */
import type { FlowControl, InboundBound } from "./inbound-queue.js";
import { Mailbox } from "./mailbox.js";

/** The handler's inbound queue reached its high-water mark. */
export const PAUSED_BY_QUEUE = 1;
/** A `"wait"` send is waiting on the client: what it sends meanwhile stays in its own buffers. */
export const PAUSED_BY_OUTBOUND = 2;

/** `reasons` with `reason` added; the transport is paused when the first reason appears. */
export function pauseFor(transport: FlowControl, reasons: number, reason: number): number {
  if (reasons === 0) transport.pause();
  return reasons | reason;
}

/** `reasons` without `reason`; the transport is resumed when the last reason goes. */
export function resumeFor(transport: FlowControl, reasons: number, reason: number): number {
  if ((reasons & reason) === 0) return reasons;
  const left = reasons & ~reason;
  if (left === 0) transport.resume();
  return left;
}

/** No reason left, whatever held the transport (the peer's close frame must reach us). */
export function resumeAll(transport: FlowControl, reasons: number): 0 {
  if (reasons !== 0) transport.resume();
  return 0;
}

/** The mailbox behind `socket.receive()`, created on the first receive; ended at once if the peer already left. */
export function openMailbox(flow: InboundBound, disconnect: { readonly code: number; readonly reason: string } | undefined): Mailbox {
  const mailbox = new Mailbox(flow);
  if (disconnect !== undefined) mailbox.end(disconnect.code, disconnect.reason);
  return mailbox;
}
