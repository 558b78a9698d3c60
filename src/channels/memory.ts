/**
 * The memory backend (the default): one process, no I/O. A publish is delivered synchronously
 * to every attached channels instance; each channel keeps its last `history` messages in a
 * bounded ring (by count).
 *
 * Channel names often come from clients (`/rooms/:room`), so a channel nobody listens to is
 * idle and its history is forgettable: the least recently used idle channels are forgotten past
 * `maxIdleChannels` or `maxIdleBytes`, and any idle channel after `idleTimeoutMs` without use.
 * A channel with a listener is never forgotten: its history is exact while it is in use.
 */
import type { BackendSettings, BackendSink, ChannelBackend, ChannelMessage } from "./backend.js";
import type { Envelope } from "./payload.js";

/** Bytes a message's payload holds, O(1): a string counts 2 bytes per UTF-16 unit (an upper bound). */
const sizeOf = (message: ChannelMessage): number =>
  typeof message.payload === "string" ? message.payload.length * 2 : message.payload.byteLength;

class Ring {
  readonly #items: (ChannelMessage | undefined)[];
  #next = 0;
  #size = 0;
  /** Payload bytes held. */
  bytes = 0;
  constructor(readonly capacity: number) {
    this.#items = new Array<ChannelMessage | undefined>(capacity);
  }
  push(message: ChannelMessage): void {
    const evicted = this.#items[this.#next];
    if (evicted !== undefined) this.bytes -= sizeOf(evicted);
    this.#items[this.#next] = message;
    this.bytes += sizeOf(message);
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
  /**
   * Most channels nobody listens to whose history is kept; past it the least recently used one
   * is forgotten. Default 1 000.
   */
  readonly maxIdleChannels?: number;
  /**
   * Most payload bytes kept in the history of channels nobody listens to (strings count 2 bytes
   * per character); past it the least recently used are forgotten. Default 64 MiB.
   */
  readonly maxIdleBytes?: number;
  /**
   * The history of a channel nobody listens to is forgotten this long after it was last used
   * (published to, read, listened to). Default 600 000 (10 minutes); `Infinity`: never by age.
   */
  readonly idleTimeoutMs?: number;
}

/** What a memory backend holds right now, and what it forgot. */
export interface MemoryRetention {
  /** Channels with a listener or with history. */
  readonly channels: number;
  /** Of those, channels nobody listens to (kept only for their history). */
  readonly idle: number;
  /** Payload bytes of the idle channels' history. */
  readonly idleBytes: number;
  /** Idle channels forgotten so far (count, bytes or age). */
  readonly evicted: number;
}

export interface MemoryChannelBackend extends ChannelBackend {
  readonly kind: "memory";
  /** What it holds now: bounded by the options, whatever names clients make up. */
  retention(): MemoryRetention;
}

interface ChannelState {
  /** `listen` calls not yet matched by `unlisten` (one per attached channels instance listening). */
  listeners: number;
  ring: Ring | undefined;
  /** `Date.now()` when it was last used, for `idleTimeoutMs`. */
  usedAt: number;
}

function positive(name: string, value: number): number {
  if (!(value > 0)) throw new RangeError(`memoryBackend: ${name} must be positive, got ${String(value)}`);
  return value;
}

class MemoryBackend implements MemoryChannelBackend {
  readonly kind = "memory";
  readonly #sinks = new Set<BackendSink>();
  readonly #channels = new Map<string, ChannelState>();
  /** Idle channels with history, least recently used first (a Map keeps insertion order). */
  readonly #idle = new Map<string, ChannelState>();
  #idleBytes = 0;
  #evicted = 0;
  readonly #fixedHistory: number | undefined;
  readonly #maxIdleChannels: number;
  readonly #maxIdleBytes: number;
  readonly #idleTimeoutMs: number;
  #sweeper: NodeJS.Timeout | undefined;
  #history = 0;
  #sequence = 0;

  constructor(options: MemoryBackendOptions) {
    this.#fixedHistory = options.history;
    this.#maxIdleChannels = positive("maxIdleChannels", options.maxIdleChannels ?? 1000);
    this.#maxIdleBytes = positive("maxIdleBytes", options.maxIdleBytes ?? 64 * 1024 * 1024);
    this.#idleTimeoutMs = positive("idleTimeoutMs", options.idleTimeoutMs ?? 600_000);
  }

  attach(sink: BackendSink, settings: BackendSettings): () => void {
    this.#sinks.add(sink);
    this.#history = this.#fixedHistory ?? Math.max(this.#history, settings.history);
    if (this.#sweeper === undefined && Number.isFinite(this.#idleTimeoutMs)) {
      // Expiry also runs on every publish; the timer covers an app that went quiet.
      this.#sweeper = setInterval(() => this.#expire(Date.now()), Math.min(this.#idleTimeoutMs, 60_000));
      this.#sweeper.unref();
    }
    return () => void this.#sinks.delete(sink);
  }

  publish(envelope: Envelope, channels: readonly string[]): Promise<void> {
    const now = Date.now();
    for (const channel of channels) {
      const message: ChannelMessage = { ...envelope, channel, id: String(++this.#sequence) };
      if (this.#history > 0) this.#keep(channel, message, now);
      for (const sink of this.#sinks) sink.deliver(message);
    }
    this.#expire(now);
    return Promise.resolve();
  }

  listen(channel: string): Promise<void> {
    let state = this.#channels.get(channel);
    if (state === undefined) this.#channels.set(channel, (state = { listeners: 0, ring: undefined, usedAt: 0 }));
    if (state.listeners++ === 0) this.#unidle(channel, state);
    state.usedAt = Date.now();
    return Promise.resolve();
  }

  unlisten(channel: string): Promise<void> {
    const state = this.#channels.get(channel);
    if (state === undefined || state.listeners === 0) return Promise.resolve();
    state.usedAt = Date.now();
    if (--state.listeners === 0) {
      if (state.ring === undefined) this.#channels.delete(channel);
      else this.#idleAgain(channel, state);
    }
    return Promise.resolve();
  }

  history(channel: string, count: number): Promise<ChannelMessage[]> {
    const state = this.#channels.get(channel);
    if (state === undefined) return Promise.resolve([]);
    this.#touch(channel, state, Date.now());
    return Promise.resolve(state.ring?.last(count) ?? []);
  }

  retention(): MemoryRetention {
    return { channels: this.#channels.size, idle: this.#idle.size, idleBytes: this.#idleBytes, evicted: this.#evicted };
  }

  close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    return Promise.resolve();
  }

  #keep(channel: string, message: ChannelMessage, now: number): void {
    let state = this.#channels.get(channel);
    if (state === undefined) this.#channels.set(channel, (state = { listeners: 0, ring: undefined, usedAt: now }));
    const idle = state.listeners === 0;
    if (idle && state.ring !== undefined) this.#idleBytes -= state.ring.bytes;
    (state.ring ??= new Ring(this.#history)).push(message);
    if (!idle) return;
    this.#idleBytes += state.ring.bytes;
    this.#touch(channel, state, now);
    this.#bound();
  }

  /** Used now: the most recently used idle channel. */
  #touch(channel: string, state: ChannelState, now: number): void {
    state.usedAt = now;
    if (state.listeners > 0) return;
    this.#idle.delete(channel);
    this.#idle.set(channel, state);
  }

  #unidle(channel: string, state: ChannelState): void {
    if (this.#idle.delete(channel) && state.ring !== undefined) this.#idleBytes -= state.ring.bytes;
  }

  #idleAgain(channel: string, state: ChannelState): void {
    this.#idle.set(channel, state);
    this.#idleBytes += state.ring?.bytes ?? 0;
    this.#bound();
  }

  /** Forget least recently used idle channels until within both bounds. */
  #bound(): void {
    while (this.#idle.size > this.#maxIdleChannels || (this.#idleBytes > this.#maxIdleBytes && this.#idle.size > 0)) {
      this.#forget(this.#idle.keys().next().value as string);
    }
  }

  /** Forget idle channels unused for `idleTimeoutMs` (the oldest come first). */
  #expire(now: number): void {
    for (const [channel, state] of this.#idle) {
      if (now - state.usedAt < this.#idleTimeoutMs) return;
      this.#forget(channel);
    }
  }

  #forget(channel: string): void {
    const state = this.#idle.get(channel);
    if (state === undefined) return;
    this.#idle.delete(channel);
    this.#channels.delete(channel);
    this.#idleBytes -= state.ring?.bytes ?? 0;
    this.#evicted++;
  }
}

/** An in-process backend: every channels instance attached to it shares its channels. */
export function memoryBackend(options: MemoryBackendOptions = {}): MemoryChannelBackend {
  return new MemoryBackend(options);
}
