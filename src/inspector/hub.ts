/**
 * The inspection hub: what the inspector knows about connections, fed by the app's connection
 * observers (start, lifecycle transitions, messages with sizes, handler and dependency events,
 * close outcome). Bounded: each connection keeps the newest `timelineSize` timeline entries,
 * and only the newest `closedSize` closed connections are remembered.
 *
 * Why observers and not the actors' xstate inspection events: an `inspect` callback makes every
 * connection a full xstate actor (src/connection/lifecycle.ts) instead of the compiled machine,
 * costing kilobytes and tens of microseconds per connection, while the observers report the
 * same transitions of the same machine definition plus what inspection cannot see (route,
 * client, frames, which never pass through the machine). xstate's own inspectors still get
 * xstate's events through the app's `inspect` option.
 */
import type { ConnectionEventType, ConnectionOutcome, ConnectionState } from "../../machines/connection.js";
import type { ConnectionInfo, ConnectionObserver } from "../connection/observer.js";
import { describeCloseCode } from "./close-meaning.js";
import type { AnyStateMachine } from "xstate";
import { MachineDrawings } from "./machine-drawings.js";
import type { CloseSummary, ConnectionRow, MachineDrawing, StateCounts, TimelineEntry } from "./protocol.js";
import { describeError, pathOf, previewOf, shownUrl } from "./redact.js";
import { RingBuffer } from "./ring-buffer.js";

export interface HubOptions {
  /** Timeline entries kept per connection (the newest). Default 200. */
  readonly timelineSize?: number;
  /** Closed connections remembered (the newest), with their timelines. Default 100. */
  readonly closedSize?: number;
  /** Keep message payloads (a bounded preview), query strings and error messages. Default false: sizes only. */
  readonly payloads?: boolean;
  /** Route patterns whose connections are not tracked, only counted as viewers (the inspector's own feed). */
  readonly hiddenRoutes?: readonly string[];
}

type EntryBody = TimelineEntry extends infer E ? (E extends unknown ? Omit<E, "seq" | "at"> : never) : never;

/** One connection as the hub tracks it. */
export class TrackedConnection {
  readonly id: number;
  readonly route: string;
  readonly path: string;
  readonly client: string;
  readonly startedAt: number;
  readonly worker: number | undefined;
  state: ConnectionState = "connecting";
  messagesIn = 0;
  messagesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  dropped = 0;
  errors = 0;
  closedAt: number | undefined;
  close: CloseSummary | undefined;
  /** On a machine route: its handler machine's drawing key and current state. */
  machine: string | undefined;
  machineState: string | undefined;
  /** Closed, but the timeline's close line is not written yet. */
  pendingClose = false;
  /** The hub's sequence number at this connection's last change. */
  version = 0;
  readonly timeline: RingBuffer<TimelineEntry>;

  constructor(info: ConnectionInfo, timelineSize: number) {
    this.id = info.id;
    this.route = info.route;
    this.path = pathOf(info.url);
    this.client = `${info.client.host}:${info.client.port}`;
    this.startedAt = info.startedAt;
    this.worker = info.worker;
    this.timeline = new RingBuffer(timelineSize);
  }

  row(): ConnectionRow {
    const row = {
      id: this.id,
      route: this.route,
      path: this.path,
      client: this.client,
      state: this.state,
      startedAt: this.startedAt,
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      dropped: this.dropped,
      errors: this.errors,
      ...(this.worker === undefined ? {} : { worker: this.worker }),
    };
    const withMachine = this.machine === undefined ? row : { ...row, machine: this.machine, machineState: this.machineState ?? "" };
    return this.close === undefined || this.closedAt === undefined ? withMachine : { ...withMachine, closedAt: this.closedAt, close: this.close };
  }
}

export class InspectionHub implements ConnectionObserver {
  readonly payloads: boolean;
  readonly timelineSize: number;
  readonly closedSize: number;
  #seq = 0;
  readonly #live = new Map<number, TrackedConnection>();
  readonly #closed: RingBuffer<TrackedConnection>;
  readonly #closedById = new Map<number, TrackedConnection>();
  readonly #hiddenRoutes: ReadonlySet<string>;
  readonly #hidden = new Set<number>();
  readonly #counts: Record<ConnectionState, number> = { connecting: 0, open: 0, closing: 0, closed: 0 };
  #dirty = false;
  #onChange: (() => void) | undefined;
  readonly #machines = new MachineDrawings();

  constructor(options: HubOptions = {}) {
    this.payloads = options.payloads ?? false;
    this.timelineSize = options.timelineSize ?? 200;
    this.closedSize = options.closedSize ?? 100;
    this.#closed = new RingBuffer(this.closedSize);
    this.#hiddenRoutes = new Set(options.hiddenRoutes ?? []);
    // Validate the sizes now rather than at the first connection.
    new RingBuffer(this.timelineSize);
  }

  /** The sequence number of the newest change; everything newer than a number a viewer saw is news to it. */
  get seq(): number {
    return this.#seq;
  }

  /** Called (once) when something changes after the last `settle()`: the feed schedules its next update. */
  onChange(listener: (() => void) | undefined): void {
    this.#onChange = listener;
  }

  /** Something outside the connections changed (the app's health): viewers get a fresh update. */
  externalChange(): void {
    this.#seq++;
    this.#touch();
  }

  /** The feed sent what changed: the next change calls `onChange` again. */
  settle(): void {
    this.#dirty = false;
  }

  /** Live connections, oldest first. */
  live(): IterableIterator<TrackedConnection> {
    return this.#live.values();
  }

  isLive(id: number): boolean {
    return this.#live.has(id);
  }

  /** Remembered closed connections, oldest first. */
  closed(): TrackedConnection[] {
    return this.#closed.toArray();
  }

  /** A live or remembered closed connection. */
  find(id: number): TrackedConnection | undefined {
    return this.#live.get(id) ?? this.#closedById.get(id);
  }

  /** Live connections by state, and in `closed` every closed connection since the hub started. */
  counts(): StateCounts {
    return { ...this.#counts };
  }

  /** Connections to hidden routes open right now (pages watching the inspector). */
  get viewers(): number {
    return this.#hidden.size;
  }

  #changed(connection: TrackedConnection): void {
    connection.version = ++this.#seq;
    this.#touch();
  }

  /** Something changed: tell the feed, once until it settles. */
  #touch(): void {
    if (!this.#dirty) {
      this.#dirty = true;
      this.#onChange?.();
    }
  }

  #record(connection: TrackedConnection, body: EntryBody): void {
    connection.timeline.push({ seq: ++this.#seq, at: Date.now(), ...body } as TimelineEntry);
    this.#changed(connection);
  }

  #recordClose(connection: TrackedConnection): void {
    connection.pendingClose = false;
    if (connection.close !== undefined) this.#record(connection, { kind: "close", ...connection.close });
  }

  // ---- ConnectionObserver ----------------------------------------------------------------

  connectionStarted(info: ConnectionInfo): void {
    if (this.#hiddenRoutes.has(info.route)) {
      this.#hidden.add(info.id);
      this.#seq++;
      this.#touch();
      return;
    }
    const connection = new TrackedConnection(info, this.timelineSize);
    this.#live.set(info.id, connection);
    this.#counts.connecting++;
    this.#record(connection, { kind: "start", url: shownUrl(info.url, this.payloads) });
  }

  transition(id: number, from: ConnectionState, event: ConnectionEventType, to: ConnectionState): void {
    const connection = this.find(id);
    if (connection === undefined) return;
    if (this.#live.has(id)) {
      this.#counts[connection.state]--;
      this.#counts[to]++;
      connection.state = to;
    }
    this.#record(connection, { kind: "transition", event, from, to });
    // The runtime reports the close outcome while entering `closed`, before this transition:
    // the close line reads best after it.
    if (to === "closed" && connection.pendingClose) this.#recordClose(connection);
  }

  messageIn(id: number, size: number, isBinary: boolean, data: Buffer): void {
    const connection = this.#live.get(id);
    if (connection === undefined) return;
    connection.messagesIn++;
    connection.bytesIn += size;
    this.#frame(connection, "in", size, isBinary, data);
  }

  messageOut(id: number, size: number, isBinary: boolean, data: string | Uint8Array): void {
    const connection = this.#live.get(id);
    if (connection === undefined) return;
    connection.messagesOut++;
    connection.bytesOut += size;
    this.#frame(connection, "out", size, isBinary, data);
  }

  /** The per-frame entry, built in one object: this runs for every message while the inspector is on. */
  #frame(connection: TrackedConnection, kind: "in" | "out", size: number, binary: boolean, data: string | Uint8Array): void {
    const seq = ++this.#seq;
    connection.timeline.push(
      this.payloads ? { seq, at: Date.now(), kind, size, binary, preview: previewOf(data, binary) } : { seq, at: Date.now(), kind, size, binary },
    );
    connection.version = seq;
    if (!this.#dirty) this.#touch();
  }

  messageDropped(id: number, size: number): void {
    const connection = this.find(id);
    if (connection === undefined) return;
    connection.dropped++;
    this.#record(connection, { kind: "dropped", size });
  }

  handlerStarted(id: number): void {
    const connection = this.find(id);
    if (connection !== undefined) this.#record(connection, { kind: "handler", what: "started" });
  }

  handlerFinished(id: number): void {
    const connection = this.find(id);
    if (connection !== undefined) this.#record(connection, { kind: "handler", what: "finished" });
  }

  handlerError(id: number, error: unknown): void {
    const connection = this.find(id);
    if (connection === undefined) return;
    connection.errors++;
    this.#record(connection, { kind: "handlerError", error: describeError(error, this.payloads) });
  }

  dependencyAcquired(id: number, name: string): void {
    const connection = this.find(id);
    if (connection !== undefined) this.#record(connection, { kind: "dependency", what: "acquired", name });
  }

  dependencyReleased(id: number, name: string, error?: unknown): void {
    const connection = this.find(id);
    if (connection === undefined) return;
    this.#record(connection, error === undefined ? { kind: "dependency", what: "released", name } : { kind: "dependency", what: "released", name, failed: true });
  }

  subscribed(id: number, channel: string): void {
    const connection = this.find(id);
    if (connection !== undefined) this.#record(connection, { kind: "channel", what: "subscribed", channel });
  }

  unsubscribed(id: number, channel: string): void {
    const connection = this.find(id);
    if (connection !== undefined) this.#record(connection, { kind: "channel", what: "unsubscribed", channel });
  }

  machineStarted(id: number, machine: AnyStateMachine, state: string): void {
    const connection = this.find(id);
    if (connection === undefined) return;
    connection.machine = this.#machines.keyOf(machine);
    connection.machineState = state;
    this.#record(connection, { kind: "machine", event: "xstate.init", from: "", to: state });
  }

  machineTransition(id: number, from: string, event: string, to: string): void {
    const connection = this.find(id);
    if (connection === undefined) return;
    connection.machineState = to;
    this.#record(connection, { kind: "machine", event, from, to });
  }

  /** The drawing of a handler machine the rows refer to by `machine`. */
  machineDrawing(key: string): MachineDrawing | undefined {
    return this.#machines.get(key);
  }

  connectionClosed(id: number, outcome: ConnectionOutcome): void {
    if (this.#hidden.delete(id)) {
      this.#seq++;
      this.#touch();
      return;
    }
    const connection = this.#live.get(id);
    if (connection === undefined) return;
    this.#live.delete(id);
    this.#counts[connection.state]--;
    this.#counts.closed++;
    const { name, meaning } = describeCloseCode(outcome.code);
    const close: CloseSummary = {
      code: outcome.code,
      codeName: name,
      meaning,
      reason: outcome.reason,
      initiator: outcome.initiator,
      wasClean: outcome.wasClean,
      ...(outcome.rejectedStatus === undefined ? {} : { rejectedStatus: outcome.rejectedStatus }),
    };
    connection.state = "closed";
    connection.close = close;
    connection.closedAt = Date.now();
    connection.pendingClose = true;
    this.#changed(connection);
    // Normally the transition to `closed` follows at once and writes the close line; if it never does, write it anyway.
    queueMicrotask(() => {
      if (connection.pendingClose) this.#recordClose(connection);
    });
    const forgotten = this.#closed.push(connection);
    if (forgotten !== undefined) this.#closedById.delete(forgotten.id);
    this.#closedById.set(id, connection);
  }
}
