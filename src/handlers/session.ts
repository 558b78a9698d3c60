/**
 * The hooks around a listener's or a stream's life: a custom accept, `onAccept` once the
 * connection is open, `onDisconnect` exactly once after it closed (only if it was accepted).
 */
import type { ConnectionOutcome, ConnectionState } from "../../machines/connection.js";
import { type AcceptInit, type AnySocket, Socket } from "../connection/socket.js";
import type { HandlerParent } from "../connection/handler.js";
import type { AnyContext } from "./context.js";

export interface SessionHooks<Context> {
  /** The handshake answer (subprotocol, response headers), or a function computing it. Default: accept plainly. */
  readonly accept?: AcceptInit | ((context: Context) => AcceptInit | Promise<AcceptInit>);
  /** Once the connection is open, before the first message is handled. */
  readonly onAccept?: (context: Context) => unknown;
  /** Once, after the connection closed, with how it closed; only for connections that were accepted. */
  readonly onDisconnect?: (context: Context, close: ConnectionOutcome) => unknown;
}

/** How far opening got: `accepted` once the handshake completed by our accept, `ready` when messages may flow. */
export interface Opened {
  readonly accepted: boolean;
  readonly ready: boolean;
}

/** Accept and run `onAccept`. Errors go to the parent (which closes or refuses accordingly). */
export async function openSession<Context extends AnyContext>(
  parent: HandlerParent,
  context: Context,
  hooks: SessionHooks<Context>,
): Promise<Opened> {
  const { socket } = context;
  let accepted = false;
  try {
    const init = typeof hooks.accept === "function" ? await hooks.accept(context) : (hooks.accept ?? {});
    // The accept hook may have refused or closed the connection itself.
    if (socket.lifecycle !== "connecting") return { accepted, ready: false };
    await socket.accept(init);
    accepted = true;
    if (hooks.onAccept !== undefined) await hooks.onAccept(context);
    // Re-read: onAccept may have closed the connection, or the client may have left meanwhile.
    return { accepted, ready: (socket.lifecycle as ConnectionState) === "open" };
  } catch (error) {
    parent.fail(error);
    return { accepted, ready: false };
  }
}

const OPENED: Opened = Object.freeze({ accepted: true, ready: true });
const NOT_OPENED: Opened = Object.freeze({ accepted: false, ready: false });

/**
 * `openSession` without an accept function nor `onAccept` (most routes): answered within the
 * call, no promise turn, when the socket opened at once (`Socket.accept` is synchronous). A
 * socket class whose accept is its own, or a client that left meanwhile, takes the awaited way.
 */
export function openPlainSession(parent: HandlerParent, socket: AnySocket, init: AcceptInit): Opened | Promise<Opened> {
  if (socket.lifecycle !== "connecting") return NOT_OPENED;
  let accepting: Promise<void>;
  try {
    accepting = socket.accept(init);
  } catch (error) {
    parent.fail(error);
    return NOT_OPENED;
  }
  if (socket.accept === Socket.prototype.accept && (socket.lifecycle as ConnectionState) === "open") return OPENED;
  return acceptedLater(parent, socket, accepting);
}

async function acceptedLater(parent: HandlerParent, socket: AnySocket, accepting: Promise<void>): Promise<Opened> {
  try {
    await accepting;
    return { accepted: true, ready: (socket.lifecycle as ConnectionState) === "open" };
  } catch (error) {
    parent.fail(error);
    return NOT_OPENED;
  }
}

/** After the connection closed: `onDisconnect` if it was accepted, then report the handler finished (without the hook: at once, not waiting for the close). */
export async function closeSession<Context extends AnyContext>(
  parent: HandlerParent,
  context: Context,
  hooks: SessionHooks<Context>,
  accepted: boolean,
): Promise<void> {
  if (hooks.onDisconnect !== undefined && accepted) {
    const outcome = await context.socket.closed;
    try {
      await hooks.onDisconnect(context, outcome);
    } catch (error) {
      parent.fail(error);
    }
  } else {
    // Nothing to wait for: done once the transition that disconnected us is over (one turn),
    // rather than at close, when the handler still running would arm the release fallback timer.
    await undefined;
  }
  parent.finished();
}
