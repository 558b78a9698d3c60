/**
 * examples/graphql-ws.ts against the real `graphql-ws` client over TCP, and each protocol rule
 * (close codes 4400, 4401, 4408, 4409, 4429; ping/pong; complete) with a plain client.
 */
import { createClient, type Client } from "graphql-ws";
import { afterAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
import { fromCallback } from "xstate";
import { type App, createApp, type Logger, websocketMachine } from "../src/index.js";
import { checkMachinePaths, machineModel, testClient, type TestSocket } from "../src/testing/index.js";
import { graphqlWs, graphqlWsMachine, PROTOCOL, toEvent } from "../examples/graphql-ws.js";

const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };
const apps: App[] = [];
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
});
function appWith(...routes: Parameters<typeof createApp>[0]["routes"]): App {
  const app = createApp({ routes, logger: quiet });
  apps.push(app);
  return app;
}

async function graphqlClient(app: App): Promise<Client> {
  const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
  return createClient({ url: `${url.replace(/^http/, "ws")}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
}

function collect<T>(client: Client, payload: { query: string; variables?: Record<string, unknown> }): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const results: T[] = [];
    client.subscribe<T>(payload, { next: (value) => results.push(value as T), error: reject, complete: () => resolve(results) });
  });
}

describe("the real graphql-ws client over TCP", () => {
  test("a query, a countdown subscription, and both at once on one connection", async () => {
    const app = appWith(graphqlWs);
    const client = await graphqlClient(app);
    try {
      expect(await collect(client, { query: `{ hello(name: "ada") }` })).toEqual([{ data: { hello: "Hello ada" } }]);
      const countdown = await collect<{ data: { countdown: number } }>(client, { query: "subscription { countdown(from: 3) }" });
      expect(countdown.map((result) => result.data.countdown)).toEqual([3, 2, 1, 0]);
      const [a, b] = await Promise.all([
        collect<{ data: { countdown: number } }>(client, { query: "subscription { countdown(from: 2) }" }),
        collect(client, { query: "query Q($n: String) { hello(name: $n) }", variables: { n: "bo" } }),
      ]);
      expect(a.map((result) => result.data.countdown)).toEqual([2, 1, 0]);
      expect(b).toEqual([{ data: { hello: "Hello bo" } }]);
    } finally {
      await client.dispose();
    }
  });

  test("a GraphQL error reaches the client's error callback", async () => {
    const app = appWith(graphqlWs);
    const client = await graphqlClient(app);
    try {
      const failure = await collect(client, { query: "{ nope }" }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(JSON.stringify(failure)).toContain("nope");
    } finally {
      await client.dispose();
    }
  });

  test("unsubscribing stops the server's operation: no frame for it after complete", async () => {
    const app = appWith(graphqlWs);
    const client = await graphqlClient(app);
    try {
      const seen: number[] = [];
      await new Promise<void>((resolve) => {
        const stop = client.subscribe<{ countdown: number }>(
          { query: "subscription { countdown(from: 100) }" },
          {
            next: (value) => {
              seen.push(value.data!.countdown);
              if (seen.length === 2) {
                stop();
                resolve();
              }
            },
            error: () => resolve(),
            complete: () => resolve(),
          },
        );
      });
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(seen).toEqual([100, 99]);
      // The connection still serves: the machine forgot the operation.
      expect(await collect(client, { query: "{ hello }" })).toEqual([{ data: { hello: "Hello world" } }]);
    } finally {
      await client.dispose();
    }
  });
});

describe("the protocol's rules", () => {
  const fast = websocketMachine("/graphql", {
    machine: graphqlWsMachine.provide({ delays: { connectionInitWaitTimeout: 100 } }),
    receive: "text",
    toEvent,
    accept: ({ socket }) => (socket.subprotocols.includes(PROTOCOL) ? { subprotocol: PROTOCOL } : {}),
  });

  async function open(transport: "memory" | "tcp" = "memory"): Promise<{ socket: TestSocket; close: () => Promise<void> }> {
    const client = testClient(appWith(fast), { transport });
    const socket = await client.connect("/graphql", { subprotocols: [PROTOCOL] });
    expect(socket.subprotocol).toBe(PROTOCOL);
    return { socket, close: () => client.close() };
  }
  const subscribe = (id: string) => ({ type: "subscribe", id, payload: { query: "subscription { countdown(from: 50) }" } });

  test.each([
    ["no connection_init in time", [], 4408, "Connection initialisation timeout"],
    ["a second connection_init", [{ type: "connection_init" }, { type: "connection_init" }], 4429, "Too many initialisation requests"],
    ["subscribe before the ack", [subscribe("1")], 4401, "Unauthorized"],
    ["a duplicate subscription id", [{ type: "connection_init" }, subscribe("1"), subscribe("1")], 4409, "Subscriber for 1 already exists"],
    ["a message of no known shape", [{ type: "connection_init" }, { type: "next", id: "1", payload: {} }], 4400, "Invalid message received"],
    ["a message that is not JSON", ["{"], 4400, "Invalid message received"],
  ] as const)("%s closes with graphql-ws's code, over memory and TCP", async (_name, messages, code, reason) => {
    for (const transport of ["memory", "tcp"] as const) {
      const { socket, close } = await open(transport);
      for (const message of messages) socket.sendText(typeof message === "string" ? message : JSON.stringify(message));
      expect(await socket.closed).toMatchObject({ code, reason });
      await close();
    }
  });

  test("ping before and after the ack gets pong; pong is accepted silently; complete of an unknown id is ignored", async () => {
    const { socket, close } = await open();
    socket.sendJson({ type: "ping" });
    expect(await socket.receiveJson()).toEqual({ type: "pong" });
    socket.sendJson({ type: "connection_init", payload: {} });
    expect(await socket.receiveJson()).toEqual({ type: "connection_ack" });
    socket.sendJson({ type: "pong" });
    socket.sendJson({ type: "complete", id: "never" });
    socket.sendJson({ type: "ping", payload: { x: 1 } });
    expect(await socket.receiveJson()).toEqual({ type: "pong" });
    expect(socket.pending).toBe(0);
    await socket.close(1000);
    await close();
  });
});

describe("generated paths over the protocol layer", () => {
  test("every transition a client or timer can take, over memory and TCP (operations stubbed; the real ones are above)", async () => {
    const route = websocketMachine("/graphql", {
      machine: graphqlWsMachine.provide({
        delays: { connectionInitWaitTimeout: 300 },
        actors: { operation: fromCallback(() => () => {}) },
        // One operation fills the connection, so a path can reach the bound.
        guards: { full: ({ context }) => context.operations.length >= 1 },
      }),
      receive: "text",
      toEvent,
    });
    const subscribeEvent = { type: "subscribe", id: "1", payload: { query: "subscription { countdown(from: 1) }" } };
    const model = machineModel(route, {
      clientEvents: ["connection_init", "ping", "pong", "subscribe", "complete", "invalid"],
      samples: {
        connection_init: [{ type: "connection_init" }],
        subscribe: [subscribeEvent, { ...subscribeEvent, id: "2" }],
        complete: [{ type: "complete", id: "1" } as never, { type: "complete", id: "2" } as never],
        invalid: [{ type: "invalid" }],
      },
      toMessage: (event) => ({ kind: "text", data: event.type === "invalid" ? "not json" : JSON.stringify(event) }),
    });
    const lines: string[] = [];
    const { coverage } = await checkMachinePaths(appWith(route), model, {
      log: (line) => lines.push(line),
      uncoverable: model.internal,
    });
    console.log(lines[0], `— ${model.internal.length} transitions are taken by operation actors: ${model.internal.join(", ")}`);
    expect(coverage.missing).toEqual(model.internal);
    expect(model.internal.every((transition) => transition.includes("operation."))).toBe(true);
  }, 60_000);
});
