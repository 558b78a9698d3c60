/**
 * `ChannelSocket`: the socket class a channels plugin gives the app's handlers, with
 * `join(room)`, `leave(room)` and `broadcast(room, data)`. Joining forwards every message of the
 * room to this connection; every room is left when the connection closes.
 *
 * A handler's socket is typed `Socket`; when the app uses the plugin's socket class, narrow it
 * with `socket as ChannelSocket<typeof socket.params>` (or call `channels.join(socket, room)`,
 * which works whatever the socket class).
 */
import type { SocketClass } from "../handlers/layers.js";
import { type AnySocket, Socket } from "../connection/socket.js";
import type { JoinOptions, RoomApi } from "./membership.js";

export class ChannelSocket<
  Params extends object = Readonly<Record<string, string | undefined>>,
  State extends object = Record<string, unknown>,
> extends Socket<Params, State> {
  /** This socket as the runtime holds any socket (its params and state types do not matter to rooms). */
  get #self(): AnySocket {
    return this as unknown as AnySocket;
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

/** The plugin's socket class: a `ChannelSocket` bound to one channels instance. */
export function boundChannelSocket(api: RoomApi): SocketClass {
  return class BoundChannelSocket extends ChannelSocket<object, object> {
    protected override get channelRooms(): RoomApi {
      return api;
    }
  };
}
