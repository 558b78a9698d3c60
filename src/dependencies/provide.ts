/**
 * `provide(fn)`: a per-connection dependency. `fn` runs once per connection, before the handler,
 * and may return a value, a promise, an async generator (the code after its `yield` runs after
 * the connection closed) or an effect `Effect` that needs a `Scope` (closed after the
 * connection closed).
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Effect, Scope } from "effect";
import type { AnySocket, ClientAddress } from "../connection/socket.js";

/** What a provider can read about the connection it provides for. */
export interface ProviderContext {
  readonly params: Readonly<Record<string, string | undefined>>;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  readonly cookies: Readonly<Record<string, string>>;
  readonly client: ClientAddress;
  /** The connection's socket, not yet accepted. */
  readonly socket: AnySocket;
  /** Another dependency of the same connection, resolved once however many providers ask for it. */
  use<T = unknown>(name: string): Promise<T>;
}

/** The value a provider's result stands for. */
export type Provided<R> =
  R extends AsyncGenerator<infer T, unknown, unknown>
    ? T
    : R extends Effect.Effect<infer A, unknown, infer Requirements>
      ? [Requirements] extends [never] | [Scope.Scope]
        ? A
        : ["an Effect provider may only require Scope; got", Requirements]
      : Awaited<R>;

declare const providedType: unique symbol;

/** A dependency declaration; `T` is the value handlers receive. */
export interface Provider<T> {
  readonly kind: "provider";
  readonly create: (context: ProviderContext) => unknown;
  /** Type-level only: the provided value. */
  readonly [providedType]?: T;
}

/** Declare a per-connection dependency. */
export function provide<R>(create: (context: ProviderContext) => R): Provider<Provided<R>> {
  return { kind: "provider", create };
}

/** Dependencies as declared on an app, a group or a route. */
export type Dependencies = Readonly<Record<string, Provider<unknown>>>;

/** The values handlers receive for declared dependencies. */
export type ResolvedDependencies<D extends Dependencies> = { readonly [K in keyof D]: D[K] extends Provider<infer T> ? T : never };

/**
 * Dependencies declared on the app or on groups, where a route's own types cannot see them:
 * describe them once by augmenting this interface and every handler context includes them.
 *
 * ```ts
 * declare module "statewire" {
 *   interface AppDependencies { db: Database }
 * }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface AppDependencies {}
