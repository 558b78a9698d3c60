/**
 * Rooms: connections joined to channels. A connection's first `join` gives it one subscriber
 * (one backlog for all its rooms) that sends each message to the connection as it is, in the
 * publish call itself: no promise and no turn per subscriber (docs/architecture.md §5). When the
 * connection's own send waits (backpressure), the next messages wait in the backlog. When the
 * connection starts closing, every room is left and each leave is reported once.
 */
import { SocketStateError } from "../wire/errors.js";
import type { AnySocket } from "../connection/socket.js";
import { SENT_AT_ONCE } from "../connection/outbound.js";
import type { ChannelsCore } from "./core.js";
import type { ChannelMessage } from "./backend.js";
import { Subscriber } from "./subscriber.js";

export interface JoinOptions {
  /** Replay the room's last `history` messages first, then live ones (no gap, no duplicate). Default 0. */
  readonly history?: number;
}

/** Who must not receive a broadcast: sockets or connection ids of this process. */
export type ExceptTarget = AnySocket | number | Iterable<AnySocket | number>;

export interface BroadcastOptions {
  readonly except?: ExceptTarget;
}

/** What `ChannelSocket` asks of its channels instance. */
export interface RoomApi {
  join(socket: AnySocket, room: string, options?: JoinOptions): Promise<void>;
  leave(socket: AnySocket, room: string): void;
  rooms(socket: AnySocket): readonly string[];
  broadcast(room: string, data: unknown, options?: BroadcastOptions): Promise<void>;
}

/**
 * A connection in rooms: its subscriber's consumer. An object with a prototype method rather
 * than a closure per connection, so that a publish calls one monomorphic `forward` per member.
 */
class Membership {
  readonly rooms = new Map<string, Promise<void>>();
  readonly subscriber: Subscriber;
  readonly socket: AnySocket;
  readonly end: () => void;

  constructor(socket: AnySocket, subscriber: Subscriber) {
    this.socket = socket;
    this.subscriber = subscriber;
    this.end = () => subscriber.end();
  }

  stop(): void {
    this.socket.signal.removeEventListener("abort", this.end);
  }

  /**
   * Send one message to the connection as it is (the payload was serialized once, at publish; a
   * text payload is framed once too, see transport/frame.ts). Returns what to wait for before
   * the next, when the connection's send waits. The connection's send checks its lifecycle:
   * the common case (sent at once) checks it once; a send that did not leave at once on a
   * connection no longer open ends the subscriber (no send after close).
   */
  forward(message: ChannelMessage): Promise<void> | undefined {
    const { payload } = message;
    const socket = this.socket;
    const sent = typeof payload === "string" ? socket.sendText(payload) : socket.sendBytes(payload);
    // Identity, not a turn: every send that left at once returns the connection's one settled promise.
    if (sent === SENT_AT_ONCE) return undefined;
    if (socket.lifecycle !== "open") {
      this.subscriber.end();
      return undefined;
    }
    return sent;
  }
}

const RESOLVED = Promise.resolve();

export class Rooms {
  readonly #members = new Map<AnySocket, Membership>();
  readonly #core: ChannelsCore;

  constructor(core: ChannelsCore) {
    this.#core = core;
  }

  /** Connections in at least one room. */
  get size(): number {
    return this.#members.size;
  }

  join(socket: AnySocket, room: string, options: JoinOptions = {}): Promise<void> {
    this.#core.check(room, "join");
    if (socket.lifecycle === "connecting") {
      throw new SocketStateError("Cannot join a room before the connection is accepted: call socket.accept() first");
    }
    // A connection that is closing or closed joins nothing.
    if (socket.lifecycle !== "open" || socket.signal.aborted) return RESOLVED;
    const member = this.#members.get(socket) ?? this.#start(socket);
    const joined = member.rooms.get(room);
    if (joined !== undefined) return joined;
    this.#core.reporter?.subscribed(socket.id, room);
    const ready = this.#core.fanOut.add(member.subscriber, room, Math.max(0, options.history ?? 0));
    // A join that failed (the backend did not answer in time) leaves the connection out of the
    // room, so that a later join tries again; the caller gets the error.
    ready.catch(() => {
      if (this.#members.get(socket)?.rooms.get(room) === ready) this.leave(socket, room);
    });
    member.rooms.set(room, ready);
    return ready;
  }

  leave(socket: AnySocket, room: string): void {
    const member = this.#members.get(socket);
    if (member === undefined || !member.rooms.delete(room)) return;
    this.#core.fanOut.remove(member.subscriber, room);
    member.subscriber.forget(room);
    this.#core.reporter?.unsubscribed(socket.id, room);
  }

  rooms(socket: AnySocket): readonly string[] {
    return [...(this.#members.get(socket)?.rooms.keys() ?? [])];
  }

  /** Leave every room of every connection (the plugin is closing). */
  endAll(): void {
    for (const member of [...this.#members.values()]) member.subscriber.end();
  }

  #start(socket: AnySocket): Membership {
    const core = this.#core;
    const subscriber = new Subscriber(
      core.backlog,
      {
        onDrop: core.onDrop,
        onOverflow: () => {
          core.counters.disconnected++;
          try {
            void socket.close(1008, "Slow consumer");
          } catch {
            // already closing
          }
        },
        onEnd: () => this.#end(socket),
      },
      socket.id,
    );
    const member = new Membership(socket, subscriber);
    socket.signal.addEventListener("abort", member.end, { once: true });
    void socket.closed.then(member.end, member.end);
    this.#members.set(socket, member);
    subscriber.forwardTo(member);
    return member;
  }

  #end(socket: AnySocket): void {
    const member = this.#members.get(socket);
    if (member === undefined) return;
    this.#members.delete(socket);
    member.stop();
    for (const room of member.rooms.keys()) {
      this.#core.fanOut.remove(member.subscriber, room);
      this.#core.reporter?.unsubscribed(socket.id, room);
    }
    member.rooms.clear();
  }
}
