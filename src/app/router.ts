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

/** A path find-my-way matches only by itself: no parameter, wildcard, regex or percent-encoding. */
const STATIC_PATH = /^\/[A-Za-z0-9._~!$&'+,;=@\/-]*$/;

/** A static route's params: one frozen object for every request, not one per connection. */
const NO_PARAMS: Readonly<Record<string, string | undefined>> = Object.freeze({});

export class Router<T> {
  readonly #table = FindMyWay({ ignoreTrailingSlash: true, caseSensitive: true });

  readonly #methods = new Set<HttpMethod>();

  /**
   * Static routes by method and exact path: a handshake to one (the usual case) is one map
   * lookup, not a walk of find-my-way's tree with its path decoding. Any other path (a trailing
   * slash, an encoded character, a parameter) goes to find-my-way, which also decides between
   * routes that overlap, as it would without this map.
   */
  readonly #static = new Map<string, Map<string, T>>();

  add(method: HttpMethod, path: string, value: T): void {
    this.#table.on(method, path, () => {}, value);
    this.#methods.add(method);
    if (STATIC_PATH.test(path) && !path.includes("//")) {
      let byPath = this.#static.get(method);
      if (byPath === undefined) this.#static.set(method, (byPath = new Map()));
      byPath.set(path, value);
    }
  }

  /** The methods some route answers at `url`, in the order they were added; empty when none does. */
  methodsFor(url: string): HttpMethod[] {
    const methods: HttpMethod[] = [];
    for (const method of this.#methods) if (this.#table.find(method, url) !== null) methods.push(method);
    return methods;
  }

  /** The route for `url` (path and query), or `undefined`. */
  find(method: string, url: string): RouteMatch<T> | undefined {
    const byPath = this.#static.get(method);
    if (byPath !== undefined) {
      const query = url.indexOf("?");
      const value = byPath.get(query < 0 ? url : url.slice(0, query));
      if (value !== undefined) return { value, params: NO_PARAMS };
    }
    const found = this.#table.find(method as HttpMethod, url);
    if (found === null) return undefined;
    return { value: found.store as T, params: found.params };
  }
}
