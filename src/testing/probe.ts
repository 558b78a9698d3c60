/**
 * A probe: an observer that records, per connection, everything the invariants need. Attach it
 * to any app (`app.observe(probe)`), including a user's own.
 */
import type { ConnectionEventType, ConnectionOutcome, ConnectionState } from "../../machines/connection.js";
import type { ConnectionInfo, ConnectionObserver } from "../connection/observer.js";

export interface MessageRecord {
  readonly size: number;
  readonly isBinary: boolean;
}

export interface ConnectionRecord {
  readonly info: ConnectionInfo;
  readonly transitions: { readonly from: ConnectionState; readonly event: ConnectionEventType; readonly to: ConnectionState }[];
  readonly received: MessageRecord[];
  readonly sent: MessageRecord[];
  /** Frames the runtime handed to the transport once the connection was closing or closed: must stay 0. */
  sentAfterClose: number;
  readonly handlerErrors: unknown[];
  handlerStarts: number;
  handlerFinishes: number;
  readonly acquired: string[];
  readonly released: string[];
  readonly outcomes: ConnectionOutcome[];
  readonly subscribed: string[];
  readonly unsubscribed: string[];
  /** The lifecycle state as last reported. */
  state: ConnectionState;
}

export class Probe implements ConnectionObserver {
  readonly connections = new Map<number, ConnectionRecord>();

  #record(id: number): ConnectionRecord | undefined {
    return this.connections.get(id);
  }

  connectionStarted(info: ConnectionInfo): void {
    this.connections.set(info.id, {
      info,
      transitions: [],
      received: [],
      sent: [],
      sentAfterClose: 0,
      handlerErrors: [],
      handlerStarts: 0,
      handlerFinishes: 0,
      acquired: [],
      released: [],
      outcomes: [],
      subscribed: [],
      unsubscribed: [],
      state: "connecting",
    });
  }

  transition(id: number, from: ConnectionState, event: ConnectionEventType, to: ConnectionState): void {
    const record = this.#record(id);
    if (record === undefined) return;
    record.transitions.push({ from, event, to });
    record.state = to;
  }

  messageIn(id: number, size: number, isBinary: boolean): void {
    this.#record(id)?.received.push({ size, isBinary });
  }

  messageOut(id: number, size: number, isBinary: boolean): void {
    const record = this.#record(id);
    if (record === undefined) return;
    if (record.state === "closing" || record.state === "closed") record.sentAfterClose++;
    record.sent.push({ size, isBinary });
  }

  handlerStarted(id: number): void {
    const record = this.#record(id);
    if (record !== undefined) record.handlerStarts++;
  }

  handlerError(id: number, error: unknown): void {
    this.#record(id)?.handlerErrors.push(error);
  }

  handlerFinished(id: number): void {
    const record = this.#record(id);
    if (record !== undefined) record.handlerFinishes++;
  }

  dependencyAcquired(id: number, name: string): void {
    this.#record(id)?.acquired.push(name);
  }

  dependencyReleased(id: number, name: string): void {
    this.#record(id)?.released.push(name);
  }

  connectionClosed(id: number, outcome: ConnectionOutcome): void {
    this.#record(id)?.outcomes.push(outcome);
  }

  subscribed(id: number, channel: string): void {
    this.#record(id)?.subscribed.push(channel);
  }

  unsubscribed(id: number, channel: string): void {
    this.#record(id)?.unsubscribed.push(channel);
  }

  /** The record of the connection whose request URL carries `tag` (the runner tags each flow's URL). */
  byTag(tag: string): ConnectionRecord | undefined {
    // `sw-flow=1` must not match `sw-flow=12`: the tag ends the URL or a parameter.
    for (const record of this.connections.values()) {
      const { url } = record.info;
      const at = url.indexOf(tag);
      if (at > 0 && (url[at - 1] === "?" || url[at - 1] === "&") && (at + tag.length === url.length || url[at + tag.length] === "&")) return record;
    }
    return undefined;
  }
}

/**
 * A ledger for resources the app acquires itself (a database handle, a room membership): call
 * `acquire(kind)` and `release(kind)` in your code; the invariants then require every kind to
 * balance once the connections are gone.
 */
export class ResourceLedger {
  readonly #balance = new Map<string, number>();

  acquire(kind: string): void {
    this.#balance.set(kind, (this.#balance.get(kind) ?? 0) + 1);
  }

  release(kind: string): void {
    this.#balance.set(kind, (this.#balance.get(kind) ?? 0) - 1);
  }

  /** Forget everything: call at the start of each property run, so one run's leak is not blamed on the next. */
  reset(): void {
    this.#balance.clear();
  }

  /** Kinds whose acquisitions and releases do not match, with the difference. */
  unbalanced(): { readonly kind: string; readonly outstanding: number }[] {
    return [...this.#balance].filter(([, n]) => n !== 0).map(([kind, outstanding]) => ({ kind, outstanding }));
  }
}
