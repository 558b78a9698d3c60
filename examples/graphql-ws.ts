/**
 * GraphQL over WebSocket (`graphql-transport-ws`, the protocol of the `graphql-ws` library) as a
 * statechart: the connection waits for `connection_init` (else 4408), acknowledges it (a second
 * one is 4429), and then runs each `subscribe` as a child actor of its own, which executes the
 * operation with `graphql` and reports `next` / `error` / `complete` to the connection's
 * machine, which sends them. A `subscribe` before the ack is 4401, a duplicate id 4409, any
 * message that is not a valid protocol message 4400. Try it with the `graphql-ws` client.
 * `PORT=8000 node --import tsx examples/graphql-ws.ts`
 */
import { Schema } from "effect";
import { buildSchema, type DocumentNode, execute, type ExecutionResult, getOperationAST, GraphQLError, parse, subscribe, validate } from "graphql";
import { assign, type EventObject, fromCallback, setup, stopChild } from "xstate";
import { closeConnection, createApp, type DisconnectEvent, sendMessage, websocketMachine } from "statewire";
import { isMain, serve } from "./serve.js";

export const PROTOCOL = "graphql-transport-ws";

/** The example's schema: a query and a countdown subscription. */
export const schema = buildSchema(`
  type Query { hello(name: String): String! }
  type Subscription { countdown(from: Int!): Int! }
`);

const rootValue = {
  hello: ({ name }: { name?: string }) => `Hello ${name ?? "world"}`,
  countdown: async function* ({ from }: { from: number }) {
    for (let n = Math.min(from, 100); n >= 0; n--) {
      yield { countdown: n };
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  },
};

// ---- the client's messages (anything else closes 4400) ----------------------------------

const Id = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(128));
const ClientMessage = Schema.Union([
  Schema.Struct({ type: Schema.Literal("connection_init"), payload: Schema.optional(Schema.NullOr(Schema.Record(Schema.String, Schema.Unknown))) }),
  Schema.Struct({ type: Schema.Literal("ping"), payload: Schema.optional(Schema.Unknown) }),
  Schema.Struct({ type: Schema.Literal("pong"), payload: Schema.optional(Schema.Unknown) }),
  Schema.Struct({
    type: Schema.Literal("subscribe"),
    id: Id,
    payload: Schema.Struct({
      query: Schema.String,
      operationName: Schema.optional(Schema.NullOr(Schema.String)),
      variables: Schema.optional(Schema.NullOr(Schema.Record(Schema.String, Schema.Unknown))),
      extensions: Schema.optional(Schema.NullOr(Schema.Record(Schema.String, Schema.Unknown))),
    }),
  }),
  Schema.Struct({ type: Schema.Literal("complete"), id: Id }),
]);
type ClientMessage = typeof ClientMessage.Type;
type Subscribe = Extract<ClientMessage, { type: "subscribe" }>;
const decodeClientMessage = Schema.decodeUnknownOption(ClientMessage);

/** What each operation actor reports to the connection's machine. */
type OperationEvent =
  | { readonly type: "operation.next"; readonly id: string; readonly payload: ExecutionResult }
  | { readonly type: "operation.error"; readonly id: string; readonly payload: readonly unknown[] }
  | { readonly type: "operation.complete"; readonly id: string };

type GraphqlEvent = ClientMessage | OperationEvent | { readonly type: "invalid" } | DisconnectEvent;

/** Text frames → protocol events; anything else (bad JSON, unknown shape) → `invalid` (4400). */
export function toEvent(text: string): EventObject {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { type: "invalid" };
  }
  const decoded = decodeClientMessage(json);
  return decoded._tag === "Some" ? decoded.value : { type: "invalid" };
}

// ---- one operation: a child actor executing a query or iterating a subscription ---------

const operation = fromCallback<EventObject, Subscribe>(({ input, sendBack }) => {
  const { id, payload } = input;
  let iterator: AsyncIterator<ExecutionResult> | undefined;
  let stopped = false;
  const report = (event: OperationEvent): void => {
    if (!stopped) sendBack(event);
  };
  const errors = (list: readonly GraphQLError[]): void => report({ type: "operation.error", id, payload: list.map((error) => error.toJSON()) });
  void (async () => {
    let document: DocumentNode;
    try {
      document = parse(payload.query);
    } catch (error) {
      errors([error instanceof GraphQLError ? error : new GraphQLError(String(error))]);
      return;
    }
    const invalid = validate(schema, document);
    if (invalid.length > 0) return errors(invalid);
    const args = { schema, document, rootValue, variableValues: payload.variables ?? undefined, operationName: payload.operationName ?? undefined };
    const kind = getOperationAST(document, payload.operationName ?? undefined)?.operation;
    const result = kind === "subscription" ? await subscribe(args) : await execute(args);
    if (Symbol.asyncIterator in result) {
      iterator = result[Symbol.asyncIterator]();
      for (;;) {
        const next = await iterator.next();
        if (next.done === true || stopped) break;
        report({ type: "operation.next", id, payload: next.value });
      }
    } else if (kind === "subscription" && result.errors !== undefined && result.data === undefined) {
      return errors(result.errors);
    } else report({ type: "operation.next", id, payload: result });
    report({ type: "operation.complete", id });
  })().catch((error: unknown) => errors([new GraphQLError(error instanceof Error ? error.message : String(error))]));
  return () => {
    stopped = true;
    void iterator?.return?.();
  };
});

/** Operations one connection may run at once: a bound on what a client can make the server hold. */
const MAX_OPERATIONS = 64;

export const graphqlWsMachine = setup({
  types: {
    context: {} as { readonly operations: readonly string[] },
    events: {} as GraphqlEvent,
  },
  actors: { operation },
  delays: { connectionInitWaitTimeout: 3000 },
  guards: {
    known: ({ context, event }) => "id" in event && context.operations.includes(event.id),
    full: ({ context }) => context.operations.length >= MAX_OPERATIONS,
  },
  actions: {
    ack: sendMessage({ type: "connection_ack" }),
    pong: sendMessage({ type: "pong" }),
    start: assign(({ context, event, spawn }) => {
      const { id } = event as Subscribe;
      spawn("operation", { id, input: event as Subscribe });
      return { operations: [...context.operations, id] };
    }),
    forward: sendMessage(({ event }: { event: GraphqlEvent }) =>
      event.type === "operation.next" || event.type === "operation.error" ? { type: event.type === "operation.next" ? "next" : "error", id: event.id, payload: event.payload } : undefined,
    ),
    completed: sendMessage(({ event }: { event: GraphqlEvent }) => (event.type === "operation.complete" ? { type: "complete", id: event.id } : undefined)),
    stopOperation: stopChild(({ event }) => (event as unknown as { id: string }).id),
    forget: assign({ operations: ({ context, event }) => context.operations.filter((id) => id !== (event as unknown as { id: string }).id) }),
    tooMany: sendMessage(({ event }: { event: GraphqlEvent }) =>
      event.type === "subscribe" ? { type: "error", id: event.id, payload: [{ message: `At most ${MAX_OPERATIONS} operations at once` }] } : undefined,
    ),
  },
}).createMachine({
  id: "graphql-ws",
  initial: "waiting",
  context: { operations: [] },
  on: {
    ping: { actions: "pong" },
    pong: {},
    invalid: { actions: closeConnection(4400, "Invalid message received") },
  },
  states: {
    waiting: {
      on: {
        connection_init: { target: "acknowledged", actions: "ack" },
        subscribe: { actions: closeConnection(4401, "Unauthorized") },
        complete: {},
      },
      after: { connectionInitWaitTimeout: { actions: closeConnection(4408, "Connection initialisation timeout") } },
    },
    acknowledged: {
      on: {
        connection_init: { actions: closeConnection(4429, "Too many initialisation requests") },
        subscribe: [
          {
            guard: "known",
            actions: closeConnection(4409, ({ event }: { event: GraphqlEvent }) => `Subscriber for ${(event as { id: string }).id} already exists`),
          },
          { guard: "full", actions: "tooMany" },
          { actions: "start" },
        ],
        // The client is done with an operation: stop it, say nothing (as graphql-ws does).
        complete: [{ guard: "known", actions: ["stopOperation", "forget"] }, {}],
        "operation.next": { guard: "known", actions: "forward" },
        "operation.error": { guard: "known", actions: ["forward", "stopOperation", "forget"] },
        "operation.complete": { guard: "known", actions: ["completed", "stopOperation", "forget"] },
      },
    },
  },
});

export const graphqlWs = websocketMachine("/graphql", {
  machine: graphqlWsMachine,
  receive: "text",
  toEvent: toEvent as (data: string) => EventObject,
  // The subprotocol, when the client offers it (graphql-ws always does).
  accept: ({ socket }) => (socket.subprotocols.includes(PROTOCOL) ? { subprotocol: PROTOCOL } : {}),
});

export const app = createApp({ routes: [graphqlWs] });

if (isMain(import.meta.url)) await serve(app);
