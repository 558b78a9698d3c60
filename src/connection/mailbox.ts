/**
 * The inbound queue behind `socket.receive()`: messages in wire order, then the disconnect.
 * Bounded: past `highWater` queued messages the transport is paused, and it resumes once the
 * handler has caught up to half of that, so a fast client cannot grow server memory.
 */
import { WebSocketDisconnect } from "./errors.js";

export interface InboundMessage {
  readonly data: Buffer;
  readonly isBinary: boolean;
}

export interface FlowControl {
  pause(): void;
  resume(): void;
}

interface Waiter {
  resolve(message: InboundMessage): void;
  reject(error: WebSocketDisconnect): void;
}

export class Mailbox {
  readonly #queue: InboundMessage[] = [];
  #head = 0;
  #waiter: Waiter | undefined;
  #ended: WebSocketDisconnect | undefined;
  #paused = false;
  readonly #flow: FlowControl;
  readonly #highWater: number;

  constructor(flow: FlowControl, highWater: number) {
    this.#flow = flow;
    this.#highWater = highWater;
  }

  get size(): number {
    return this.#queue.length - this.#head;
  }

  push(data: Buffer, isBinary: boolean): void {
    if (this.#ended !== undefined) return;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter.resolve({ data, isBinary });
      return;
    }
    this.#queue.push({ data, isBinary });
    if (!this.#paused && this.size >= this.#highWater) {
      this.#paused = true;
      this.#flow.pause();
    }
  }

  /** The next message; rejects with `WebSocketDisconnect` once the queue is drained and the peer gone. */
  take(): Promise<InboundMessage> {
    if (this.size > 0) return Promise.resolve(this.#shift());
    if (this.#ended !== undefined) return Promise.reject(this.#ended);
    if (this.#waiter !== undefined) {
      return Promise.reject(new Error("Another receive() is already waiting on this socket: receive one message at a time"));
    }
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** No more messages will come; waiting and later receives fail with this disconnect. */
  end(code: number, reason: string): void {
    if (this.#ended !== undefined) return;
    this.#ended = new WebSocketDisconnect(code, reason);
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(this.#ended);
  }

  #shift(): InboundMessage {
    const message = this.#queue[this.#head]!;
    this.#queue[this.#head] = undefined as unknown as InboundMessage;
    this.#head++;
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    }
    if (this.#paused && this.size <= this.#highWater >> 1) {
      this.#paused = false;
      this.#flow.resume();
    }
    return message;
  }
}
