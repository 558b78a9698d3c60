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
const NO_END = Symbol("reject on end");

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException("The receive was aborted", "AbortError");
}

const asMessage = (data: Buffer, isBinary: boolean): InboundMessage => ({ data, isBinary });

export class Mailbox extends InboundQueue {
  // The one waiting receive, as fields rather than an object per wait (docs/architecture.md §5):
  // `#resolve` is set while a receive waits; `#map` makes its value, `#endValue` its value at the end.
  #resolve: ((value: unknown) => void) | undefined;
  #reject: ((error: Error) => void) | undefined;
  #map: ((data: Buffer, isBinary: boolean) => unknown) | undefined;
  #endValue: unknown;
  #ended: { readonly code: number; readonly reason: string; error?: WebSocketDisconnect } | undefined;

  push(data: Buffer, isBinary: boolean): void {
    if (this.#ended !== undefined) return;
    const resolve = this.#resolve;
    if (resolve !== undefined) {
      const map = this.#map!;
      this.#release();
      // Taken the moment it arrived.
      const observers = this.flow.observers;
      if (observers?.active === true) observers.messagesHandled(this.flow.id ?? 0, 0, 1);
      resolve(map(data, isBinary));
      return;
    }
    this.enqueue(data, isBinary, this.arrival());
  }

  take(bound?: ReceiveOptions): Promise<InboundMessage> {
    return this.takeAs(asMessage, NO_END, bound) as Promise<InboundMessage>;
  }

  takeAs<T, E>(map: (data: Buffer, isBinary: boolean) => T, ended: E | typeof NO_END, bound?: ReceiveOptions): Promise<T | E> {
    if (bound?.signal?.aborted === true) return Promise.reject(abortReason(bound.signal));
    if (this.size > 0) {
      const message = this.dequeue();
      if (message.arrivedAt !== 0) this.handled(message.arrivedAt);
      return Promise.resolve(map(message.data, message.isBinary));
    }
    if (this.#ended !== undefined) return ended === NO_END ? Promise.reject(this.#disconnect()) : Promise.resolve(ended);
    if (this.#resolve !== undefined) {
      return Promise.reject(new Error("Another receive() is already waiting on this socket: receive one message at a time"));
    }
    if (bound === undefined || (bound.timeoutMs === undefined && bound.signal === undefined)) {
      return new Promise((resolve, reject) => this.#wait(map, ended, resolve as (value: unknown) => void, reject));
    }
    return this.#boundedWait(map, ended, bound);
  }

  #wait(map: (data: Buffer, isBinary: boolean) => unknown, ended: unknown, resolve: (value: unknown) => void, reject: (error: Error) => void): void {
    this.#map = map;
    this.#endValue = ended;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  #release(): void {
    this.#resolve = undefined;
    this.#reject = undefined;
    this.#map = undefined;
    this.#endValue = undefined;
  }

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
      const resolveWait = (value: unknown): void => {
        settle();
        resolve(value as T | E);
      };
      const withdraw = (error: Error): void => {
        // Only if still waiting: a message (or the end) that already claimed this wait wins.
        if (this.#resolve !== resolveWait) return;
        this.#release();
        settle();
        reject(error);
      };
      const onAbort = (): void => withdraw(abortReason(signal!));
      this.#wait(map, ended, resolveWait, (error) => {
        settle();
        reject(error);
      });
      if (timeoutMs !== undefined) timer = setTimeout(() => withdraw(new ReceiveTimeoutError(timeoutMs)), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  end(code: number, reason: string): void {
    if (this.#ended !== undefined) return;
    this.#ended = { code, reason };
    const resolve = this.#resolve;
    if (resolve === undefined) return;
    const reject = this.#reject!;
    const ended = this.#endValue;
    this.#release();
    if (ended === NO_END) reject(this.#disconnect());
    else resolve(ended);
  }

  #disconnect(): WebSocketDisconnect {
    const ended = this.#ended!;
    return (ended.error ??= new WebSocketDisconnect(ended.code, ended.reason));
  }
}
