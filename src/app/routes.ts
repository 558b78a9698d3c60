/**
 * The route table's vocabulary: WebSocket routes, HTTP routes, and groups that put a path
 * prefix in front of both, so one "controller" can hold a socket and its HTTP views.
 */
import { compileListenerClass, type WebSocketListenerClass } from "../handlers/class-listener.js";
import type { AnySocket } from "../connection/socket.js";
import type { WebSocketRoute } from "../handlers/websocket.js";
import type { HttpRoute } from "../handlers/http-route.js";
import { type LayerOptions, mergeLayers } from "../handlers/layers.js";

/**
 * Anything a route table lists: WebSocket and HTTP routes, groups, and class-based listeners.
 * `Needs`: the socket class the routes' handlers need from the app (`Route` alone: a route needing anything).
 */
export type Route<Needs extends AnySocket = never> = WebSocketRoute<string, Needs> | HttpRoute | RouteGroup<Needs> | WebSocketListenerClass<Needs>;

export interface RouteGroup<Needs extends AnySocket = never> {
  readonly kind: "group";
  readonly prefix: string;
  readonly routes: readonly Route[];
  readonly options: LayerOptions;
  /** Type-only, never set: what the group's routes need from the app (see `WebSocketRoute`). */
  readonly "~needs"?: (socket: Needs) => void;
}

/**
 * Routes under a common path prefix, sharing layer options:
 * `group("/chat", [websocket("/live", …), get("/history", …)], { dependencies })`.
 * A group that sets its own `socketClass` needs none from the app.
 */
export function group<Needs extends AnySocket = never, S extends AnySocket = never>(
  prefix: string,
  routes: readonly Route<Needs>[],
  options: LayerOptions<S> = {},
): RouteGroup<[S] extends [never] ? Needs : AnySocket> {
  if (!prefix.startsWith("/")) throw new TypeError(`A group prefix starts with "/": got "${prefix}"`);
  return { kind: "group", prefix: prefix.replace(/\/+$/, ""), routes, options };
}

/** Every non-group route with the full path its groups give it, in declaration order. */
export function* flattenRoutes(
  routes: readonly Route[],
  layers: LayerOptions,
  prefix = "",
): Generator<{ readonly path: string; readonly route: WebSocketRoute | HttpRoute; readonly layers: LayerOptions }> {
  for (const listed of routes) {
    const route = typeof listed === "function" ? compileListenerClass(listed) : listed;
    if (route.kind === "group") {
      yield* flattenRoutes(route.routes, mergeLayers(layers, route.options), prefix + route.prefix);
      continue;
    }
    if (!route.path.startsWith("/")) throw new TypeError(`A route path starts with "/": got "${route.path}"`);
    yield { path: prefix + route.path, route, layers: route.kind === "websocket" ? mergeLayers(layers, route.options) : layers };
  }
}
