/**
 * A bounded buffer that keeps the newest `capacity` items: pushing onto a full one evicts the
 * oldest. The inspector keeps each connection's timeline and its recently closed connections
 * in these, so its memory is bounded however long the app runs.
 */
export class RingBuffer<T> {
  readonly capacity: number;
  /** Items evicted so far (pushed, then pushed out by newer ones). */
  evicted = 0;
  readonly #items: (T | undefined)[] = [];
  /** Where the oldest item is, once the buffer has filled. */
  #start = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`A ring buffer holds at least 1 item: got ${String(capacity)}`);
    this.capacity = capacity;
  }

  get size(): number {
    return this.#items.length;
  }

  /** Add `item` as the newest; returns the item it evicted, if any. */
  push(item: T): T | undefined {
    if (this.#items.length < this.capacity) {
      this.#items.push(item);
      return undefined;
    }
    const oldest = this.#items[this.#start];
    this.#items[this.#start] = item;
    this.#start = (this.#start + 1) % this.capacity;
    this.evicted++;
    return oldest;
  }

  /** The items, oldest first. */
  toArray(): T[] {
    const items = this.#items as T[];
    return this.#start === 0 ? items.slice() : [...items.slice(this.#start), ...items.slice(0, this.#start)];
  }

  /** The newest item, if any. */
  last(): T | undefined {
    if (this.#items.length === 0) return undefined;
    return this.#items[(this.#start + this.#items.length - 1) % this.#items.length];
  }

  /** The items, oldest first, for which `keep` is true (e.g. those newer than a sequence number). */
  filter(keep: (item: T) => boolean): T[] {
    return this.toArray().filter(keep);
  }
}
