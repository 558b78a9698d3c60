/**
 * What listener and stream functions receive beside their data: the socket, path params,
 * query, and the connection's dependencies by name. Built once per connection.
 */
import type { PathParams } from "./path-params.js";
import type { AnySocket, Socket } from "../connection/socket.js";
import { SocketView } from "../connection/socket-view.js";
import type { AppDependencies, Dependencies, ResolvedDependencies } from "../dependencies/provide.js";

/** `Sock` is the socket the route's layer gives it (its class, its guards' state, its query schema). */
export type HandlerContext<Path extends string, D extends Dependencies, Sock extends AnySocket = Socket<PathParams<Path>>> = ResolvedDependencies<D> &
  AppDependencies & {
    readonly socket: Sock;
    readonly params: PathParams<Path>;
    /** Query parameters: the first value of each name, or the route's `query` schema's output. */
    readonly query: Sock["query"];
    /** Aborted as soon as the connection starts closing. */
    readonly signal: AbortSignal;
  };

/** A context of any route, as the runtime holds it. */
export interface AnyContext {
  readonly socket: AnySocket;
  readonly params: object;
  readonly query: object;
  readonly signal: AbortSignal;
}

/** The context for one connection; dependency names were checked against the reserved ones when the app was created. */
export function createContext(socket: AnySocket, dependencies: Readonly<Record<string, unknown>>): AnyContext {
  return Object.assign(new SocketView(socket), dependencies);
}
