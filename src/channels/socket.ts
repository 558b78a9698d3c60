/**
 * `ChannelSocket`: the socket class a channels plugin gives the app's handlers, with
 * `join(room)`, `leave(room)` and `broadcast(room, data)`. Joining forwards every message of the
 * room to this connection; every room is left when the connection closes.
 *
 * A route says it uses it with `socketClass: channels.socketClass`: its handlers' socket is then
 * typed with these methods, no cast (docs/architecture.md §1, "the socket type").
 * `channels.join(socket, room)` works whatever the socket class.
 */
import type { SocketClass } from "../connection/socket-class.js";
import { type AnySocket, Socket } from "../connection/socket.js";
import type { JoinOptions, RoomApi } from "./membership.js";

export class ChannelSocket<
  Params extends object = Readonly<Record<string, string | undefined>>,
  State extends object = Record<string, unknown>,
  Query extends object = Readonly<Record<string, string>>,
> extends Socket<Params, State, Query> {
  /** This socket as the runtime holds any socket (its params and state types do not matter to rooms). */
  get #self(): AnySocket {
    return this;
  }

  /** The channels instance this socket class belongs to (set by the plugin's subclass). */
  protected get channelRooms(): RoomApi {
    throw new TypeError("ChannelSocket is meant to be used as createChannels(...).socketClass (the plugin's own subclass)");
  }

  /** Subscribe this connection to `room`; resolves once every later publish to it reaches the connection (after its history when `history` > 0). */
  join(room: string, options: JoinOptions = {}): Promise<void> {
    return this.channelRooms.join(this.#self, room, options);
  }

  /** Stop receiving `room`'s messages (what was queued of it is not sent). */
  leave(room: string): void {
    this.channelRooms.leave(this.#self, room);
  }

  /** The rooms this connection is in. */
  get rooms(): readonly string[] {
    return this.channelRooms.rooms(this.#self);
  }

  /** Publish `data` to `room` for every member but this connection. */
  broadcast(room: string, data: unknown): Promise<void> {
    return this.channelRooms.broadcast(room, data, { except: this.#self });
  }
}

/** A channels plugin's socket, as handlers of any route see it before their params, state and query are added. */
export type AnyChannelSocket = ChannelSocket<object, object, object>;

/** The plugin's socket class: a `ChannelSocket` bound to one channels instance. */
export function boundChannelSocket(api: RoomApi): SocketClass<AnyChannelSocket> {
  return class BoundChannelSocket extends ChannelSocket<object, object, object> {
    protected override get channelRooms(): RoomApi {
      return api;
    }
  };
}
