/**
 * The local fan-out: which subscribers of this process listen to which channel. A message the
 * backend delivers is offered, as the one value it is, to each subscriber of its channel. The
 * backend is asked to listen to a channel when its first local subscriber arrives and to stop
 * when the last one leaves; those requests are chained per channel so they reach the backend
 * in order.
 */
import type { BackendSink, ChannelBackend, ChannelMessage } from "./backend.js";
import type { Subscriber } from "./subscriber.js";

const RESOLVED = Promise.resolve();

/**
 * A channel's local subscribers as a flat array (a publish walks it with an index: no iterator
 * object, no hash-table walk) plus each one's slot, for an O(1) removal that moves the last one
 * into the gap. A removal while a publish walks the array only empties the slot; the array is
 * compacted when the walk ends, so the walk visits each member once.
 */
class Members {
  list: (Subscriber | undefined)[] = [];
  readonly slots = new Map<Subscriber, number>();
  /** Publishes walking `list` now (a send may publish again). */
  walking = 0;
  holes = 0;

  get size(): number {
    return this.slots.size;
  }

  add(subscriber: Subscriber): void {
    if (this.slots.has(subscriber)) return;
    this.slots.set(subscriber, this.list.length);
    this.list.push(subscriber);
  }

  delete(subscriber: Subscriber): boolean {
    const slot = this.slots.get(subscriber);
    if (slot === undefined) return false;
    this.slots.delete(subscriber);
    const list = this.list;
    if (this.walking > 0) {
      list[slot] = undefined;
      this.holes++;
      return true;
    }
    const last = list.pop()!;
    if (slot < list.length) {
      list[slot] = last;
      this.slots.set(last, slot);
    }
    return true;
  }

  /** After a walk: close the gaps removals left. */
  compact(): void {
    if (this.walking > 0 || this.holes === 0) return;
    const list: Subscriber[] = [];
    for (const subscriber of this.list) {
      if (subscriber === undefined) continue;
      this.slots.set(subscriber, list.length);
      list.push(subscriber);
    }
    this.list = list;
    this.holes = 0;
  }
}

export class LocalFanOut implements BackendSink {
  readonly #channels = new Map<string, Members>();
  readonly #chains = new Map<string, Promise<void>>();
  readonly #backend: ChannelBackend;
  readonly #origin: string;
  /** Messages offered to local subscribers. */
  offered = 0;

  constructor(backend: ChannelBackend, origin: string) {
    this.#backend = backend;
    this.#origin = origin;
  }

  /** Local subscribers, counted once per channel they listen to. */
  get subscriptions(): number {
    let count = 0;
    for (const set of this.#channels.values()) count += set.size;
    return count;
  }

  get channelCount(): number {
    return this.#channels.size;
  }

  deliver(message: ChannelMessage): void {
    const members = this.#channels.get(message.channel);
    if (members === undefined) return;
    const except = message.except !== undefined && message.origin === this.#origin ? message.except : undefined;
    // Those who join during this publish (a send that joined) are not offered it: the length is read once.
    const list = members.list;
    const count = list.length;
    members.walking++;
    try {
      if (except === undefined) {
        for (let i = 0; i < count; i++) {
          const subscriber = list[i];
          if (subscriber === undefined) continue;
          this.offered++;
          subscriber.offer(message);
        }
      } else {
        for (let i = 0; i < count; i++) {
          const subscriber = list[i];
          if (subscriber === undefined || (subscriber.socketId !== undefined && except.includes(subscriber.socketId))) continue;
          this.offered++;
          subscriber.offer(message);
        }
      }
    } finally {
      members.walking--;
      members.compact();
    }
  }

  /**
   * Add `subscriber` to `channel`. With `replay` > 0 its last `replay` messages come first, then
   * the live ones. Resolves once every later publish reaches the subscriber.
   */
  add(subscriber: Subscriber, channel: string, replay: number): Promise<void> {
    let subscribers = this.#channels.get(channel);
    if (subscribers === undefined) this.#channels.set(channel, (subscribers = new Members()));
    const first = subscribers.size === 0;
    subscribers.add(subscriber);
    if (replay > 0) subscriber.hold(channel);
    const listening = first ? this.#chain(channel, () => this.#backend.listen(channel)) : (this.#chains.get(channel) ?? RESOLVED);
    if (replay <= 0) return listening;
    return listening.then(
      async () => {
        let history: ChannelMessage[] = [];
        try {
          history = await this.#backend.history(channel, replay);
        } finally {
          subscriber.replayed(channel, history);
        }
      },
      (error: unknown) => {
        subscriber.replayed(channel, []);
        throw error;
      },
    );
  }

  remove(subscriber: Subscriber, channel: string): void {
    const subscribers = this.#channels.get(channel);
    if (subscribers === undefined || !subscribers.delete(subscriber)) return;
    if (subscribers.size > 0) return;
    this.#channels.delete(channel);
    void this.#chain(channel, () => this.#backend.unlisten(channel)).catch(() => {});
  }

  /** Run `step` after the channel's previous backend request settled. */
  #chain(channel: string, step: () => Promise<void>): Promise<void> {
    const previous = this.#chains.get(channel) ?? RESOLVED;
    const next = previous.then(step, step);
    this.#chains.set(channel, next);
    const forget = (): void => {
      if (this.#chains.get(channel) === next) this.#chains.delete(channel);
    };
    next.then(forget, forget);
    return next;
  }
}
