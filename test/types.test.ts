/**
 * The public types are the documentation's first page: data types inferred from schemas, params
 * from paths, dependency values from providers — checked by the compiler (`npm test` type-checks
 * this file) and by vitest's expectTypeOf.
 */
import { Effect, Schema } from "effect";
import * as v from "valibot";
import { describe, expectTypeOf, test } from "vitest";
import { z } from "zod";
import {
  bearerToken,
  type AnyChannelSocket,
  type ChannelSocket,
  type ConnectionOutcome,
  createChannels,
  type DataOf,
  group,
  type Guard,
  type HandlerContext,
  provide,
  type Provided,
  queryParameters,
  type Route,
  Socket,
  websocket,
  websocketListener,
  websocketMachine,
  WebSocketListener,
  websocketStream,
} from "../src/index.js";
import { createMachine } from "xstate";

declare module "../src/index.js" {
  interface AppDependencies {
    readonly appWide: { readonly region: string };
  }
}

describe("inferred types", () => {
  test("a listener's data type comes from its receive schema, without casts", () => {
    websocketListener("/effect", {
      receive: Schema.Struct({ user: Schema.String, content: Schema.String }),
      handler: (message) => expectTypeOf(message).toEqualTypeOf<{ readonly user: string; readonly content: string }>(),
    });
    websocketListener("/zod", {
      receive: z.object({ n: z.number() }),
      handler: (value) => expectTypeOf(value).toEqualTypeOf<{ n: number }>(),
    });
    websocketListener("/valibot", {
      receive: v.object({ n: v.number() }),
      handler: (value) => expectTypeOf(value).toEqualTypeOf<{ n: number }>(),
    });
    websocketListener("/text", (text) => expectTypeOf(text).toEqualTypeOf<string>());
    websocketListener("/bytes", { receive: "bytes", handler: (bytes) => expectTypeOf(bytes).toEqualTypeOf<Buffer>() });
    websocketListener("/json", { receive: "json", handler: (value) => expectTypeOf(value).toEqualTypeOf<unknown>() });
  });

  test("path params are typed from the path literal", () => {
    websocket("/rooms/:room/:page?", (socket) => {
      expectTypeOf(socket.params).toEqualTypeOf<{ readonly room: string; readonly page?: string }>();
    });
    websocketListener("/users/:id", (_text, { params }) => expectTypeOf(params.id).toEqualTypeOf<string>());
  });

  test("dependency values come from their providers: value, promise, async generator, Effect with Scope", () => {
    const dependencies = {
      plain: provide(() => 1),
      promised: provide(async () => "s"),
      generated: provide(async function* () {
        yield { close: () => {} };
      }),
      scoped: provide(() => Effect.acquireRelease(Effect.succeed(true), () => Effect.void)),
    };
    websocketListener("/deps", {
      dependencies,
      handler: (_text, context) => {
        expectTypeOf(context.plain).toEqualTypeOf<number>();
        expectTypeOf(context.promised).toEqualTypeOf<string>();
        expectTypeOf(context.generated).toEqualTypeOf<{ close: () => void }>();
        expectTypeOf(context.scoped).toEqualTypeOf<boolean>();
        expectTypeOf(context.appWide.region).toEqualTypeOf<string>();
        expectTypeOf(context.socket).toExtend<Socket<object, object>>();
      },
    });
    websocket(
      "/low-level",
      async (_socket, deps) => {
        expectTypeOf(deps.plain).toEqualTypeOf<number>();
      },
      { dependencies },
    );
    // An Effect needing a service other than Scope is refused at the type level.
    type NeedsService = Provided<Effect.Effect<number, never, { readonly service: true }>>;
    expectTypeOf<NeedsService>().not.toEqualTypeOf<number>();
  });

  test("stream contexts carry the signal; onDisconnect receives the close outcome", () => {
    websocketStream("/s", {
      stream: async function* (context: HandlerContext<"/s", Record<never, never>>) {
        expectTypeOf(context.signal).toEqualTypeOf<AbortSignal>();
        yield 1;
      },
      onDisconnect: (_context, close) => expectTypeOf(close).toEqualTypeOf<ConnectionOutcome>(),
    });
  });
});

describe("the socket type flows from the layer that chooses it", () => {
  const channels = createChannels();
  class NamedSocket extends Socket<object, object, object> {
    readonly greeting = "hello";
  }

  test("a route naming the plugin's socket class sees its methods, with the route's params, in every handler kind", () => {
    websocket(
      "/rooms/:room",
      async (socket) => {
        expectTypeOf(socket).toExtend<AnyChannelSocket>();
        expectTypeOf(socket.join).toEqualTypeOf<ChannelSocket["join"]>();
        expectTypeOf(socket.params.room).toEqualTypeOf<string>();
      },
      { socketClass: channels.socketClass },
    );
    websocketListener("/l/:id", {
      socketClass: channels.socketClass,
      onAccept: ({ socket }) => expectTypeOf(socket.broadcast).toBeFunction(),
      handler: (_text, { socket, params }) => {
        expectTypeOf(socket.rooms).toEqualTypeOf<readonly string[]>();
        expectTypeOf(params.id).toEqualTypeOf<string>();
      },
    });
    websocketStream("/s", {
      stream: async function* ({ socket }) {
        expectTypeOf(socket.leave).toBeFunction();
        yield 1;
      },
      socketClass: channels.socketClass,
    });
    websocketMachine("/m", {
      machine: createMachine({}),
      socketClass: channels.socketClass,
      onAccept: ({ socket }) => expectTypeOf(socket.join).toBeFunction(),
    });
    websocketListener("/own", { socketClass: NamedSocket, handler: (_text, { socket }) => expectTypeOf(socket.greeting).toEqualTypeOf<string>() });
  });

  test("without a socket class a handler sees Socket, without the plugin's methods", () => {
    websocket("/plain", (socket) => {
      expectTypeOf(socket).toEqualTypeOf<Socket<{ readonly [x: string]: string | undefined }, Record<string, unknown>>>();
      // @ts-expect-error join belongs to the plugin's socket class, which this route does not name
      void socket.join;
    });
  });

  test("a route that needs a socket class its group does not give is a type error; routes needing nothing fit anywhere", () => {
    const needsChannels = websocket("/annotated", (socket: ChannelSocket<object, object, object>) => void socket.join("r"));
    const plain = websocket("/plain", (socket) => void socket.accept());
    expectTypeOf(plain).toExtend<Route<AnyChannelSocket>>();
    expectTypeOf(needsChannels).toExtend<Route<AnyChannelSocket>>();
    expectTypeOf(needsChannels).not.toExtend<Route<Socket<object, object, object>>>();
    // A group setting the class takes the requirement on itself.
    expectTypeOf(group("/g", [needsChannels], { socketClass: channels.socketClass })).toExtend<Route<Socket<object, object, object>>>();
    expectTypeOf(group("/g", [needsChannels])).not.toExtend<Route<Socket<object, object, object>>>();
  });
});

describe("guards declare what they add to socket.state", () => {
  interface User {
    readonly id: string;
    readonly admin: boolean;
  }
  const auth = bearerToken({ verify: (token): User | undefined => (token === "t" ? { id: "1", admin: false } : undefined) });

  test("bearerToken's user is typed in the route's handlers, beside any other name", () => {
    expectTypeOf(auth).toEqualTypeOf<Guard<{ readonly user: User }>>();
    websocket(
      "/me",
      async (socket) => {
        expectTypeOf(socket.state.user).toEqualTypeOf<User>();
        expectTypeOf(socket.state.other).toEqualTypeOf<unknown>();
      },
      { guards: [auth] },
    );
    websocketListener("/me", {
      guards: [auth, async (_context, next) => next()],
      handler: (_text, { socket }) => expectTypeOf(socket.state.user.admin).toEqualTypeOf<boolean>(),
    });
  });

  test("a stateKey names the field; several typed guards add up", () => {
    const role: Guard<{ readonly role: "admin" | "member" }> = async (context, next) => {
      context.state.role = "member";
      await next();
    };
    const custom = bearerToken({ verify: () => 42, stateKey: "account" });
    websocket(
      "/both",
      async (socket) => {
        expectTypeOf(socket.state.account).toEqualTypeOf<number>();
        expectTypeOf(socket.state.role).toEqualTypeOf<"admin" | "member">();
      },
      { guards: [custom, role] },
    );
  });
});

describe("a route's query schema types socket.query", () => {
  const Search = Schema.Struct({ q: Schema.String, limit: Schema.FiniteFromString });

  test("from a schema or from queryParameters(schema, options), in the socket and the context", () => {
    websocket(
      "/q",
      async (socket) => {
        expectTypeOf(socket.query).toEqualTypeOf<{ readonly q: string; readonly limit: number }>();
      },
      { query: Search },
    );
    websocketListener("/q", {
      query: queryParameters(z.object({ page: z.coerce.number() }), { refuseWith: 4400 }),
      handler: (_text, { query, socket }) => {
        expectTypeOf(query).toEqualTypeOf<{ page: number }>();
        expectTypeOf(socket.query.page).toEqualTypeOf<number>();
      },
    });
    websocket("/raw", (socket) => {
      expectTypeOf(socket.query).toEqualTypeOf<Readonly<Record<string, string>>>();
    });
  });
});

describe("a class listener's data type follows what it receives", () => {
  const ChatMessage = Schema.Struct({ user: Schema.String, content: Schema.String });

  test("WebSocketListener<R>: receive must be R, onReceive's data is DataOf<R>", () => {
    class Chat extends WebSocketListener<typeof ChatMessage> {
      readonly path = "/chat";
      override readonly receive = ChatMessage;
      onReceive(message: DataOf<typeof ChatMessage>): string {
        return message.content;
      }
    }
    expectTypeOf<Parameters<Chat["onReceive"]>[0]>().toEqualTypeOf<{ readonly user: string; readonly content: string }>();
    class Text extends WebSocketListener {
      readonly path = "/text";
      onReceive(text: string): string {
        return text;
      }
    }
    expectTypeOf<Parameters<Text["onReceive"]>[0]>().toEqualTypeOf<string>();
    class Wrong extends WebSocketListener {
      readonly path = "/wrong";
      // @ts-expect-error a listener receiving JSON declares it: WebSocketListener<"json">
      override readonly receive = "json" as const;
      onReceive(): void {}
    }
    void Wrong;
  });

  test("WebSocketListener<R, Sock>: the hooks get the plugin's socket", () => {
    const channels = createChannels();
    class Room extends WebSocketListener<"text", AnyChannelSocket> {
      readonly path = "/room";
      override readonly socketClass = channels.socketClass;
      override async onAccept(socket: AnyChannelSocket): Promise<void> {
        await socket.join("lobby");
      }
      onReceive(): void {}
    }
    expectTypeOf<Parameters<NonNullable<Room["onAccept"]>>[0]>().toEqualTypeOf<AnyChannelSocket>();
  });
});
