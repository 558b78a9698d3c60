/**
 * One middleware model for both protocols: `middleware: [{ request?, connection?, message? }]` on
 * the app, a group or a route — around HTTP requests, WebSocket connections and each inbound
 * message; outermost first; nothing wrapped where nothing is listed.
 */
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { createApp, get, group, type Logger, type Middleware, websocket, websocketListener } from "../src/index.js";
import { withMessageMiddleware } from "../src/handlers/message-middleware.js";
import { withRequestMiddleware } from "../src/handlers/middleware.js";
import { testClient } from "../src/testing/index.js";

const runs = process.env.STATEWIRE_DEEP === "1" ? 500 : 60;
const errors: unknown[] = [];
const quiet: Logger = { error: (fields) => void errors.push(fields), warn: () => {}, info: () => {}, debug: () => {} };

const trail: string[] = [];
const named = (name: string): Middleware => ({
  request: async (request, next) => {
    trail.push(`${name} in`);
    const response = await next();
    trail.push(`${name} out`);
    const headers = new Headers(response.headers);
    headers.append("x-via", name);
    return new Response(response.body, { status: response.status, headers });
  },
  connection: async (context, next) => {
    trail.push(`${name} open ${context.query.id ?? ""}`);
    const outcome = await next();
    trail.push(`${name} closed ${outcome.code}`);
  },
  message: (message, next) => {
    trail.push(`${name} message ${message.text()}`);
    next();
  },
});

const authorized: Middleware = {
  request: (request, next) => (request.headers.get("authorization") === "Bearer ok" ? next() : new Response("no", { status: 401 })),
};
const dropsSecrets: Middleware = {
  message: function dropsSecrets(message, next) {
    if (!message.isBinary && message.text().startsWith("secret")) return;
    next();
  },
};
const seen: string[] = [];

const app = createApp({
  logger: quiet,
  middleware: [named("app")],
  routes: [
    group("/g", [
      get("/hello", () => "hello"),
      get("/private", () => "private", ),
      websocketListener("/echo", { handler: (text: string) => `echo ${text}`, middleware: [named("route")] }),
    ], { middleware: [named("group")] }),
    group("/auth", [get("/me", (request) => request.headers.get("x-user") ?? "none")], {
      middleware: [authorized, { request: (request, next) => next(new Request(request, { headers: { "x-user": "ada" } })) }],
    }),
    group("/filtered", [
      websocketListener("/log", { handler: (text: string) => void seen.push(text) }),
      websocket("/raw", async (socket) => {
        await socket.accept();
        for await (const message of socket) await socket.sendText(`raw ${String(message)}`);
      }),
    ], { middleware: [dropsSecrets] }),
    group("/broken", [
      websocketListener("/throws", { handler: (text: string) => text, middleware: [{ message: () => { throw new Error("middleware bug"); } }] }),
      websocketListener("/async", { handler: (text: string) => text, middleware: [{ message: async (_m, next) => next() }] }),
      websocketListener("/twice", { handler: (text: string) => text, middleware: [{ message: (_m, next) => { next(); next(); } }] }),
      websocketListener("/late", { handler: (text: string) => text, middleware: [{ message: (_m, next) => void setTimeout(next, 1) }] }),
      get("/fails", () => "never", ),
    ], { middleware: [{ request: () => { throw new Error("request middleware bug"); } }] }),
  ],
});
afterAll(() => app.close({ timeoutMs: 1000 }));
const client = testClient(app);

describe("request middleware (HTTP routes)", () => {
  test("wraps outermost first: app, then group, then the route; each sees the inner response", async () => {
    trail.length = 0;
    const response = await client.fetch("/g/hello");
    expect(await response.text()).toBe("hello");
    expect(response.headers.get("x-via")).toBe("group, app");
    expect(trail).toStrictEqual(["app in", "group in", "group out", "app out"]);
  });

  test("answers without calling next(), and hands a replaced request inward", async () => {
    const refused = await client.fetch("/auth/me");
    expect(refused.status).toBe(401);
    expect(await refused.text()).toBe("no");
    const allowed = await client.fetch("/auth/me", { headers: { authorization: "Bearer ok" } });
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toBe("ada");
  });

  test("a throwing request middleware is a 500 with nothing of its message, and is logged", async () => {
    errors.length = 0;
    const response = await client.fetch("/broken/fails");
    expect(response.status).toBe(500);
    expect(await response.text()).toBe("Internal Server Error");
    expect(JSON.stringify(errors.map((e) => String((e as { err?: unknown }).err)))).toContain("request middleware bug");
  });

  test("a route without request middleware keeps its own handler: nothing is wrapped", () => {
    const route = get("/x", () => "x");
    expect(withRequestMiddleware(route, [])).toBe(route);
    expect(withRequestMiddleware(route, [{ message: (_m, next) => next() }])).toBe(route);
    expect(withRequestMiddleware(route, [{ request: (_r, next) => next() }])).not.toBe(route);
  });
});

describe("connection and message middleware (WebSocket routes)", () => {
  test("connection wrappers run outermost first at the upgrade and see the close code; message wrappers see each message in order", async () => {
    trail.length = 0;
    const ws = await client.connect("/g/echo?id=7");
    ws.sendText("a");
    expect(await ws.receiveText()).toBe("echo a");
    ws.sendText("b");
    expect(await ws.receiveText()).toBe("echo b");
    await ws.close(4000, "bye");
    await expect.poll(() => trail.filter((t) => t.includes("closed"))).toStrictEqual(["route closed 4000", "group closed 4000", "app closed 4000"]);
    expect(trail.filter((t) => !t.includes("closed"))).toStrictEqual([
      "app open 7", "group open 7", "route open 7",
      "app message a", "group message a", "route message a",
      "app message b", "group message b", "route message b",
    ]);
  });

  test("a message not handed on never reaches the handler and is counted as discarded; low-level handlers too", async () => {
    seen.length = 0;
    const before = app.stats().messages.discarded;
    const log = await client.connect("/filtered/log");
    for (const text of ["one", "secret two", "three"]) log.sendText(text);
    const raw = await client.connect("/filtered/raw");
    raw.sendText("secret x");
    raw.sendText("y");
    expect(await raw.receiveText()).toBe("raw y");
    await expect.poll(() => seen).toStrictEqual(["one", "three"]);
    expect(app.stats().messages.discarded - before).toBe(2);
    await log.close();
    await raw.close();
  });

  test.each([
    ["/broken/throws", "middleware bug"],
    ["/broken/async", "returned a promise: message middleware is synchronous"],
    ["/broken/twice", "called next() more than once"],
    ["/broken/late", "called next() after it returned"],
  ])("%s closes its connection with 1011 and logs why", async (path, why) => {
    errors.length = 0;
    const ws = await client.connect(path);
    ws.sendText("x");
    const closed = await ws.closed;
    expect(closed.code).toBe(1011);
    expect(closed.reason).toBe("Internal error");
    expect(JSON.stringify(errors.map((e) => String((e as { err?: unknown }).err)))).toContain(why);
  });

  test("property: whatever messages arrive and whichever a middleware drops, the handler sees exactly the kept ones, in order", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ maxLength: 12 }), { maxLength: 20 }), fc.func(fc.boolean()), async (texts, keep) => {
        const received: string[] = [];
        const local = createApp({
          logger: quiet,
          routes: [websocketListener("/p", { handler: (text: string) => void received.push(text), middleware: [{ message: (m, next) => { if (keep(m.text())) next(); } }] })],
        });
        const ws = await testClient(local).connect("/p");
        for (const text of texts) ws.sendText(text);
        await ws.close();
        await local.close({ timeoutMs: 1000 });
        expect(received).toStrictEqual(texts.filter((text) => keep(text)));
      }),
      { numRuns: runs },
    );
  });

  test("a route without message middleware runs its handler logic unwrapped", () => {
    const logic = websocketListener("/x", { handler: (text: string) => text }).logic;
    expect(withMessageMiddleware(logic, [])).toBe(logic);
    expect(withMessageMiddleware(logic, [(_m, next) => next()])).not.toBe(logic);
  });
});
