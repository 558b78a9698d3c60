/** Typed query and path parameters: checked once at the upgrade; invalid → HTTP 400 or a close code. */
import { Result, Schema } from "effect";
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { createApp, type Logger, pathParameters, queryParameters, websocket, websocketListener } from "../src/index.js";
import { HandshakeRejected, testClient } from "../src/testing/index.js";

const runs = process.env.STATEWIRE_DEEP === "1" ? 1000 : 100;
const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

const Search = Schema.Struct({ q: Schema.String, limit: Schema.FiniteFromString });
const search = queryParameters(Search);
const browserSearch = queryParameters(Search, { refuseWith: 4400 });
const task = pathParameters(Schema.Struct({ id: Schema.FiniteFromString }));

const app = createApp({
  logger: quiet,
  routes: [
    websocket(
      "/search",
      async (socket) => {
        const { q, limit } = search.of(socket); // typed: { q: string; limit: number }
        await socket.accept();
        await socket.sendJson({ q, limit, limitType: typeof limit });
      },
      { guards: [search.guard] },
    ),
    websocket("/browser-search", async (socket) => {
      await socket.accept();
      await socket.sendJson(browserSearch.of(socket));
    }, { guards: [browserSearch.guard] }),
    // The route's `query` option: `socket.query` is the decoded value, typed from the schema, no `.of`.
    websocket(
      "/typed-search",
      async (socket) => {
        const { q, limit } = socket.query;
        await socket.accept();
        await socket.sendJson({ q, limit, limitType: typeof limit });
      },
      { query: Search },
    ),
    websocketListener("/typed-listener", {
      query: queryParameters(Search, { refuseWith: 4400 }),
      // Guards after the query schema see it decoded too.
      guards: [async (context, next) => ((context.state.seen = typeof context.socket.query), next())],
      onAccept: ({ socket, query }) => socket.sendJson({ limit: query.limit + 1, same: query === socket.query, seen: socket.state.seen }),
      handler: (_text, { query }) => query.q,
    }),
    websocketListener("/tasks/:id", {
      guards: [task.guard],
      onAccept: async (context) => {
        const { id } = task.of(context);
        await context.socket.sendJson({ id: id + 1 });
      },
      handler: () => undefined,
    }),
  ],
});
afterAll(() => app.close({ timeoutMs: 1000 }));
const client = testClient(app);

describe("typed parameters", () => {
  test("a valid query is decoded once and typed for the handler", async () => {
    const ws = await client.connect("/search?q=cats&limit=5");
    expect(await ws.receiveJson()).toEqual({ q: "cats", limit: 5, limitType: "number" });
    await ws.close();
  });

  test("an invalid query is refused with HTTP 400 naming the problem", async () => {
    const error = await client.connect("/search?q=cats&limit=many").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandshakeRejected);
    expect((error as HandshakeRejected).status).toBe(400);
    expect((error as HandshakeRejected).body).toMatch(/^Invalid query: .*limit/s);
  });

  test("refuseWith: a close code completes the handshake and closes with it", async () => {
    const ws = await client.connect("/browser-search?q=x");
    expect((await ws.closed).code).toBe(4400);
  });

  test("a route's query schema: socket.query is the decoded value; invalid is HTTP 400", async () => {
    const ws = await client.connect("/typed-search?q=cats&limit=5");
    expect(await ws.receiveJson()).toEqual({ q: "cats", limit: 5, limitType: "number" });
    await ws.close();
    const error = await client.connect("/typed-search?q=cats&limit=many").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandshakeRejected);
    expect((error as HandshakeRejected).status).toBe(400);
    expect((error as HandshakeRejected).body).toMatch(/^Invalid query: .*limit/s);
  });

  test("a route's query given as queryParameters(schema, { refuseWith }): the context's query is decoded; invalid closes with the code", async () => {
    const ws = await client.connect("/typed-listener?q=dogs&limit=1");
    expect(await ws.receiveJson()).toEqual({ limit: 2, same: true, seen: "object" });
    ws.sendText("anything");
    expect(await ws.receiveText()).toBe("dogs");
    await ws.close();
    const refused = await client.connect("/typed-listener?q=dogs");
    expect((await refused.closed).code).toBe(4400);
  });

  test("path parameters: /tasks/41 gives the handler the number 41; /tasks/abc is a 400", async () => {
    const ws = await client.connect("/tasks/41");
    expect(await ws.receiveJson()).toEqual({ id: 42 });
    await ws.close();
    await expect(client.connect("/tasks/abc")).rejects.toMatchObject({ status: 400 });
  });

  test("property: the server accepts exactly the queries the schema decodes, with the schema's values", async () => {
    const decode = Schema.decodeUnknownResult(Search);
    await fc.assert(
      fc.asyncProperty(fc.option(fc.string({ maxLength: 8 }), { nil: undefined }), fc.option(fc.string({ maxLength: 8 }), { nil: undefined }), async (q, limit) => {
        const params = new URLSearchParams();
        if (q !== undefined) params.set("q", q);
        if (limit !== undefined) params.set("limit", limit);
        const asQuery = Object.fromEntries(new URLSearchParams(params.toString()));
        const expected = decode(asQuery);
        const outcome = await client.connect(`/search?${params.toString()}`).then(
          async (ws) => {
            const value = await ws.receiveJson();
            await ws.close();
            return value;
          },
          (error: unknown) => (error instanceof HandshakeRejected ? error.status : error),
        );
        if (Result.isSuccess(expected)) expect(outcome).toEqual({ ...expected.success, limitType: "number" });
        else expect(outcome).toBe(400);
      }),
      { numRuns: runs },
    );
  });
});
