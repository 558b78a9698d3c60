/**
 * HTTP routes behave as web clients expect: HEAD is answered by a GET route (headers, no body),
 * a method no route at that path answers is 405 with `Allow`, over real TCP and `app.fetch`.
 */
import { afterEach, expect, test } from "vitest";
import { createApp, http, websocket, type App } from "../src/index.js";

let app: App | undefined;
afterEach(async () => {
  await app?.close({ timeoutMs: 100 });
  app = undefined;
});

function start(): App {
  app = createApp({
    routes: [
      http("GET", "/stats", () => Response.json({ open: 0 }, { headers: { "x-route": "stats" } })),
      http("POST", "/items", () => new Response("created", { status: 201 })),
      http("PUT", "/items", () => new Response("replaced")),
      websocket("/ws", async (socket) => socket.accept()),
    ],
  });
  return app;
}

test("HEAD on a GET route: the GET route's status and headers, no body", async () => {
  const { url } = await start().listen();
  const head = await fetch(`${url}/stats`, { method: "HEAD" });
  expect(head.status).toBe(200);
  expect(head.headers.get("x-route")).toBe("stats");
  expect(head.headers.get("content-type")).toBe("application/json");
  expect(await head.text()).toBe("");
  const get = await fetch(`${url}/stats`);
  expect(await get.json()).toStrictEqual({ open: 0 });
});

test("a method no route answers at a known path: 405 with Allow naming the methods that are", async () => {
  const { url } = await start().listen();
  const deleted = await fetch(`${url}/items`, { method: "DELETE" });
  expect(deleted.status).toBe(405);
  expect(deleted.headers.get("allow")).toBe("POST, PUT");
  const posted = await fetch(`${url}/stats`, { method: "POST" });
  expect(posted.status).toBe(405);
  expect(posted.headers.get("allow")).toBe("GET, HEAD");
  expect((await fetch(`${url}/items`, { method: "POST" })).status).toBe(201);
  // Unknown paths stay 404, WebSocket-only paths 426.
  expect((await fetch(`${url}/nothing`, { method: "DELETE" })).status).toBe(404);
  expect((await fetch(`${url}/ws`, { method: "HEAD" })).status).toBe(426);
});

test("app.fetch answers the same way", async () => {
  const served = start();
  const head = await served.fetch(new Request("http://localhost/stats", { method: "HEAD" }));
  expect(head.status).toBe(200);
  expect(head.body).toBeNull();
  const wrong = await served.fetch(new Request("http://localhost/items", { method: "PATCH" }));
  expect(wrong.status).toBe(405);
  expect(wrong.headers.get("allow")).toBe("POST, PUT");
});
