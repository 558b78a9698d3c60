/**
 * The memory backend (the default): one process, no I/O. A publish is delivered synchronously
 * to every attached channels instance; each channel keeps its last `history` messages in a
 * bounded ring (by count, never by age).
 */
import type { BackendSettings, BackendSink, ChannelBackend, ChannelMessage } from "./backend.js";
import type { Envelope } from "./payload.js";

class Ring {
  readonly #items: (ChannelMessage | undefined)[];
  #next = 0;
  #size = 0;
  constructor(readonly capacity: number) {
    this.#items = new Array<ChannelMessage | undefined>(capacity);
  }
  push(message: ChannelMessage): void {
    this.#items[this.#next] = message;
    this.#next = (this.#next + 1) % this.capacity;
    if (this.#size < this.capacity) this.#size++;
  }
  /** The last `count`, oldest first. */
  last(count: number): ChannelMessage[] {
    const n = Math.min(count, this.#size);
    const out: ChannelMessage[] = [];
    for (let i = n; i > 0; i--) out.push(this.#items[(this.#next - i + this.capacity) % this.capacity]!);
    return out;
  }
}

export interface MemoryBackendOptions {
  /** Messages kept per channel; default: the channels instance's `history` (the largest, when several share this backend). */
  readonly history?: number;
}

class MemoryBackend implements ChannelBackend {
  readonly kind = "memory";
  readonly #sinks = new Set<BackendSink>();
  readonly #rings = new Map<string, Ring>();
  readonly #fixedHistory: number | undefined;
  #history = 0;
  #sequence = 0;

  constructor(options: MemoryBackendOptions) {
    this.#fixedHistory = options.history;
  }

  attach(sink: BackendSink, settings: BackendSettings): () => void {
    this.#sinks.add(sink);
    this.#history = this.#fixedHistory ?? Math.max(this.#history, settings.history);
    return () => void this.#sinks.delete(sink);
  }

  publish(envelope: Envelope, channels: readonly string[]): Promise<void> {
    for (const channel of channels) {
      const message: ChannelMessage = { ...envelope, channel, id: String(++this.#sequence) };
      if (this.#history > 0) {
        let ring = this.#rings.get(channel);
        if (ring === undefined) this.#rings.set(channel, (ring = new Ring(this.#history)));
        ring.push(message);
      }
      for (const sink of this.#sinks) sink.deliver(message);
    }
    return Promise.resolve();
  }

  listen(): Promise<void> {
    return Promise.resolve();
  }

  unlisten(): Promise<void> {
    return Promise.resolve();
  }

  history(channel: string, count: number): Promise<ChannelMessage[]> {
    return Promise.resolve(this.#rings.get(channel)?.last(count) ?? []);
  }

  /** Nothing to release: detaching (done by each channels instance) is all it takes. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** An in-process backend: every channels instance attached to it shares its channels. */
export function memoryBackend(options: MemoryBackendOptions = {}): ChannelBackend {
  return new MemoryBackend(options);
}
