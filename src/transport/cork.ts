/**
 * Cork per read: the replies to the frames of one TCP read leave in one `writev`.
 *
 * `ws` writes every frame on its own (its sender corks only the header and payload of one
 * frame), so a client with 16 messages in flight costs a raw `ws` server 16 system calls for
 * 16 replies. Here the socket is corked when a read arrives, before `ws` parses it, and uncorked
 * once the turn that handles it is over: after the read's listeners and after every microtask
 * they started (async handlers that answer without waiting for I/O), never later. Nothing waits
 * for more input: a lone message's reply leaves as soon as its turn ends.
 *
 * Why the turn ends where it does: a `process.nextTick` queued from a microtask runs only once
 * node has drained the whole microtask queue, including the microtasks those microtasks queue.
 * So the read schedules a microtask, the microtask schedules the flush as a tick, and the flush
 * runs after the handlers' promise chains have settled, before node returns to the event loop.
 */
import type { Duplex } from "node:stream";

const kCorked = Symbol("statewire.corked");
type Corkable = Duplex & { [kCorked]?: boolean };

/** Sockets corked by a read in this turn. */
let corked: Corkable[] = [];
let spare: Corkable[] = [];
let scheduled = false;

/** Shared by every socket: `this` is the socket that read. */
function onRead(this: Corkable): void {
  if (this[kCorked] === true) return;
  this[kCorked] = true;
  this.cork();
  corked.push(this);
  if (!scheduled) {
    scheduled = true;
    queueMicrotask(afterMicrotasks);
  }
}

function afterMicrotasks(): void {
  process.nextTick(flush);
}

function flush(): void {
  scheduled = false;
  const sockets = corked;
  corked = spare;
  spare = sockets;
  for (let i = 0; i < sockets.length; i++) uncork(sockets[i]!);
  sockets.length = 0;
}

function uncork(socket: Corkable): void {
  if (socket[kCorked] !== true) return;
  socket[kCorked] = false;
  // end() already uncorked fully; destroy() leaves nothing worth writing.
  if (socket.writableCorked > 0) socket.uncork();
}

/**
 * Cork `socket` on every read until the end of the turn. Call once, after `ws` installed its own
 * `'data'` listener: ours goes in front of it, so the cork is on before the frames are parsed.
 */
export function corkReads(socket: Duplex): void {
  (socket as Corkable)[kCorked] = false;
  socket.prependListener("data", onRead);
}

/** Write out what the current turn queued on `socket` now (before it is destroyed). */
export function flushReplies(socket: Duplex): void {
  uncork(socket as Corkable);
}
