/**
 * Per-connection dependencies (`provide`): declared on the app, on groups and on routes; what a
 * provider can read; the kinds of provider results; when they are resolved and released; how
 * provider errors answer the handshake; listener hooks; reserved names. Every case runs over
 * the in-memory transport and over real TCP.
 */
import { Effect } from "effect";
import { afterEach, describe, expect, test } from "vitest";
import {
  type App,
  type AppOptions,
  type AnySocket,
  createApp,
  group,
  HandshakeDenied,
  type Logger,
  provide,
  type ProviderContext,
  type Route,
  Socket,
  WebSocketError,
  websocket,
  websocketListener,
} from "../src/index.js";
import { HandshakeRejected, type TestClient, type TestSocket, testClient } from "../src/testing/index.js";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll `condition` every few ms; fail (with what was awaited and the current state) after `timeoutMs`. */
async function until(condition: () => boolean, what: () => string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what()}`);
    await sleep(5);
  }
}

/** Long enough for a second (wrong) release to show up after the first, if there were one. */
const QUIET_MS = 60;

/** An async-generator provider that logs its acquisition and, after its `yield`, its release and the lifecycle then. */
function tracked<T>(log: string[], name: string, value: T) {
  return provide(async function* (context: ProviderContext) {
    const socket = context.socket;
    log.push(`acquire ${name}`);
    yield value;
    log.push(`release ${name} ${socket.lifecycle}`);
  });
}

/** An effect provider: `Effect.acquireRelease` in the connection's Scope. */
function trackedEffect<T>(log: string[], name: string, value: T) {
  return provide((context) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        log.push(`acquire ${name}`);
        return value;
      }),
      () => Effect.sync(() => void log.push(`release ${name} ${context.socket.lifecycle}`)),
    ),
  );
}

const releases = (log: readonly string[]): string[] => log.filter((entry) => entry.startsWith("release"));

/** The connection attempt's error (or a marker when it unexpectedly succeeded), bounded in time. */
async function refusal(client: TestClient, path: string, timeoutMs = 3000): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no handshake answer within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    return await Promise.race([
      client.connect(path).then(
        async (ws) => {
          await ws.abort();
          return "handshake completed";
        },
        (error: unknown) => error,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitForEnd(socket: AnySocket): Promise<void> {
  for await (const _message of socket) {
    // Drain until the peer leaves; the loop then ends normally.
  }
}

describe.each(["memory", "tcp"] as const)("dependencies over %s", (transport) => {
  const running: { app: App; client: TestClient }[] = [];

  afterEach(async () => {
    for (const { app, client } of running.splice(0)) {
      await client.close();
      await app.close({ timeoutMs: 2000 });
    }
  });

  interface Started {
    app: App;
    client: TestClient;
    errors: { fields: Record<string, unknown>; message: string | undefined }[];
    warnings: { fields: Record<string, unknown>; message: string | undefined }[];
  }

  function start(options: Omit<AppOptions, "logger">): Started {
    const errors: Started["errors"] = [];
    const warnings: Started["warnings"] = [];
    const logger: Logger = {
      error: (fields, message) => void errors.push({ fields, message }),
      warn: (fields, message) => void warnings.push({ fields, message }),
      info: () => {},
      debug: () => {},
    };
    // A long close timeout: a release that only comes from the runtime's "handler still running"
    // fallback (after closeTimeoutMs) must not pass for a prompt one.
    const app = createApp({ logger, closeTimeoutMs: 10_000, ...options });
    const client = testClient(app, { transport, receiveTimeoutMs: 3000 });
    running.push({ app, client });
    return { app, client, errors, warnings };
  }

  // ---- layers ---------------------------------------------------------------------------------

  test("app, group and route dependencies are layered: every layer's names are available and the nearest wins", async () => {
    const echoDeps = async (socket: AnySocket, deps: object): Promise<void> => {
      await socket.accept();
      await socket.sendJson(deps);
    };
    const { client } = start({
      dependencies: { shared: provide(() => "app"), appOnly: provide(() => "a") },
      routes: [
        websocket("/top", (socket, deps) => echoDeps(socket, deps)),
        group(
          "/g",
          [
            websocket("/inner", (socket, deps) => echoDeps(socket, deps)),
            websocket("/own", (socket, deps) => echoDeps(socket, deps), {
              dependencies: { shared: provide(async () => "route"), routeOnly: provide(() => "r") },
            }),
            group("/h", [websocket("/deep", (socket, deps) => echoDeps(socket, deps))], {
              dependencies: { shared: provide(() => "inner group"), deepOnly: provide(() => "d") },
            }),
          ],
          { dependencies: { shared: provide(() => "group"), groupOnly: provide(() => "g") } },
        ),
        group("/other", [websocket("/x", (socket, deps) => echoDeps(socket, deps))]),
      ],
    });

    const read = async (path: string): Promise<unknown> => {
      const ws = await client.connect(path);
      const value = await ws.receiveJson();
      expect((await ws.closed).code).toBe(1000);
      return value;
    };
    expect(await read("/top")).toEqual({ shared: "app", appOnly: "a" });
    expect(await read("/g/inner")).toEqual({ shared: "group", appOnly: "a", groupOnly: "g" });
    expect(await read("/g/own")).toEqual({ shared: "route", appOnly: "a", groupOnly: "g", routeOnly: "r" });
    expect(await read("/g/h/deep")).toEqual({ shared: "inner group", appOnly: "a", groupOnly: "g", deepOnly: "d" });
    // A group's dependencies stay inside the group.
    expect(await read("/other/x")).toEqual({ shared: "app", appOnly: "a" });
  });

  test("a listener's context has its dependencies by name (all layers) beside socket, params, query and signal", async () => {
    const { client } = start({
      dependencies: { shared: provide(() => "app"), appOnly: provide(() => "a") },
      routes: [
        group(
          "/g",
          [
            websocketListener("/listen/:id", {
              dependencies: { shared: provide(() => "listener route"), count: provide(() => 41) },
              handler: (data, context) => {
                const count: number = context.count; // typed from the route's own declaration
                const all = context as unknown as Record<string, unknown>;
                return {
                  data,
                  count: count + 1,
                  shared: context.shared,
                  appOnly: all.appOnly,
                  groupOnly: all.groupOnly,
                  params: { ...context.params },
                  query: { ...context.query },
                  socketIsSocket: context.socket instanceof Socket,
                  signalAborted: context.signal.aborted,
                };
              },
            }),
          ],
          { dependencies: { shared: provide(() => "group"), groupOnly: provide(() => "g") } },
        ),
      ],
    });
    const ws = await client.connect("/g/listen/7?q=1");
    ws.sendText("hi");
    expect(await ws.receiveJson()).toEqual({
      data: "hi",
      count: 42,
      shared: "listener route",
      appOnly: "a",
      groupOnly: "g",
      params: { id: "7" },
      query: { q: "1" },
      socketIsSocket: true,
      signalAborted: false,
    });
    await ws.close(1000);
  });

  // ---- what a provider can read ---------------------------------------------------------------

  test("the low-level handler gets (socket, deps), resolved once per connection before it runs", async () => {
    const log: string[] = [];
    let created = 0;
    const { client } = start({
      routes: [
        websocket(
          "/count",
          async (socket, deps) => {
            const n: number = deps.n;
            log.push(`handler sees ${n}`);
            await socket.accept();
            await socket.sendJson({ n });
          },
          {
            dependencies: {
              n: provide(async () => {
                created++;
                log.push(`provide ${created}`);
                await sleep(5);
                return created;
              }),
            },
          },
        ),
      ],
    });
    for (const expected of [1, 2]) {
      const ws = await client.connect("/count");
      expect(await ws.receiveJson()).toEqual({ n: expected });
      expect((await ws.closed).code).toBe(1000);
    }
    expect(created).toBe(2);
    expect(log).toEqual(["provide 1", "handler sees 1", "provide 2", "handler sees 2"]);
  });

  test("a provider reads params, query, headers, cookies, client and the connection's socket, not yet accepted", async () => {
    const { client } = start({
      routes: [
        websocket(
          "/rooms/:room",
          async (socket, deps) => {
            const { socket: providerSocket, ...seen } = deps.info;
            await socket.accept();
            await socket.sendJson({ ...seen, sameSocket: providerSocket === socket });
          },
          {
            dependencies: {
              info: provide((context) => ({
                params: { ...context.params },
                query: { ...context.query },
                token: context.headers["x-token"] ?? null,
                cookies: { ...context.cookies },
                host: context.client.host,
                port: typeof context.client.port,
                lifecycle: context.socket.lifecycle,
                path: context.socket.url.pathname,
                socket: context.socket,
              })),
            },
          },
        ),
      ],
    });
    const ws = await client.connect("/rooms/lobby?x=1&x=2&y=%C3%A9", {
      headers: { "x-token": "secret", cookie: "session=abc%20def; theme=dark" },
    });
    expect(await ws.receiveJson()).toEqual({
      params: { room: "lobby" },
      query: { x: "1", y: "é" },
      token: "secret",
      cookies: { session: "abc def", theme: "dark" },
      host: "127.0.0.1",
      port: "number",
      lifecycle: "connecting",
      path: "/rooms/lobby",
      sameSocket: true,
    });
    expect((await ws.closed).code).toBe(1000);
  });

  test("ctx.use resolves another dependency (of any layer) once per connection, however many providers use it", async () => {
    let dbCreated = 0;
    let configCreated = 0;
    const { client } = start({
      dependencies: {
        config: provide(() => {
          configCreated++;
          return { region: "eu" };
        }),
      },
      routes: [
        websocket(
          "/use",
          async (socket, deps) => {
            await socket.accept();
            await socket.sendJson({ user: deps.user, repo: deps.repo, db: deps.db.id });
          },
          {
            // `db` is declared last: the first provider that asks for it creates it.
            dependencies: {
              user: provide(async (context) => {
                const db = await context.use<{ id: number }>("db");
                const config = await context.use<{ region: string }>("config");
                return { db: db.id, region: config.region };
              }),
              repo: provide(async (context) => ({ db: (await context.use<{ id: number }>("db")).id })),
              db: provide(async () => {
                dbCreated++;
                const id = dbCreated;
                await sleep(5);
                return { id };
              }),
            },
          },
        ),
      ],
    });
    for (const id of [1, 2]) {
      const ws = await client.connect("/use");
      expect(await ws.receiveJson()).toEqual({ user: { db: id, region: "eu" }, repo: { db: id }, db: id });
      expect((await ws.closed).code).toBe(1000);
    }
    expect(dbCreated).toBe(2);
    expect(configCreated).toBe(2);
  });

  test("a dependency cycle refuses the handshake with 500 and the logged error names the cycle", async () => {
    let handlerRan = false;
    const handler = (): void => {
      handlerRan = true;
    };
    const { client, errors } = start({
      routes: [
        websocket("/cycle", handler, {
          dependencies: {
            a: provide(async (context) => context.use("b")),
            b: provide(async (context) => context.use("a")),
          },
        }),
        websocket("/self", handler, { dependencies: { self: provide((context) => context.use("self")) } }),
      ],
    });
    const error = await refusal(client, "/cycle");
    expect(error).toBeInstanceOf(HandshakeRejected);
    expect((error as HandshakeRejected).status).toBe(500);
    const self = await refusal(client, "/self");
    expect(self).toBeInstanceOf(HandshakeRejected);
    expect((self as HandshakeRejected).status).toBe(500);
    expect(handlerRan).toBe(false);
    const messages = errors.map(({ fields }) => (fields.err as Error).message);
    expect(messages).toEqual([expect.stringMatching(/cycle.*a → b → a/i), expect.stringMatching(/cycle.*self → self/i)]);
  });

  test("a cycle entered by two providers at once still fails with 500 instead of hanging the handshake", async () => {
    let handlerRan = false;
    const { client } = start({
      routes: [
        websocket(
          "/cycle",
          () => {
            handlerRan = true;
          },
          {
            dependencies: {
              // `both` asks for a and b at once; a then asks for b and b for a: a cycle a → b → a.
              both: provide(async (context) => Promise.all([context.use("a"), context.use("b")])),
              a: provide(async (context) => {
                await sleep(10);
                return context.use("b");
              }),
              b: provide(async (context) => {
                await sleep(20);
                return context.use("a");
              }),
            },
          },
        ),
      ],
    });
    const error = await refusal(client, "/cycle");
    expect(error).toBeInstanceOf(HandshakeRejected);
    expect((error as HandshakeRejected).status).toBe(500);
    expect(handlerRan).toBe(false);
  });

  // ---- provider kinds, order, release ---------------------------------------------------------

  test("values, promises, async generators and effect Scopes: the handler gets the values; each is released once, after close, newest first", async () => {
    const log: string[] = [];
    const { client, warnings } = start({
      routes: [
        websocket(
          "/kinds",
          async (socket, deps) => {
            log.push("handler start");
            const gen: string = deps.gen;
            const eff: number = deps.eff;
            const promised: string = deps.promised;
            const value: { v: number } = deps.value;
            await socket.accept();
            await socket.sendJson({ gen, eff, promised, value, last: deps.last });
            await waitForEnd(socket);
            log.push("handler end");
          },
          {
            dependencies: {
              gen: tracked(log, "gen", "G"),
              eff: trackedEffect(log, "eff", 42),
              promised: provide(async () => {
                log.push("acquire promised");
                await sleep(1);
                return "P";
              }),
              value: provide(() => {
                log.push("acquire value");
                return { v: 1 };
              }),
              last: tracked(log, "last", [1, 2]),
            },
          },
        ),
      ],
    });
    const ws = await client.connect("/kinds");
    expect(await ws.receiveJson()).toEqual({ gen: "G", eff: 42, promised: "P", value: { v: 1 }, last: [1, 2] });
    expect(releases(log)).toEqual([]);
    await ws.close(1000);
    await until(() => releases(log).length >= 3, () => `3 releases; log: ${JSON.stringify(log)}`);
    await sleep(QUIET_MS);
    expect(log).toEqual([
      "acquire gen",
      "acquire eff",
      "acquire promised",
      "acquire value",
      "acquire last",
      "handler start",
      "handler end",
      "release last closed",
      "release eff closed",
      "release gen closed",
    ]);
    expect(warnings).toEqual([]);
  });

  test("release order is the reverse of acquisition, not of declaration: a provider is released before what it used", async () => {
    const log: string[] = [];
    const { client } = start({
      routes: [
        websocket(
          "/order",
          async (socket, deps) => {
            await socket.accept();
            await socket.sendJson(deps);
          },
          {
            dependencies: {
              outer: provide(async function* (context) {
                const inner = await context.use<string>("inner");
                log.push("acquire outer");
                yield `outer(${inner})`;
                log.push("release outer");
              }),
              inner: provide((context) =>
                Effect.acquireRelease(
                  Effect.sync(() => {
                    log.push("acquire inner");
                    return "inner";
                  }),
                  () => Effect.sync(() => void log.push(`release inner ${context.socket.lifecycle}`)),
                ),
              ),
              plain: tracked(log, "plain", "p"),
            },
          },
        ),
      ],
    });
    const ws = await client.connect("/order");
    expect(await ws.receiveJson()).toEqual({ outer: "outer(inner)", inner: "inner", plain: "p" });
    expect((await ws.closed).code).toBe(1000);
    await until(() => releases(log).length >= 3, () => `3 releases; log: ${JSON.stringify(log)}`);
    await sleep(QUIET_MS);
    expect(log).toEqual([
      "acquire inner",
      "acquire outer",
      "acquire plain",
      "release plain closed",
      "release outer",
      "release inner closed",
    ]);
  });

  interface Ending {
    readonly name: string;
    readonly handler: (socket: AnySocket) => Promise<void> | void;
    /** Drive the connection to its end; returns what the client saw. */
    readonly act: (started: Started) => Promise<unknown>;
    readonly expected: unknown;
  }

  const endings: readonly Ending[] = [
    {
      name: "the client closed normally",
      handler: async (socket) => {
        await socket.accept();
        await socket.sendText("ready");
        await waitForEnd(socket);
      },
      act: async ({ client }) => {
        const ws = await client.connect("/end");
        expect(await ws.receiveText()).toBe("ready");
        return (await ws.close(1000, "bye")).code;
      },
      expected: 1000,
    },
    {
      name: "the client aborted abruptly",
      handler: async (socket) => {
        await socket.accept();
        await socket.sendText("ready");
        await waitForEnd(socket);
      },
      act: async ({ client }) => {
        const ws = await client.connect("/end");
        expect(await ws.receiveText()).toBe("ready");
        return (await ws.abort()).wasClean;
      },
      expected: false,
    },
    {
      name: "the handler closed the connection",
      handler: async (socket) => {
        await socket.accept();
        await socket.close(4000, "done");
        await waitForEnd(socket);
      },
      act: async ({ client }) => {
        const ws = await client.connect("/end");
        const closed = await ws.closed;
        return [closed.code, closed.reason];
      },
      expected: [4000, "done"],
    },
    {
      name: "the app shut down",
      handler: async (socket) => {
        await socket.accept();
        await socket.sendText("ready");
        await waitForEnd(socket);
      },
      act: async ({ app, client }) => {
        const ws = await client.connect("/end");
        expect(await ws.receiveText()).toBe("ready");
        await app.close({ timeoutMs: 2000 });
        return (await ws.closed).code;
      },
      expected: 1001,
    },
    {
      name: "the handler threw",
      handler: async (socket) => {
        await socket.accept();
        await socket.receiveText();
        throw new Error("handler bug");
      },
      act: async ({ client }) => {
        const ws = await client.connect("/end");
        ws.sendText("go");
        return (await ws.closed).code;
      },
      expected: 1011,
    },
    {
      name: "the handler rejected the handshake (403) after they resolved",
      handler: (socket) => {
        socket.reject(403);
      },
      act: async ({ client }) => ((await refusal(client, "/end")) as HandshakeRejected).status,
      expected: 403,
    },
    {
      name: "the handler returned without accepting",
      handler: async () => {
        await sleep(1);
      },
      act: async ({ client }) => ((await refusal(client, "/end")) as HandshakeRejected).status,
      expected: 403,
    },
  ];

  test.each(endings)("released exactly once, newest first, after close, when $name", async (ending) => {
    const log: string[] = [];
    const started = start({
      dependencies: { first: tracked(log, "first", 1) },
      routes: [
        websocket(
          "/end",
          async (socket, deps) => {
            log.push(`handler ${deps.second}`);
            await ending.handler(socket);
          },
          { dependencies: { second: trackedEffect(log, "second", 2) } },
        ),
      ],
    });
    expect(await ending.act(started)).toEqual(ending.expected);
    await until(() => releases(log).length >= 2, () => `2 releases; log: ${JSON.stringify(log)}`);
    await sleep(QUIET_MS);
    expect(log).toEqual(["acquire first", "acquire second", "handler 2", "release second closed", "release first closed"]);
    expect(started.warnings).toEqual([]);
  });

  test("a handler that ignores the disconnect loses its dependencies after the close timeout, and they are not released again when it ends", async () => {
    const log: string[] = [];
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    let handlerEnded = false;
    const { client, warnings } = start({
      closeTimeoutMs: 150,
      routes: [
        websocket(
          "/stuck",
          async (socket) => {
            await socket.accept();
            await socket.sendText("ready");
            await finished; // never looks at the socket again
            handlerEnded = true;
          },
          { dependencies: { res: tracked(log, "res", 1) } },
        ),
      ],
    });
    const ws = await client.connect("/stuck");
    expect(await ws.receiveText()).toBe("ready");
    await ws.close(1000);
    await until(() => releases(log).length >= 1, () => `a release; log: ${JSON.stringify(log)}`);
    expect(handlerEnded).toBe(false);
    expect(warnings.map(({ message }) => message)).toEqual([expect.stringMatching(/still running/)]);
    finish();
    await until(() => handlerEnded, () => "the handler to end");
    await sleep(QUIET_MS);
    expect(log).toEqual(["acquire res", "release res closed"]);
  });

  test("while providers still run the server closes: the handler never runs, what was acquired is released once", async () => {
    const log: string[] = [];
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let handlerRan = false;
    const { app, client } = start({
      routes: [
        websocket(
          "/slow",
          () => {
            handlerRan = true;
          },
          {
            dependencies: {
              fast: tracked(log, "fast", 1),
              slow: provide(async function* () {
                log.push("slow starts");
                await gate;
                log.push("acquire slow");
                yield 2;
                log.push("release slow");
              }),
              never: tracked(log, "never", 3),
            },
          },
        ),
      ],
    });
    const connecting = client.connect("/slow");
    await until(() => log.includes("slow starts"), () => `the slow provider to start; log: ${JSON.stringify(log)}`);
    const closing = app.close({ timeoutMs: 2000 });
    // Closing before accept completes the handshake and closes: the client sees 1001.
    const ws = await connecting;
    expect((await ws.closed).code).toBe(1001);
    await closing;
    open();
    await until(() => releases(log).length >= 2, () => `2 releases; log: ${JSON.stringify(log)}`);
    await sleep(QUIET_MS);
    expect(handlerRan).toBe(false);
    expect(log).toEqual(["acquire fast", "slow starts", "acquire slow", "release slow", "release fast closed"]);
  });

  // ---- provider failures ----------------------------------------------------------------------

  test("a provider that fails after others were acquired: those are released once, the failed one and later ones never", async () => {
    const log: string[] = [];
    let handlerRan = false;
    const handler = (): void => {
      handlerRan = true;
    };
    const { client } = start({
      dependencies: { a: tracked(log, "a", 1) },
      routes: [
        websocket("/throws", handler, {
          dependencies: {
            b: provide(() => {
              log.push("create b");
              throw new Error("b failed");
            }),
            c: tracked(log, "c", 3),
          },
        }),
        websocket("/generator-throws", handler, {
          dependencies: {
            b: provide(async function* () {
              log.push("create b");
              if (log.length > 0) throw new Error("b failed before its yield");
              yield 2;
              log.push("release b");
            }),
            c: tracked(log, "c", 3),
          },
        }),
        websocket("/effect-fails", handler, {
          dependencies: {
            b: provide(() =>
              Effect.gen(function* () {
                yield* Effect.acquireRelease(
                  Effect.sync(() => void log.push("acquire b's part")),
                  () => Effect.sync(() => void log.push("release b's part")),
                );
                return yield* Effect.fail(new Error("b failed halfway"));
              }),
            ),
            c: tracked(log, "c", 3),
          },
        }),
      ],
    });

    for (const [path, expected] of [
      ["/throws", ["acquire a", "create b", "release a closed"]],
      ["/generator-throws", ["acquire a", "create b", "release a closed"]],
      // The part b acquired before failing is undone with b's failure, before a is released.
      ["/effect-fails", ["acquire a", "acquire b's part", "release b's part", "release a closed"]],
    ] as const) {
      log.length = 0;
      const error = await refusal(client, path);
      expect(error, path).toBeInstanceOf(HandshakeRejected);
      expect((error as HandshakeRejected).status, path).toBe(500);
      await until(() => log.includes("release a closed"), () => `a's release on ${path}; log: ${JSON.stringify(log)}`);
      await sleep(QUIET_MS);
      expect(log, path).toEqual(expected);
    }
    expect(handlerRan).toBe(false);
  });

  test("a provider's error answers the handshake: 500 by default, the status it names, or the close code it names", async () => {
    const log: string[] = [];
    let handlerRan = false;
    const failing = (error: () => unknown) =>
      websocket(
        "/",
        () => {
          handlerRan = true;
        },
        {
          dependencies: {
            a: tracked(log, "a", 1),
            b: provide(async () => {
              await sleep(1);
              throw error();
            }),
          },
        },
      );
    const routes: Route[] = [
      group("/plain", [failing(() => new Error("database down"))]),
      group("/status", [failing(() => Object.assign(new Error("no"), { status: 403 }))]),
      group("/denied", [failing(() => new HandshakeDenied(403))]),
      group("/denied-body", [failing(() => new HandshakeDenied(401, "token required", { "www-authenticate": "Bearer" }))]),
      group("/close-code", [failing(() => new WebSocketError(4001, "Invalid token"))]),
    ];
    const { client, errors } = start({ routes });

    const denied = async (path: string): Promise<HandshakeRejected> => {
      log.length = 0;
      const error = await refusal(client, path);
      expect(error, path).toBeInstanceOf(HandshakeRejected);
      await until(() => releases(log).length >= 1, () => `a's release on ${path}; log: ${JSON.stringify(log)}`);
      return error as HandshakeRejected;
    };

    expect((await denied("/plain")).status).toBe(500);
    // Only the unexplained error is a server fault worth logging.
    expect(errors.map(({ fields }) => (fields.err as Error).message)).toEqual(["database down"]);
    expect((await denied("/status")).status).toBe(403);
    expect((await denied("/denied")).status).toBe(403);
    const withBody = await denied("/denied-body");
    expect([withBody.status, withBody.body, withBody.headers["www-authenticate"]]).toEqual([401, "token required", "Bearer"]);
    expect(errors).toHaveLength(1);

    log.length = 0;
    const ws = await client.connect("/close-code");
    expect(await ws.closed).toEqual({ code: 4001, reason: "Invalid token", wasClean: true });
    await until(() => releases(log).length >= 1, () => `a's release; log: ${JSON.stringify(log)}`);
    await sleep(QUIET_MS);
    expect(log).toEqual(["acquire a", "release a closed"]);
    expect(errors).toHaveLength(1);
    expect(handlerRan).toBe(false);
  });

  // ---- listener hooks -------------------------------------------------------------------------

  const listenerEndings: readonly {
    readonly name: string;
    readonly end: (ws: TestSocket) => Promise<unknown>;
    readonly code: number;
  }[] = [
    { name: "the client closes", end: async (ws) => (await ws.close(1000)).code, code: 1000 },
    { name: "the client aborts", end: async (ws) => (await ws.abort()).code, code: 1006 },
    {
      name: "the handler closes",
      end: async (ws) => {
        ws.sendText("close please");
        return (await ws.closed).code;
      },
      code: 4002,
    },
  ];

  test.each(listenerEndings)("listener hooks get the dependencies; onDisconnect runs once, before they are released, when $name", async (ending) => {
    const log: string[] = [];
    const { client, warnings } = start({
      routes: [
        websocketListener("/hooks", {
          dependencies: { res: tracked(log, "res", { name: "R" }) },
          onAccept: (context) => {
            log.push(`onAccept ${context.res.name}`);
          },
          onDisconnect: async (context, close) => {
            log.push(`onDisconnect ${context.res.name} ${close.code}`);
            await sleep(20); // release must wait for the hook to settle
            log.push("onDisconnect done");
          },
          handler: async (data, context) => {
            if (data === "close please") {
              await context.socket.close(4002, "asked");
              return undefined;
            }
            return `${data} ${context.res.name}`;
          },
        }),
      ],
    });
    const ws = await client.connect("/hooks");
    ws.sendText("hi");
    expect(await ws.receiveText()).toBe("hi R");
    expect(await ending.end(ws)).toBe(ending.code);
    await until(() => releases(log).length >= 1, () => `a release; log: ${JSON.stringify(log)}`);
    await sleep(QUIET_MS);
    expect(log).toEqual(["acquire res", "onAccept R", `onDisconnect R ${ending.code}`, "onDisconnect done", "release res closed"]);
    expect(warnings).toEqual([]);
  });

  test("a listener whose onAccept closes the connection: it was accepted, so onDisconnect runs once, then the release, promptly", async () => {
    const log: string[] = [];
    const { client, warnings } = start({
      routes: [
        websocketListener("/bye", {
          dependencies: { res: tracked(log, "res", { name: "R" }) },
          onAccept: async (context) => {
            log.push(`onAccept ${context.res.name}`);
            await context.socket.close(4005, "go away");
          },
          onDisconnect: (context, close) => {
            log.push(`onDisconnect ${context.res.name} ${close.code}`);
          },
          handler: (data) => data,
        }),
      ],
    });
    const ws = await client.connect("/bye");
    expect(await ws.closed).toEqual({ code: 4005, reason: "go away", wasClean: true });
    await until(() => releases(log).length >= 1, () => `a release; log: ${JSON.stringify(log)}`);
    await sleep(QUIET_MS);
    expect(log).toEqual(["acquire res", "onAccept R", "onDisconnect R 4005", "release res closed"]);
    expect(warnings).toEqual([]);
  });

  test("onDisconnect does not run for a listener connection that was never accepted; its dependencies are still released once, promptly", async () => {
    const log: string[] = [];
    const listener = (path: string, extra: { accept?: (context: { socket: AnySocket }) => object; fail?: () => unknown }) =>
      websocketListener(path, {
        dependencies: {
          res: tracked(log, path, 1),
          ...(extra.fail === undefined
            ? {}
            : {
                failing: provide(async () => {
                  throw extra.fail!();
                }),
              }),
        },
        ...(extra.accept === undefined ? {} : { accept: extra.accept }),
        onAccept: () => void log.push(`onAccept ${path}`),
        onDisconnect: () => void log.push(`onDisconnect ${path}`),
        handler: (data) => data,
      });
    // closeTimeoutMs is long: a release that only comes from the "handler still running" fallback misses the 2 s wait.
    const { client, warnings } = start({
      closeTimeoutMs: 10_000,
      routes: [
        listener("/refused-by-accept-hook", {
          accept: ({ socket }) => {
            socket.reject(403);
            return {};
          },
        }),
        listener("/closed-by-accept-hook", {
          accept: ({ socket }) => {
            void socket.close(4003, "not you");
            return {};
          },
        }),
        listener("/provider-fails", { fail: () => new Error("nope") }),
        listener("/provider-closes", { fail: () => new WebSocketError(4001, "Invalid token") }),
      ],
    });

    const cases: readonly [string, () => Promise<unknown>, unknown][] = [
      ["/refused-by-accept-hook", async () => ((await refusal(client, "/refused-by-accept-hook")) as HandshakeRejected).status, 403],
      ["/provider-fails", async () => ((await refusal(client, "/provider-fails")) as HandshakeRejected).status, 500],
      ["/closed-by-accept-hook", async () => (await (await client.connect("/closed-by-accept-hook")).closed).code, 4003],
      ["/provider-closes", async () => (await (await client.connect("/provider-closes")).closed).code, 4001],
    ];
    for (const [path, attempt, expected] of cases) {
      log.length = 0;
      expect(await attempt(), path).toBe(expected);
      await until(() => releases(log).length >= 1, () => `the release on ${path}; log: ${JSON.stringify(log)}`);
      await sleep(QUIET_MS);
      expect(log, path).toEqual([`acquire ${path}`, `release ${path} closed`]);
    }
    expect(warnings).toEqual([]);
  });

  // ---- reserved names -------------------------------------------------------------------------

  test.each(["socket", "params", "query", "signal"])("a dependency named %j makes createApp throw a TypeError, on any layer", (name) => {
    const dependencies = { [name]: provide(() => 1) };
    const route = websocket("/ws", () => {});
    const attempts: (() => unknown)[] = [
      () => createApp({ dependencies, routes: [route] }),
      () => createApp({ routes: [group("/g", [route], { dependencies })] }),
      () => createApp({ routes: [websocket("/ws", () => {}, { dependencies })] }),
      () => createApp({ routes: [websocketListener("/ws", { dependencies, handler: () => undefined })] }),
    ];
    for (const attempt of attempts) expect(attempt).toThrow(TypeError);
    expect(() => createApp({ dependencies, routes: [route] })).toThrow(new RegExp(`"${name}"`));
    // Any other name is fine.
    const app = createApp({ dependencies: { [`${name}X`]: provide(() => 1) }, routes: [route] });
    running.push({ app, client: testClient(app, { transport }) });
  });
});
