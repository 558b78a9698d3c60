/**
 * The pull face of the inbound queue (`inbound-queue.ts`): what `socket.receive()` takes,
 * messages in wire order, then the disconnect. A receive can wait, with a deadline or a signal.
 */
import { ReceiveTimeoutError, WebSocketDisconnect } from "../wire/errors.js";
import { type InboundMessage, InboundQueue } from "./inbound-queue.js";

export type { FlowControl, InboundBound, InboundMessage } from "./inbound-queue.js";

/** A bound on one receive: it gives up after `timeoutMs`, or when `signal` aborts. */
export interface ReceiveOptions {
  /** Give up after this many milliseconds with `ReceiveTimeoutError`; the connection stays open. */
  readonly timeoutMs?: number;
  /** Give up when this aborts, rejecting with the signal's reason (an `AbortError` by default). */
  readonly signal?: AbortSignal;
}

/**
 * A waiting receive. `map` turns the message into what the caller wants (for iteration, the
 * iterator result itself), and `ended` is what to resolve with once the peer is gone (for
 * iteration, "done"); without it the promise rejects with the disconnect. Both save a promise
 * per message on the hot path.
 */
interface Waiter {
  map(data: Buffer, isBinary: boolean): unknown;
  ended: unknown;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

const NO_END = Symbol("reject on end");

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException("The receive was aborted", "AbortError");
}

const asMessage = (data: Buffer, isBinary: boolean): InboundMessage => ({ data, isBinary });

export class Mailbox extends InboundQueue {
  #waiter: Waiter | undefined;
  /** How the peer left; the error itself is built only if a receive must reject with it (a stack trace costs ~25 µs). */
  #ended: { readonly code: number; readonly reason: string; error?: WebSocketDisconnect } | undefined;

  push(data: Buffer, isBinary: boolean): void {
    if (this.#ended !== undefined) return;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      // Taken the moment it arrived.
      const observers = this.flow.observers;
      if (observers?.active === true) observers.messageHandled(this.flow.id ?? 0, 0);
      waiter.resolve(waiter.map(data, isBinary));
      return;
    }
    this.enqueue(data, isBinary, this.arrival());
  }

  /** The next message; rejects with `WebSocketDisconnect` once the queue is drained and the peer gone. */
  take(bound?: ReceiveOptions): Promise<InboundMessage> {
    return this.takeAs(asMessage, NO_END, bound) as Promise<InboundMessage>;
  }

  /**
   * The next message as `map` makes it; once the queue is drained and the peer gone, resolves
   * with `ended` (or, given `NO_END`, rejects with the disconnect).
   */
  takeAs<T, E>(map: (data: Buffer, isBinary: boolean) => T, ended: E | typeof NO_END, bound?: ReceiveOptions): Promise<T | E> {
    if (bound?.signal?.aborted === true) return Promise.reject(abortReason(bound.signal));
    if (this.size > 0) {
      const message = this.dequeue();
      if (message.arrivedAt !== 0) this.handled(message.arrivedAt);
      return Promise.resolve(map(message.data, message.isBinary));
    }
    if (this.#ended !== undefined) return ended === NO_END ? Promise.reject(this.#disconnect()) : Promise.resolve(ended);
    if (this.#waiter !== undefined) {
      return Promise.reject(new Error("Another receive() is already waiting on this socket: receive one message at a time"));
    }
    if (bound === undefined || (bound.timeoutMs === undefined && bound.signal === undefined)) {
      return new Promise((resolve, reject) => {
        this.#waiter = { map, ended, resolve: resolve as (value: unknown) => void, reject };
      });
    }
    return this.#boundedWait(map, ended, bound);
  }

  /**
   * A wait that can give up. Giving up withdraws the waiter, so the mailbox is as if the receive
   * never happened: a message arriving later is queued for the next receive, none is lost.
   */
  #boundedWait<T, E>(map: (data: Buffer, isBinary: boolean) => T, ended: E | typeof NO_END, bound: ReceiveOptions): Promise<T | E> {
    const { timeoutMs, signal } = bound;
    if (timeoutMs !== undefined && !(timeoutMs >= 0 && timeoutMs <= 2_147_483_647)) {
      return Promise.reject(new RangeError(`timeoutMs must be between 0 and 2147483647, got ${timeoutMs}`));
    }
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const settle = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      const withdraw = (error: Error): void => {
        // Only if still waiting: a message (or the end) that already claimed this waiter wins.
        if (this.#waiter !== waiter) return;
        this.#waiter = undefined;
        settle();
        reject(error);
      };
      const onAbort = (): void => withdraw(abortReason(signal!));
      const waiter: Waiter = {
        map,
        ended,
        resolve: (value) => {
          settle();
          resolve(value as T | E);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      };
      this.#waiter = waiter;
      if (timeoutMs !== undefined) timer = setTimeout(() => withdraw(new ReceiveTimeoutError(timeoutMs)), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** No more messages will come; waiting and later receives fail with this disconnect. */
  end(code: number, reason: string): void {
    if (this.#ended !== undefined) return;
    this.#ended = { code, reason };
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter === undefined) return;
    if (waiter.ended === NO_END) waiter.reject(this.#disconnect());
    else waiter.resolve(waiter.ended);
  }

  #disconnect(): WebSocketDisconnect {
    const ended = this.#ended!;
    return (ended.error ??= new WebSocketDisconnect(ended.code, ended.reason));
  }
}
