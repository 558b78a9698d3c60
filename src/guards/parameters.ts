/**
 * Typed query and path parameters (Litestar's `task_id: int` and typed models): a schema checked
 * once, at the upgrade, by a guard on the route; the handler reads the decoded value, typed from
 * the schema. Routes that declare none pay nothing.
 *
 *   const search = queryParameters(Schema.Struct({ q: Schema.String, limit: Schema.FiniteFromString }));
 *   websocket("/search", (socket) => { const { q, limit } = search.of(socket); … }, { guards: [search.guard] });
 */
import { isMessageSchema, type MessageSchema, type SchemaOutput, validate } from "../codec/schema.js";
import { truncateReason } from "../wire/close-codes.js";
import { HandshakeDenied, WebSocketError } from "../wire/errors.js";
import { type AnySocket, Socket } from "../connection/socket.js";
import type { Guard } from "./guard.js";

export interface ParameterOptions {
  /**
   * How invalid parameters are refused: `"http"` (default) answers HTTP 400 naming the problem;
   * a close code completes the handshake and closes with it, for browsers, which cannot read a
   * handshake's status.
   */
  readonly refuseWith?: "http" | number;
}

/** A checked set of parameters: put `guard` on the route, read `of(socket)` in the handler. */
export interface Parameters<T> {
  readonly guard: Guard;
  /** The decoded parameters of a connection `guard` let through; throws for one it never checked. */
  of(socket: AnySocket | { readonly socket: AnySocket }): T;
}

/** Validate the query (the first value of each name, as `socket.query` gives it) against `schema`. */
export function queryParameters<S extends MessageSchema>(schema: S, options: ParameterOptions = {}): Parameters<SchemaOutput<S>> {
  return checked("query", (socket) => socket.query, schema, options);
}

/** Validate the path parameters (`socket.params`) against `schema`, e.g. to turn `:id` into a number. */
export function pathParameters<S extends MessageSchema>(schema: S, options: ParameterOptions = {}): Parameters<SchemaOutput<S>> {
  return checked("path parameters", (socket) => socket.params, schema, options);
}

function checked<T>(what: string, read: (socket: AnySocket) => unknown, schema: MessageSchema, options: ParameterOptions): Parameters<T> {
  const decoded = new WeakMap<AnySocket, T>();
  const refuseWith = options.refuseWith ?? "http";
  return {
    guard: async (context, next) => {
      const result = await validate(schema, read(context.socket));
      if (!result.ok) {
        const problem = truncateReason(`Invalid ${what}: ${result.problem}`);
        throw refuseWith === "http" ? new HandshakeDenied(400, problem) : new WebSocketError(refuseWith, problem);
      }
      decoded.set(context.socket, result.value as T);
      await next();
    },
    of(from) {
      const socket = "socket" in from ? from.socket : from;
      if (!decoded.has(socket)) throw new Error(`These ${what} were not checked for this connection: add their guard to the route`);
      return decoded.get(socket)!;
    },
  };
}

/** A route's `query` option: a schema, or `queryParameters(schema, { refuseWith })` to choose how invalid queries are refused. */
export type QuerySchema = MessageSchema | Parameters<object>;

/** What `socket.query` is on a route with the `query` option `Q` (the raw first-value record without one). */
export type QueryOf<Q> = Q extends Parameters<infer T extends object>
  ? T
  : Q extends MessageSchema
    ? Extract<SchemaOutput<Q>, object>
    : Readonly<Record<string, string>>;

/**
 * The guard behind a route's `query` option: checks the query once, at the upgrade, and makes
 * the decoded value the connection's `socket.query` (and its handlers' `query`).
 */
export function typedQueryGuard(query: QuerySchema): Guard {
  const parameters = isMessageSchema(query) ? queryParameters(query) : query;
  return async function typedQuery(context, next) {
    await parameters.guard(context, async () => {
      // A query schema's output is an object: it decodes a record of strings.
      Socket.decodedQuery(context.socket, parameters.of(context.socket) as object);
      await next();
    });
  };
}
