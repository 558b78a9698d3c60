/**
 * The route table's vocabulary: WebSocket routes, HTTP routes, and groups that put a path
 * prefix in front of both, so one "controller" can hold a socket and its HTTP views.
 */
import { compileListenerClass, type WebSocketListenerClass } from "../handlers/class-listener.js";
import type { WebSocketRoute } from "../handlers/websocket.js";
import type { HttpRoute } from "./http-route.js";
import { type LayerOptions, mergeLayers } from "../handlers/layers.js";

/** Anything a route table lists: WebSocket and HTTP routes, groups, and class-based listeners. */
export type Route = WebSocketRoute | HttpRoute | RouteGroup | WebSocketListenerClass;

export interface RouteGroup {
  readonly kind: "group";
  readonly prefix: string;
  readonly routes: readonly Route[];
  readonly options: LayerOptions;
}

/**
 * Routes under a common path prefix, sharing layer options:
 * `group("/chat", [websocket("/live", …), get("/history", …)], { dependencies })`.
 */
export function group(prefix: string, routes: readonly Route[], options: LayerOptions = {}): RouteGroup {
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
