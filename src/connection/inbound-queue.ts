/**
 * The one inbound queue (docs/architecture.md §3): messages a handler has not taken yet, in
 * wire order, bounded by count and bytes. Past `highWater` queued messages or `highWaterBytes`
 * queued bytes it pauses the transport, and it resumes once the handler has caught up to half of
 * both, so a fast client cannot grow server memory. Two faces extend it: the `Mailbox` (pull:
 * `socket.receive()`) and the `MessagePipeline` (push: listeners, streams, machines). Extended
 * rather than owned, so that a connection holds one object for its queue, not two.
 */

import { arrivalTime, type HandledMessages, reportHandled } from "./turn-clock.js";

export type { HandledMessages } from "./turn-clock.js";

/** Stop and resume reading from the peer. */
export interface FlowControl {
  pause(): void;
  resume(): void;
  /**
   * The connection's id and the app's observers, told when each message is taken (its
   * message-handling latency). Without them nothing is timed.
   */
  readonly id?: number;
  readonly observers?: HandledMessages;
}

/** Flow control with the marks it applies at, read when a message is queued or taken (they are route settings). */
export interface InboundBound extends FlowControl {
  /** Queued messages at which the transport is paused. */
  readonly inboundHighWater: number;
  /** Queued bytes at which the transport is paused (whichever of the two marks comes first). */
  readonly inboundHighWaterBytes: number;
}

export interface InboundMessage {
  readonly data: Buffer;
  readonly isBinary: boolean;
}

/** A message waiting in the queue. */
interface QueuedMessage extends InboundMessage {
  /** Arrival time (`turn-clock.ts`) when observers watched, else 0 (no clock read otherwise). */
  readonly arrivedAt: number;
}

export class InboundQueue<Flow extends InboundBound = InboundBound> {
  /** Created on the first message that must wait: an idle connection holds no array. */
  #frames: QueuedMessage[] | undefined;
  #head = 0;
  #bytes = 0;
  #paused = false;
  /** Who is paused and resumed, and says at which marks: the connection (the handler's parent). */
  protected readonly flow: Flow;

  constructor(flow: Flow) {
    this.flow = flow;
  }

  /** Messages queued. */
  get size(): number {
    return this.#frames === undefined ? 0 : this.#frames.length - this.#head;
  }

  /** Queue a message; at the high-water mark (messages or bytes, whichever first), pause the transport. */
  protected enqueue(data: Buffer, isBinary: boolean, arrivedAt = 0): void {
    (this.#frames ??= []).push({ data, isBinary, arrivedAt });
    this.#bytes += data.length;
    if (!this.#paused && (this.size >= this.flow.inboundHighWater || this.#bytes >= this.flow.inboundHighWaterBytes)) {
      this.#paused = true;
      this.flow.pause();
    }
  }

  /** The oldest message (the queue is not empty); caught up to half of both marks, resume the transport. */
  protected dequeue(): QueuedMessage {
    const frames = this.#frames!;
    const message = frames[this.#head]!;
    frames[this.#head] = undefined as unknown as QueuedMessage;
    this.#head++;
    this.#bytes -= message.data.length;
    if (this.#head === frames.length) {
      frames.length = 0;
      this.#head = 0;
    }
    if (this.#paused && this.size <= this.flow.inboundHighWater >> 1 && this.#bytes <= this.flow.inboundHighWaterBytes / 2) {
      this.#paused = false;
      this.flow.resume();
    }
    return message;
  }

  /** A message that arrived at `arrivedAt` has been handled: the observers are told how long it took at the end of the turn (`turn-clock.ts`). */
  protected handled(arrivedAt: number): void {
    const observers = this.flow.observers;
    if (observers?.active === true) reportHandled(observers, this.flow.id ?? 0, arrivedAt);
  }

  /** A message's arrival when observers watch (the turn's clock, `turn-clock.ts`), else 0. */
  protected arrival(): number {
    return this.flow.observers?.active === true ? arrivalTime() : 0;
  }

  /** Drop every queued message (the handler will never take them) and read again if paused. */
  protected clear(): void {
    this.#frames = undefined;
    this.#head = 0;
    this.#bytes = 0;
    if (this.#paused) {
      this.#paused = false;
      this.flow.resume();
    }
  }
}
