/**
 * Guards and middleware: functions that run at the upgrade, before accept, on the app, group
 * and route layers (outermost first). Koa-style: `(context, next)`. A guard lets the connection
 * through by calling `next()`; it refuses by throwing (an error naming an HTTP status, or a
 * `WebSocketError` close code) or by calling `context.socket.reject()` / `close()`. A guard that
 * returns without either is a refusal (403): forgetting `next()` must not open a door.
 */
import type { IncomingHttpHeaders } from "node:http";
import { HandshakeDenied } from "../wire/errors.js";
import type { AnySocket, ClientAddress } from "../connection/socket.js";
import { SocketView } from "../connection/socket-view.js";

export interface GuardContext {
  /** The connection's socket, not yet accepted. */
  readonly socket: AnySocket;
  readonly params: object;
  readonly query: Readonly<Record<string, string>>;
  /** Request headers; read by any spelling of the name (`headers["Authorization"]`). */
  readonly headers: IncomingHttpHeaders;
  /** One request header by name, in any case; repeated values joined with `", "`. */
  header(name: string): string | undefined;
  readonly cookies: Readonly<Record<string, string>>;
  readonly client: ClientAddress;
  /** The connection's per-connection state (`socket.state`): what a guard learns, handlers read. */
  readonly state: Record<string, unknown>;
}

/**
 * A guard. `Adds` is what it stores in `socket.state` (`bearerToken` adds `{ user }`): the
 * handlers of a route whose `guards` include it see those names typed. A guard of your own
 * declares it: `const auth: Guard<{ user: User }> = async (context, next) => { … }`.
 */
export interface Guard<Adds extends object = Record<never, never>> {
  (context: GuardContext, next: () => Promise<void>): unknown;
  /** Type-only, never set: what this guard adds to `socket.state`. */
  readonly "~state"?: Adds;
}

/** What one guard adds; a function without the declaration adds nothing. */
type StateAddedBy<G> = G extends { readonly "~state"?: infer Adds } ? (object extends Adds ? Record<never, never> : Adds) : Record<never, never>;

/** Every guard of `Guards` together: a tuple element by element, an array through the union of its elements. */
export type GuardedState<Guards extends readonly unknown[]> = Guards extends readonly [infer First, ...infer Rest]
  ? StateAddedBy<First> & GuardedState<Rest>
  : Guards extends readonly []
    ? Record<never, never>
    : UnionToIntersection<StateAddedBy<Guards[number]>>;

type UnionToIntersection<U> = (U extends unknown ? (value: U) => void : never) extends (value: infer I) => void ? I : never;

/** A guard sees more of the handshake than a handler context does: headers, cookies, client, state. */
class GuardView extends SocketView implements GuardContext {
  /** The raw query; decoded for the guards after a route's `query` schema, which runs first among the route's guards. */
  override get query(): Readonly<Record<string, string>> {
    return this.socket.query as Readonly<Record<string, string>>;
  }
  get headers(): IncomingHttpHeaders {
    return this.socket.headers;
  }
  header(name: string): string | undefined {
    return this.socket.header(name);
  }
  get cookies(): Readonly<Record<string, string>> {
    return this.socket.cookies;
  }
  get client(): ClientAddress {
    return this.socket.client;
  }
  get state(): Record<string, unknown> {
    return this.socket.state as Record<string, unknown>;
  }
}

/**
 * One function running `guards` in order. Resolves when every guard let the connection through;
 * rejects with the refusal otherwise. Stops quietly when a guard closed or rejected the socket.
 */
export function composeGuards(guards: readonly Guard[]): (socket: AnySocket) => Promise<void> {
  return async (socket) => {
    const context = new GuardView(socket);
    let reached = -1;
    const run = async (index: number): Promise<void> => {
      if (index <= reached) throw new Error("A guard called next() more than once");
      reached = index;
      const guard = guards[index];
      if (guard === undefined) return;
      let passed = false;
      await guard(context, () => {
        passed = true;
        return run(index + 1);
      });
      if (!passed && socket.lifecycle === "connecting") {
        throw new HandshakeDenied(403, `Forbidden: guard ${guard.name === "" ? `#${index + 1}` : `"${guard.name}"`} did not let the connection through`);
      }
    };
    await run(0);
  };
}
