/** What the parts of one channels instance share: its local fan-out, its limits, its counters, its host. */
import { ChannelsClosedError, UnknownChannelError } from "./errors.js";
import type { LocalFanOut } from "./fan-out.js";
import type { BacklogOptions } from "./subscriber.js";

export interface Counters {
  published: number;
  serialized: number;
  dropped: number;
  disconnected: number;
}

/** Where subscriptions of connections are reported (the app's `PluginHost`, once the plugin is set up). */
export interface SubscriptionReporter {
  subscribed(connectionId: number, channel: string): void;
  unsubscribed(connectionId: number, channel: string): void;
}

export class ChannelsCore {
  readonly counters: Counters = { published: 0, serialized: 0, dropped: 0, disconnected: 0 };
  reporter: SubscriptionReporter | undefined;
  closed = false;
  readonly #declared: ReadonlySet<string>;
  readonly #arbitrary: boolean;

  constructor(
    readonly fanOut: LocalFanOut,
    readonly backlog: BacklogOptions,
    readonly origin: string,
    declared: readonly string[],
    arbitrary: boolean,
  ) {
    this.#declared = new Set(declared);
    this.#arbitrary = arbitrary;
  }

  /** Whether `channel` may be used. */
  allows(channel: string): boolean {
    return this.#arbitrary || this.#declared.has(channel);
  }

  /** Throw at the call site for a channel that is not a non-empty string, or not declared. */
  check(channel: unknown, operation: string): void {
    if (this.closed) throw new ChannelsClosedError(operation);
    if (typeof channel !== "string" || channel === "") {
      throw new TypeError(`${operation}: a channel is a non-empty string, got ${channel === "" ? '""' : typeof channel}`);
    }
    if (!this.allows(channel)) throw new UnknownChannelError(channel);
  }

  /** The channels of a `string | string[]` argument, each checked, without duplicates. */
  list(channels: string | readonly string[], operation: string): string[] {
    const names = typeof channels === "string" ? [channels] : [...new Set(channels)];
    if (names.length === 0) throw new TypeError(`${operation}: no channel given`);
    for (const name of names) this.check(name, operation);
    return names;
  }

  onDrop = (): void => void this.counters.dropped++;
}
