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
  type ConnectionOutcome,
  type HandlerContext,
  provide,
  type Provided,
  type Socket,
  websocket,
  websocketListener,
  websocketStream,
} from "../src/index.js";

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
