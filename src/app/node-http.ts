/**
 * Bridging node:http's request/response objects and the web platform's `Request`/`Response`,
 * so HTTP routes are written in web terms and served by a plain node server.
 */
import { type IncomingMessage, STATUS_CODES, type ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { RequestMeta } from "./request-meta.js";

/** The web `Request` for a node:http request whose target and host were parsed into `meta`. May throw (e.g. a header the Fetch standard refuses): the caller answers 400. */
export function toRequest(request: IncomingMessage, meta: RequestMeta): Request {
  const url = `http://${meta.host}${meta.target}`;
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    else headers.set(name, value);
  }
  const method = request.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD";
  return new Request(url, {
    method,
    headers,
    ...(hasBody ? { body: Readable.toWeb(request) as ReadableStream<Uint8Array>, duplex: "half" } : {}),
  } as RequestInit);
}

export async function writeResponse(target: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name === "set-cookie") return;
    headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  const body = response.body === null ? undefined : Buffer.from(await response.arrayBuffer());
  if (body !== undefined && !("content-length" in headers)) headers["content-length"] = String(body.length);
  target.writeHead(response.status, response.statusText || undefined, headers);
  target.end(body);
}

/** A short text answer from the edge (400, 405): the connection is closed after it, since the client is not speaking HTTP we trust. */
export function answerPlain(target: ServerResponse, status: number, body: string): void {
  const bytes = Buffer.from(body, "utf8");
  target.shouldKeepAlive = false;
  target.writeHead(status, STATUS_CODES[status], {
    "content-type": "text/plain; charset=utf-8",
    "content-length": String(bytes.length),
    connection: "close",
  });
  target.end(bytes);
}
