/**
 * Middleware for both protocols (Nexios' `add_ws_middleware`, Velithon's scope middleware,
 * Responder's `before_request`): one `Middleware` object around the group's HTTP requests, its
 * WebSocket connections and each of their messages.
 *
 *   PORT=8000 node --conditions=statewire-source --import tsx examples/middleware.ts
 *
 * - GET `/mw/hello`: answered with an `x-request-id` header the middleware added;
 * - WS `/mw/echo`: echoes text; empty messages are dropped by the middleware before the handler;
 * - GET `/mw/log`: what the middleware saw (requests, connections with their close codes, messages).
 */
import { createApp, get, group, type Middleware, websocketListener } from "statewire";
import { isMain, serve } from "./serve.js";

/** What the middleware saw, newest last (bounded: the last 100 entries). */
const seen: string[] = [];
const note = (line: string): void => {
  seen.push(line);
  if (seen.length > 100) seen.shift();
};
let nextRequestId = 1;

export const observed: Middleware = {
  request: async (request, next) => {
    const id = String(nextRequestId++);
    const response = await next();
    note(`request ${id} ${request.method} ${new URL(request.url).pathname} ${response.status}`);
    const headers = new Headers(response.headers);
    headers.set("x-request-id", id);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  },
  connection: async (context, next) => {
    const started = Date.now();
    context.state.connectedAt = started; // per-connection context, readable by handlers as socket.state
    const { code } = await next(); // resolves once the connection has closed
    note(`connection ${context.socket.url.pathname} closed ${code} after ${Date.now() - started} ms`);
  },
  message: (message, next) => {
    if (message.isBinary || message.text().length > 0) next(); // an empty text message never reaches the handler
    else note("message dropped: empty");
  },
};

export const middlewareRoutes = group(
  "/mw",
  [
    get("/hello", () => "hello"),
    websocketListener("/echo", (text: string) => `echo: ${text}`),
    get("/log", () => seen),
  ],
  { middleware: [observed] },
);

export const app = createApp({ routes: [middlewareRoutes] });

if (isMain(import.meta.url)) await serve(app);
