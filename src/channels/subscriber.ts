/**
 * A subscriber: one consumer of one or more channels, with a bounded backlog between the
 * channels and the consumer. A consumer slower than its channels fills the backlog; past `max`
 * the strategy decides: drop the oldest queued message, drop the newest, or disconnect (the
 * owner closes the connection with 1008). Drops are counted.
 *
 * While a channel's history is being replayed, the live messages of that channel are held, then
 * released after the history with every message the history already held left out (by id), so
 * the seam has no gap and no duplicate.
 */
import { compareIds, type ChannelMessage } from "./backend.js";
import type { Payload } from "./payload.js";

export type BacklogStrategy = "drop-oldest" | "drop-newest" | "disconnect";

export interface BacklogOptions {
  /** Messages a subscriber may have waiting for its consumer. */
  readonly max: number;
  readonly strategy: BacklogStrategy;
}

/** A subscriber without a connection whose backlog overflowed with `"disconnect"`: its iteration throws this. */
export class BacklogOverflowError extends Error {
  override readonly name = "BacklogOverflowError";
  /** Stable across releases: branch on it rather than on the message. */
  readonly errorCode = "SW_ERR_BACKLOG_OVERFLOW" as const;
  constructor(readonly max: number) {
    super(`Channel subscriber fell more than ${max} messages behind`);
  }
}

/** A FIFO with O(1) shift (array plus head index, compacted now and then). */
class Queue<T> {
  #items: T[] = [];
  #head = 0;
  get length(): number {
    return this.#items.length - this.#head;
  }
  push(item: T): void {
    this.#items.push(item);
  }
  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head]!;
    this.#items[this.#head++] = undefined as T;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
  filter(keep: (item: T) => boolean): void {
    this.#items = this.#items.slice(this.#head).filter(keep);
    this.#head = 0;
  }
}

export interface SubscriberEvents {
  /** The backlog overflowed under `"disconnect"` (e.g. close the connection with 1008); the subscriber then ends. Without it, iteration throws `BacklogOverflowError`. */
  readonly onOverflow?: () => void;
  /** Called once, when the subscriber ends for any reason. */
  readonly onEnd?: () => void;
  /** A message was dropped by the backlog strategy. */
  readonly onDrop?: () => void;
}

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };

/**
 * A consumer that takes each message synchronously, as it is published (a connection's send).
 * `forward` returns `undefined` when it is ready for the next one at once, or a promise to wait
 * for before the next (the connection applies backpressure): meanwhile messages wait in the
 * backlog. An object with a method, not a closure: one per connection, called per publish.
 */
export interface Forward {
  forward(message: ChannelMessage): PromiseLike<unknown> | undefined;
}

export class Subscriber implements AsyncIterableIterator<Payload> {
  // The queue and the replay maps are created on first use and dropped once empty: a publish to
  // a member that keeps up reads none of them (one object less to fetch per subscriber).
  #queue: Queue<ChannelMessage> | undefined;
  #held: Map<string, ChannelMessage[]> | undefined;
  /** Per replayed channel, the last id its history held: live messages up to it arriving late are duplicates. */
  #replayedUpTo: Map<string, string> | undefined;
  readonly #backlog: BacklogOptions;
  readonly #events: SubscriberEvents;
  #waiter: { resolve: (message: ChannelMessage | undefined) => void; reject: (error: unknown) => void } | undefined;
  /** Set by `forwardTo`: messages go to it synchronously instead of waiting for `take()`. */
  #forward: Forward | undefined;
  /** A forwarded message is being handed over, or its consumer asked to wait: the next ones queue. */
  #forwarding = false;
  /** A consumer is set, not busy, and the subscriber has not ended: `offer`'s one test for the common case. */
  #ready = false;
  #ended = false;
  #error: unknown;
  /** Messages the backlog strategy dropped. */
  dropped = 0;
  /** Messages handed to the consumer. */
  delivered = 0;

  /** `socketId`: the connection it belongs to (for `broadcast(…, { except })`), if any. */
  constructor(
    backlog: BacklogOptions,
    events: SubscriberEvents,
    readonly socketId: number | undefined,
  ) {
    this.#backlog = backlog;
    this.#events = events;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Messages waiting for the consumer. */
  get backlog(): number {
    let held = 0;
    for (const list of this.#held?.values() ?? []) held += list.length;
    return (this.#queue?.length ?? 0) + held;
  }

  /** A live message of one of its channels. */
  offer(message: ChannelMessage): void {
    // The common case (a member that keeps up, nothing queued, held nor replayed): straight to its consumer.
    if (this.#ready && this.#queue === undefined && this.#held === undefined && this.#replayedUpTo === undefined) {
      this.#hand(message);
      if (this.#queue !== undefined) this.#drain();
      return;
    }
    if (this.#ended) return;
    if (this.#held === undefined && this.#replayedUpTo === undefined) {
      this.#enqueue(message);
      return;
    }
    if (this.#replayedUpTo !== undefined && message.id !== undefined) {
      const upTo = this.#replayedUpTo.get(message.channel);
      if (upTo !== undefined) {
        if (compareIds(message.id, upTo) <= 0) return;
        // Backends deliver each channel in order: past the seam, nothing older can come.
        this.#forgetSeam(message.channel);
      }
    }
    const held = this.#held?.get(message.channel);
    if (held === undefined) {
      this.#enqueue(message);
      return;
    }
    if (this.backlog >= this.#backlog.max) {
      if (!this.#overflow()) return;
      if (this.#backlog.strategy === "drop-oldest") held.shift();
    }
    held.push(message);
  }

  /** Hold live messages of `channel` until `replayed(channel, …)`. */
  hold(channel: string): void {
    if (this.#ended) return;
    const held = (this.#held ??= new Map());
    if (!held.has(channel)) held.set(channel, []);
  }

  /** The history of `channel` (oldest first), then the live messages held meanwhile that it did not contain. */
  replayed(channel: string, history: readonly ChannelMessage[]): void {
    const held = this.#held?.get(channel);
    this.#unhold(channel);
    if (this.#ended) return;
    let last: string | undefined;
    for (const message of history) {
      this.#enqueue(message);
      if (message.id !== undefined) last = message.id;
    }
    let passed = false;
    for (const message of held ?? []) {
      if (last !== undefined && message.id !== undefined && compareIds(message.id, last) <= 0) continue;
      passed = true;
      this.#enqueue(message);
    }
    // The backend may still be delivering messages the history already had (its live feed lags
    // behind the history read): remember where the history ended until the feed passes it.
    if (last !== undefined && !passed) (this.#replayedUpTo ??= new Map()).set(channel, last);
  }

  /** Leave `channel`: what is queued or held of it is not delivered. */
  forget(channel: string): void {
    this.#unhold(channel);
    this.#forgetSeam(channel);
    this.#queue?.filter((message) => message.channel !== channel);
  }

  #unhold(channel: string): void {
    if (this.#held?.delete(channel) === true && this.#held.size === 0) this.#held = undefined;
  }

  #forgetSeam(channel: string): void {
    if (this.#replayedUpTo?.delete(channel) === true && this.#replayedUpTo.size === 0) this.#replayedUpTo = undefined;
  }

  /**
   * Hand every message to `forward` as it arrives, in order, instead of through `take()`: no
   * promise and no turn per message while the consumer keeps up. While it waits, messages queue
   * in the backlog (bounded by its strategy) and are forwarded once it is ready. The consumer
   * throwing, or the promise it returned rejecting, ends the subscriber with that error.
   */
  forwardTo(forward: Forward): void {
    if (this.#forward !== undefined || this.#waiter !== undefined) throw new Error("A channel subscription has one consumer at a time");
    this.#forward = forward;
    this.#ready = !this.#ended;
    this.#drain();
  }

  #enqueue(message: ChannelMessage): void {
    if (this.#ended) return;
    if (this.#forward !== undefined && !this.#forwarding && (this.#queue === undefined || this.#queue.length === 0)) {
      this.#hand(message);
      // Messages offered while it was being handed over (a send that published) queued behind it.
      if (this.#queue !== undefined && this.#queue.length > 0) this.#drain();
      return;
    }
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      this.delivered++;
      waiter.resolve(message);
      return;
    }
    if (this.backlog >= this.#backlog.max) {
      if (!this.#overflow()) return;
      if (this.#backlog.strategy === "drop-oldest") this.#queue?.shift();
    }
    (this.#queue ??= new Queue()).push(message);
  }

  /** Forward one message; afterwards `#forwarding` says whether the consumer is still busy with it. */
  #hand(message: ChannelMessage): void {
    this.#forwarding = true;
    this.#ready = false;
    this.delivered++;
    let wait: PromiseLike<unknown> | undefined;
    try {
      wait = this.#forward!.forward(message);
    } catch (error) {
      this.#forwarding = false;
      this.end(error);
      return;
    }
    if (wait === undefined) {
      this.#forwarding = false;
      this.#ready = !this.#ended;
    } else
      wait.then(
        () => {
          this.#forwarding = false;
          this.#ready = !this.#ended;
          this.#drain();
        },
        (error: unknown) => {
          this.#forwarding = false;
          this.end(error);
        },
      );
  }

  /** Forward what queued, in order, until the consumer waits or the queue is empty. */
  #drain(): void {
    while (!this.#forwarding && !this.#ended) {
      const message = this.#queue?.shift();
      if (message === undefined) {
        // Empty again: `offer` takes its one-test path.
        this.#queue = undefined;
        return;
      }
      this.#hand(message);
    }
  }

  /** One message too many: true when the new one is still to be queued (drop-oldest, which already dropped one). */
  #overflow(): boolean {
    this.dropped++;
    this.#events.onDrop?.();
    switch (this.#backlog.strategy) {
      case "drop-oldest":
        return true;
      case "drop-newest":
        return false;
      case "disconnect":
        if (this.#events.onOverflow === undefined) {
          this.end(new BacklogOverflowError(this.#backlog.max));
        } else {
          this.#events.onOverflow();
          this.end();
        }
        return false;
    }
  }

  /** The next message with its channel and id; `undefined` once ended. Rejects with the error it ended with, if any. */
  take(): Promise<ChannelMessage | undefined> {
    if (this.#forward !== undefined) return Promise.reject(new Error("A channel subscription has one consumer at a time"));
    const message = this.#queue?.shift();
    if (message !== undefined) {
      this.delivered++;
      return Promise.resolve(message);
    }
    if (this.#ended) return this.#error === undefined ? Promise.resolve(undefined) : Promise.reject(this.#error as Error);
    if (this.#waiter !== undefined) return Promise.reject(new Error("A channel subscription has one consumer at a time"));
    return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
  }

  /** End: nothing more is delivered, the consumer's pending wait ends (done, or `error`). Idempotent. */
  end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#ready = false;
    this.#error = error;
    this.#queue = undefined;
    this.#held = undefined;
    this.#replayedUpTo = undefined;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter !== undefined) {
      if (error === undefined) waiter.resolve(undefined);
      else waiter.reject(error);
    }
    this.#events.onEnd?.();
  }

  next(): Promise<IteratorResult<Payload, undefined>> {
    return this.take().then((message) => (message === undefined ? DONE : { value: message.payload, done: false }));
  }

  return(): Promise<IteratorResult<Payload, undefined>> {
    this.end();
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
