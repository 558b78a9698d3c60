/**
 * One middleware model for both protocols. A `Middleware` has up to three wrappers, each
 * Koa-style `(…, next)`, listed on the app, a group or a route (`middleware: [...]`, outermost
 * first, like guards):
 *
 * - `request`: around each request to the layer's HTTP routes (`next()` resolves with the inner
 *   response, which the middleware may return, replace or decorate);
 * - `connection`: around a WebSocket connection's handshake and whole life (`aroundConnection`:
 *   code before `next()` runs at the upgrade, `next()` resolves with the outcome once it closed);
 * - `message`: around each inbound WebSocket message, before the handler sees it.
 *
 * Only what a route's layers list is wrapped around it: a route with no middleware runs exactly
 * the code it ran before middleware existed. Connection wrappers run before the layer's guards.
 */
import type { ConnectionMiddleware } from "../guards/around-connection.js";
import type { MessageMiddleware } from "./message-middleware.js";
import { type HttpContext, type HttpRoute, toResponse } from "./http-route.js";

/**
 * `(request, next, context) => …`: `next(request?)` runs the inner middleware and the route (with a
 * replacement request, if given) and resolves with its response. Return a `Response` (or any value
 * an HTTP handler may return) to answer.
 */
export type RequestMiddleware = (request: Request, next: (request?: Request) => Promise<Response>, context: HttpContext<string>) => unknown;

export interface Middleware {
  /** Around each request of this layer's HTTP routes. */
  readonly request?: RequestMiddleware;
  /** Around each WebSocket connection of this layer: its handshake and its whole life. */
  readonly connection?: ConnectionMiddleware;
  /** Around each inbound WebSocket message of this layer, before the handler sees it (synchronous). */
  readonly message?: MessageMiddleware;
}

/** `route` with the `request` wrappers of `middleware` around its handler; `route` itself when there are none. */
export function withRequestMiddleware(route: HttpRoute, middleware: readonly Middleware[]): HttpRoute {
  const wrappers = middleware.flatMap((m) => (m.request === undefined ? [] : [m.request]));
  if (wrappers.length === 0) return route;
  const handler = route.handler;
  const run = async (index: number, request: Request, context: HttpContext<string>): Promise<Response> => {
    const wrapper = wrappers[index];
    if (wrapper === undefined) return toResponse(await handler(request, context));
    let called = false;
    return toResponse(
      await wrapper(
        request,
        (replacement) => {
          if (called) return Promise.reject(new Error(`request middleware #${index + 1} called next() more than once`));
          called = true;
          return run(index + 1, replacement ?? request, context);
        },
        context,
      ),
    );
  };
  return { ...route, handler: (request, context) => run(0, request, context) };
}

/** The `message` wrappers of `middleware`, outermost first. */
export const messageWrappers = (middleware: readonly Middleware[]): MessageMiddleware[] =>
  middleware.flatMap((m) => (m.message === undefined ? [] : [m.message]));

/** The `connection` wrappers of `middleware`, outermost first. */
export const connectionWrappers = (middleware: readonly Middleware[]): ConnectionMiddleware[] =>
  middleware.flatMap((m) => (m.connection === undefined ? [] : [m.connection]));
