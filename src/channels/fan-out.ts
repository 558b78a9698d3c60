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

export class LocalFanOut implements BackendSink {
  readonly #channels = new Map<string, Set<Subscriber>>();
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
    const subscribers = this.#channels.get(message.channel);
    if (subscribers === undefined) return;
    const except = message.except !== undefined && message.origin === this.#origin ? message.except : undefined;
    for (const subscriber of subscribers) {
      if (except !== undefined && subscriber.socketId !== undefined && except.includes(subscriber.socketId)) continue;
      this.offered++;
      subscriber.offer(message);
    }
  }

  /**
   * Add `subscriber` to `channel`. With `replay` > 0 its last `replay` messages come first, then
   * the live ones. Resolves once every later publish reaches the subscriber.
   */
  add(subscriber: Subscriber, channel: string, replay: number): Promise<void> {
    let subscribers = this.#channels.get(channel);
    if (subscribers === undefined) this.#channels.set(channel, (subscribers = new Set()));
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
