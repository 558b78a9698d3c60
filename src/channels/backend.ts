/**
 * What a channels backend does: carry each published envelope to every process listening on
 * its channels (in publish order per publisher), keep each channel's last messages, and say
 * which of them are where in the channel's order (message ids), so that a subscriber replaying
 * history joins the live feed without a gap or a duplicate.
 */
import type { Logger } from "../connection/logger.js";
import type { Envelope } from "./payload.js";

/** One message of one channel as a backend delivers or stores it. */
export interface ChannelMessage extends Envelope {
  readonly channel: string;
  /**
   * Its place in the channel: ids compare with `compareIds` and grow with publish order.
   * `undefined` when the backend keeps no order (then no history exists to deduplicate against).
   */
  readonly id: string | undefined;
}

/** Where a backend delivers the messages of the channels it listens to. */
export interface BackendSink {
  deliver(message: ChannelMessage): void;
}

export interface BackendSettings {
  /** Messages kept per channel for `history` (0: none). */
  readonly history: number;
}

/** Whether a backend can reach what it needs (Redis). */
export interface BackendHealth {
  readonly status: "up" | "down";
  /** `Date.now()` when the status last changed. */
  readonly since: number;
  /** Why it is down: the last connection error. */
  readonly error?: string;
}

export interface ChannelBackend {
  /** `"memory"`, `"redis-pubsub"`, `"redis-streams"`, … (stats and logs). */
  readonly kind: string;
  /** Attach a sink; called once per channels instance that uses this backend. Returns the function that detaches it. */
  attach(sink: BackendSink, settings: BackendSettings): () => void;
  /** Send one envelope to each channel, in call order per caller. Resolves once the backend took it. */
  publish(envelope: Envelope, channels: readonly string[]): Promise<void>;
  /** Start delivering `channel` to the sinks (the first local subscriber); resolves once every later publish will be delivered. */
  listen(channel: string): Promise<void>;
  /** Stop delivering `channel` (its last local subscriber left). */
  unlisten(channel: string): Promise<void>;
  /** The channel's last `count` messages, oldest first. */
  history(channel: string, count: number): Promise<ChannelMessage[]>;
  /** Release connections and timers; nothing is delivered afterwards. */
  close(): Promise<void>;
  /** Whether it can reach what it needs; a backend without this (the memory one) is always up. */
  health?(): BackendHealth;
  /** Where it reports going down and coming back (the app's logger, given by the channels plugin). */
  useLogger?(logger: Logger): void;
}

function parts(id: string): [number, number] {
  const dash = id.indexOf("-");
  if (dash < 0) return [Number(id), 0];
  return [Number(id.slice(0, dash)), Number(id.slice(dash + 1))];
}

/** Order of two message ids of the same channel: plain counters (`"41"`) or Redis stream ids (`"1700000000000-3"`). */
export function compareIds(a: string, b: string): number {
  const [a1, a2] = parts(a);
  const [b1, b2] = parts(b);
  return a1 !== b1 ? a1 - b1 : a2 - b2;
}
