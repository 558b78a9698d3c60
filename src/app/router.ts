/**
 * Path matching, delegated to find-my-way (fastify's router): static, parametric (`:room`),
 * regex (`:id(^\\d+$)`) and wildcard (`*`) segments, one table for WebSocket routes and one for
 * HTTP routes.
 */
import FindMyWay from "find-my-way";
import type { HttpMethod } from "./http-route.js";

export interface RouteMatch<T> {
  readonly value: T;
  readonly params: Readonly<Record<string, string | undefined>>;
}

export class Router<T> {
  readonly #table = FindMyWay({ ignoreTrailingSlash: true, caseSensitive: true });

  add(method: HttpMethod, path: string, value: T): void {
    this.#table.on(method, path, () => {}, value);
  }

  /** The route for `url` (path and query), or `undefined`. */
  find(method: string, url: string): RouteMatch<T> | undefined {
    const found = this.#table.find(method as HttpMethod, url);
    if (found === null) return undefined;
    return { value: found.store as T, params: found.params };
  }
}
