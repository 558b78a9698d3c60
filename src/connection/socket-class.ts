/**
 * The socket class as a type (docs/architecture.md §1, "the socket type"): a layer (the app, a
 * group, a route, a plugin) chooses a `Socket` subclass; handlers of that layer see an instance
 * of it with their route's params, state and query.
 */
import type { AnySocket, Socket, SocketRuntime } from "./socket.js";

/** A `Socket` subclass to hand handlers instead of `Socket` (Litestar's `websocket_class`). */
export type SocketClass<S extends AnySocket = AnySocket> = new (runtime: SocketRuntime, params: never) => S;

/**
 * The socket a handler sees: an instance of the layer's class `S`, with the route's params,
 * state and query. `Socket` itself stays `Socket<Params, State, Query>`; a subclass is
 * intersected, so its own members (`join`, …) and its class identity are kept. A subclass meant
 * to be combined with typed params, state or query declares `extends Socket<object, object, object>`.
 */
export type SocketOf<S extends AnySocket, Params extends object, State extends object, Query extends object = Readonly<Record<string, string>>> =
  Socket extends S ? Socket<Params, State, Query> : S & Socket<Params, State, Query>;

/** Per-connection state when nothing declares it: any name, values unknown. */
export type BaseState = Record<string, unknown>;
