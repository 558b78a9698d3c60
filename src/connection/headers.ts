/**
 * Case-insensitive request headers. Node gives header names in lower case, so a handler ported
 * from a framework whose headers ignore case (`headers["Authorization"]`) would silently read
 * `undefined`. The view answers any spelling; the record underneath stays lower case, so
 * enumerating it (`Object.entries`) is unchanged.
 */
import type { IncomingHttpHeaders } from "node:http";

/** A header's value whatever the spelling of `name`; repeated values joined with `", "`. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  // Own properties only: "constructor" or "toString" must not read the object's prototype.
  const key = Object.hasOwn(headers, name) ? name : name.toLowerCase();
  const value = Object.hasOwn(headers, key) ? headers[key] : undefined;
  if (value === undefined) return undefined;
  return typeof value === "string" ? value : value.join(", ");
}

/** `headers` with property access by any spelling of the name (`view["Authorization"]`). */
export function caseInsensitiveHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return new Proxy(headers, {
    get(target, name, receiver) {
      if (typeof name !== "string" || Object.hasOwn(target, name)) return Reflect.get(target, name, receiver);
      const lower = name.toLowerCase();
      return Object.hasOwn(target, lower) ? target[lower] : Reflect.get(target, name, receiver);
    },
    has(target, name) {
      return Reflect.has(target, name) || (typeof name === "string" && Object.hasOwn(target, name.toLowerCase()));
    },
  });
}
