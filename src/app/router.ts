/**
 * Path matching, delegated to find-my-way (fastify's router): static, parametric (`:room`),
 * regex (`:id(^\\d+$)`) and wildcard (`*`) segments, one table for WebSocket routes and one for
 * HTTP routes.
 */
import FindMyWay from "find-my-way";
import type { HttpMethod } from "../handlers/http-route.js";

export interface RouteMatch<T> {
  readonly value: T;
  readonly params: Readonly<Record<string, string | undefined>>;
}

export class Router<T> {
  readonly #table = FindMyWay({ ignoreTrailingSlash: true, caseSensitive: true });

  readonly #methods = new Set<HttpMethod>();

  add(method: HttpMethod, path: string, value: T): void {
    this.#table.on(method, path, () => {}, value);
    this.#methods.add(method);
  }

  /** The methods some route answers at `url`, in the order they were added; empty when none does. */
  methodsFor(url: string): HttpMethod[] {
    const methods: HttpMethod[] = [];
    for (const method of this.#methods) if (this.#table.find(method, url) !== null) methods.push(method);
    return methods;
  }

  /** The route for `url` (path and query), or `undefined`. */
  find(method: string, url: string): RouteMatch<T> | undefined {
    const found = this.#table.find(method as HttpMethod, url);
    if (found === null) return undefined;
    return { value: found.store as T, params: found.params };
  }
}
