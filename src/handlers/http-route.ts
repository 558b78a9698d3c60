/**
 * Plain HTTP routes beside WebSocket routes, in the web platform's terms: a handler takes a
 * `Request` and returns a `Response` (or a value: a string becomes text, anything else JSON,
 * `undefined` a 204).
 */
import type { PathParams } from "./path-params.js";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS";

export interface HttpContext<Path extends string> {
  readonly params: PathParams<Path>;
  /** Query parameters; the first value of each name. */
  readonly query: Readonly<Record<string, string>>;
}

export type HttpHandler<Path extends string> = (request: Request, context: HttpContext<Path>) => unknown;

/** A handler as the router holds it, its params no longer tied to one path literal. */
type RoutedHttpHandler = (request: Request, context: HttpContext<string>) => unknown;

export interface HttpRoute<Path extends string = string> {
  readonly kind: "http";
  readonly method: HttpMethod;
  readonly path: Path;
  readonly handler: RoutedHttpHandler;
}

/** An HTTP route for `method`. */
export function http<Path extends string>(method: HttpMethod, path: Path, handler: HttpHandler<Path>): HttpRoute<Path> {
  // The router only calls it with the params its own path produced.
  return { kind: "http", method, path, handler: handler as RoutedHttpHandler };
}

/** A GET route, e.g. `get("/history", () => Response.json(history))`. */
export const get = <Path extends string>(path: Path, handler: HttpHandler<Path>): HttpRoute<Path> =>
  http("GET", path, handler);

/** A POST route. */
export const post = <Path extends string>(path: Path, handler: HttpHandler<Path>): HttpRoute<Path> =>
  http("POST", path, handler);

/** The response a handler's return value stands for. */
export function toResponse(value: unknown): Response {
  if (value instanceof Response) return value;
  if (value === undefined) return new Response(null, { status: 204 });
  if (typeof value === "string") return new Response(value, { headers: { "content-type": "text/plain; charset=utf-8" } });
  return Response.json(value);
}

/** An HTML response, for pages served beside the sockets. */
export function html(markup: string, init: ResponseInit = {}): Response {
  const headers = new Headers(init.headers);
  headers.set("content-type", "text/html; charset=utf-8");
  return new Response(markup, { ...init, headers });
}
