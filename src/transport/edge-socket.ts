/**
 * The one place where a socket handed over by node:http gets its error handling, before
 * anything writes to it. node:http removes its own `'error'` listener when it emits `'upgrade'`,
 * so a write that meets ECONNRESET on an upgrade socket would otherwise be an unhandled
 * `'error'` event, which ends the process.
 */
import type { ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

const kGuarded = Symbol("statewire.guarded");
type Guarded = Duplex & { [kGuarded]?: true };

function destroyOnError(this: Duplex): void {
  this.destroy();
}

/** Destroy `socket` on any error from now on (once per socket, however often it is called). */
export function guardSocket(socket: Duplex): void {
  if ((socket as Guarded)[kGuarded] === true) return;
  (socket as Guarded)[kGuarded] = true;
  socket.on("error", destroyOnError);
}

/** node:http's response currently written on a socket (pipelined ones queue behind it). */
type WithResponse = Duplex & { _httpMessage?: ServerResponse | null };

/**
 * Run `then` once node:http has written every response it owes on `socket`: a client may pipeline
 * plain requests before an upgrade, and their answers must reach it before the 101, never inside
 * the WebSocket byte stream. In the usual case (nothing pending) `then` runs at once. A socket
 * that closes meanwhile is given up; one still waiting after `timeoutMs` is destroyed.
 */
export function afterPendingResponses(socket: Duplex, timeoutMs: number, then: () => void): void {
  const pending = (socket as WithResponse)._httpMessage;
  if (pending === undefined || pending === null) {
    then();
    return;
  }
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  timer.unref();
  let waitingOn: ServerResponse = pending;
  const onGone = (): void => {
    clearTimeout(timer);
    waitingOn.removeListener("finish", onFinish);
  };
  const onFinish = (): void => {
    // node:http's own 'finish' listener ran first: it detached this response and attached the
    // next pipelined one, if any.
    const next = (socket as WithResponse)._httpMessage;
    if (next !== undefined && next !== null && next !== waitingOn) {
      waitingOn = next;
      next.once("finish", onFinish);
      return;
    }
    clearTimeout(timer);
    socket.removeListener("close", onGone);
    if (!socket.destroyed) then();
  };
  socket.once("close", onGone);
  waitingOn.once("finish", onFinish);
}
