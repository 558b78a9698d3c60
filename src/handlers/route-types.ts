/**
 * What every WebSocket route kind's options have in common at the type level: the socket class
 * its layer chooses, the guards that fill `socket.state`, the schema of its query. From them the
 * socket its handlers see is computed (docs/architecture.md §1, "the socket type"), so handlers
 * need no casts.
 */
import { type LayerOptions, pickLayer } from "./layers.js";
import type { PathParams } from "./path-params.js";
import type { BaseState, SocketClass, SocketOf } from "../connection/socket-class.js";
import type { AnySocket } from "../connection/socket.js";
import type { Guard, GuardedState } from "../guards/guard.js";
import { type QueryOf, type QuerySchema, typedQueryGuard } from "../guards/parameters.js";

/** Guards as a route lists them. */
export type RouteGuards = readonly Guard<object>[];

/**
 * A route's layer options, typed: `S` is the socket class's instance type, `C` the class the
 * route sets itself (if any), `G` its guards, `Q` its query schema.
 */
export interface RouteOptions<S extends AnySocket, C, G extends RouteGuards, Q extends QuerySchema | undefined>
  extends Omit<LayerOptions, "socketClass" | "guards"> {
  /** The socket class this route's handlers receive: a plugin's (`channels.socketClass`) or your own `Socket` subclass. */
  readonly socketClass?: C & SocketClass<S>;
  /** Guards and middleware run at the upgrade after the app's and groups'; what they add to `socket.state` is typed in the handlers. */
  readonly guards?: G;
  /**
   * A schema for the query string (the first value of each name), checked at the upgrade:
   * `socket.query` is then its output. Invalid → HTTP 400; `queryParameters(schema, { refuseWith: 4400 })`
   * closes with a code instead (browsers cannot read a handshake's status).
   */
  readonly query?: Q;
}

/** The socket a route's handlers see. */
export type RouteSocket<Path extends string, S extends AnySocket, G extends RouteGuards, Q> = SocketOf<
  S,
  PathParams<Path>,
  keyof GuardedState<G> extends never ? BaseState : BaseState & GuardedState<G>,
  QueryOf<Q>
>;

/** The socket class a route needs from its app: any (`AnySocket`) when it sets its own. */
export type RequiredSocket<S extends AnySocket, C> = undefined extends C ? S : AnySocket;

/** The route's layer options as the runtime holds them; a `query` schema becomes the route's first guard. */
export function routeLayer(options: { readonly query?: QuerySchema | undefined }): LayerOptions {
  // The options of every route kind are layer options; only their type parameters differ.
  const layer = pickLayer(options as LayerOptions);
  if (options.query === undefined) return layer;
  return { ...layer, guards: [typedQueryGuard(options.query), ...(layer.guards ?? [])] };
}
