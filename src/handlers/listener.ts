/**
 * `websocketListener(path, fn | options)`: data in, value out (Litestar's `websocket_listener`,
 * with JSON validated, not only parsed). Compiled into a handler actor whose per-message path
 * is the pipeline: decode, call, encode, send — synchronous when the function is.
 */
import type { PathParams } from "./path-params.js";
import type { AnySocket, Socket } from "../connection/socket.js";
import type { QuerySchema } from "../guards/parameters.js";
import { type LayerOptions, pickLayer } from "./layers.js";
import { createDecoder, createEncoder, type DataOf, type FrameMode, type ReceiveKind, type ValueEncoding } from "../codec/message-codec.js";
import { isMessageSchema, type MessageSchema } from "../codec/schema.js";
import type { Dependencies } from "../dependencies/provide.js";
import type { HandlerRun, HandlerLogic, HandlerParent } from "../connection/handler.js";
import { type AnyContext, createContext, type HandlerContext } from "./context.js";
import { MessagePipeline, type OnInvalid, type PipelineSpec } from "./pipeline.js";
import { closeSession, type Opened, openPlainSession, openSession, type SessionHooks } from "./session.js";
import { type RequiredSocket, type RouteGuards, type RouteOptions, type RouteSocket, routeLayer } from "./route-types.js";
import type { WebSocketRoute } from "./websocket.js";

/** How frames become data and replies become frames: the options listeners and machine handlers share. */
export interface MessageCodecOptions<Path extends string, D extends Dependencies, Sock extends AnySocket = Socket<PathParams<Path>>> {
  /** How replies that are not strings or bytes are encoded: `"json"` (default), or `"msgpack"` (binary frames; the default when `receive` is MessagePack). */
  readonly encoding?: ValueEncoding;
  /** A schema replies are encoded through (effect Schema) or checked against (Standard Schema). */
  readonly send?: MessageSchema;
  /** The frame kind accepted: `"text"` (default; `"binary"` when `receive` is `"bytes"` or MessagePack). The other kind closes with 1003. */
  readonly receiveMode?: FrameMode;
  /** Force the frame kind of replies; by default strings and JSON go as text, bytes as binary. */
  readonly sendMode?: FrameMode;
  /** A message that does not decode: `"close"` (default: 1003 / 1007 with a reason naming the problem), `"reply"` (an error frame, stay open), or a function whose result is sent. */
  readonly onInvalid?: OnInvalid<HandlerContext<Path, D, Sock>>;
}

/** `S`, `C`, `G`, `Q`: the socket class, the route's own class, guards and query schema (see `RouteOptions`); `Sock` the socket they make. */
export interface ListenerOptions<
  Path extends string,
  R extends ReceiveKind,
  D extends Dependencies,
  S extends AnySocket = AnySocket,
  C = undefined,
  G extends RouteGuards = RouteGuards,
  Q extends QuerySchema | undefined = undefined,
  Sock extends AnySocket = RouteSocket<Path, S, G, Q>,
> extends RouteOptions<S, C, G, Q>,
    MessageCodecOptions<Path, D, Sock>,
    SessionHooks<HandlerContext<Path, D, Sock>> {
  // Declared here, not in the shared options, so that `D` is inferred from it.
  readonly dependencies?: D;
  /** What the handler receives: `"text"` (default), `"bytes"`, `"json"`, `"msgpack"`, a schema (effect Schema or any Standard Schema) the JSON must satisfy, or `{ msgpack: schema }`. */
  readonly receive?: R;
  /** Called with an error the handler threw, before the connection closes with 1011; return `keepOpen(reply?)` to answer and stay open. */
  readonly onError?: (error: unknown, context: HandlerContext<Path, D, Sock>) => unknown;
  /** Called once per message, in order. Its result is the reply: string → text, bytes → binary, `undefined` → none, else JSON. */
  readonly handler: (data: DataOf<R>, context: HandlerContext<Path, D, Sock>) => unknown;
}

/** What one connection of a listener runs: its per-message spec and hooks (shared, or made per connection). */
export interface ListenerBehavior {
  readonly spec: PipelineSpec<AnyContext>;
  readonly hooks: SessionHooks<AnyContext>;
}

const PLAIN = Object.freeze({});

class ListenerRun implements HandlerRun {
  readonly #parent: HandlerParent;
  readonly #hooks: SessionHooks<AnyContext>;
  readonly #context: AnyContext;
  readonly #pipeline: MessagePipeline<AnyContext>;
  #accepted = false;
  #opened = false;
  #disconnected = false;
  #finishing = false;

  constructor(parent: HandlerParent, behavior: ListenerBehavior) {
    this.#parent = parent;
    this.#hooks = behavior.hooks;
    this.#context = createContext(parent.socket, parent.dependencies);
    this.#pipeline = new MessagePipeline(parent, behavior.spec, this.#context);
    const hooks = this.#hooks;
    // openSession reports handler errors itself; anything else is a runtime fault of this connection, never an unhandled rejection.
    try {
      const opened =
        typeof hooks.accept === "function" || hooks.onAccept !== undefined
          ? openSession(parent, this.#context, hooks)
          : openPlainSession(parent, parent.socket, hooks.accept ?? PLAIN);
      if (opened instanceof Promise) {
        opened.then(
          (result) => this.#afterOpen(result),
          (error: unknown) => this.#parent.fail(error),
        );
      } else this.#afterOpen(opened);
    } catch (error) {
      this.#parent.fail(error);
    }
  }

  #afterOpen({ accepted, ready }: Opened): void {
    try {
      this.#settle(accepted, ready);
    } catch (error) {
      this.#parent.fail(error);
    }
  }

  #settle(accepted: boolean, ready: boolean): void {
    this.#accepted = accepted;
    this.#opened = true;
    if (ready) this.#pipeline.release();
    if (this.#disconnected || !ready) this.#finish();
  }

  message(data: Buffer, isBinary: boolean): void {
    this.#pipeline.push(data, isBinary);
  }

  disconnect(): void {
    this.#disconnected = true;
    if (this.#opened) this.#finish();
  }

  /** Messages that arrived before the close are still handled (their replies are dropped); then `onDisconnect`. */
  #finish(): void {
    if (this.#finishing) return;
    this.#finishing = true;
    this.#pipeline.whenIdle(() => {
      closeSession(this.#parent, this.#context, this.#hooks, this.#accepted).catch((error: unknown) => this.#parent.fail(error));
    });
  }
}

/** Listener logic: one actor per connection, built from `behaviorFor(parent)`. */
export function compileListener(behaviorFor: (parent: HandlerParent) => ListenerBehavior): HandlerLogic {
  return { readsSocket: false, start: (parent) => new ListenerRun(parent, behaviorFor(parent)) };
}

/** The per-message spec of a listener's options; built once per route. */
export function listenerSpec(options: {
  readonly receive?: ReceiveKind;
  readonly encoding?: ValueEncoding;
  readonly send?: MessageSchema;
  readonly receiveMode?: FrameMode;
  readonly sendMode?: FrameMode;
  readonly onInvalid?: OnInvalid<never>;
  readonly onError?: ((error: unknown, context: never) => unknown) | undefined;
  readonly handler: (data: never, context: never) => unknown;
}): PipelineSpec<AnyContext> {
  const receive = options.receive ?? "text";
  const msgpack = receive === "msgpack" || (typeof receive === "object" && receive !== null && "msgpack" in receive && !isMessageSchema(receive));
  return {
    decode: createDecoder(receive, options.receiveMode ?? (receive === "bytes" || msgpack ? "binary" : "text")),
    encode: createEncoder(options.sendMode, options.send, options.encoding ?? (msgpack ? "msgpack" : "json")),
    handle: options.handler as PipelineSpec<AnyContext>["handle"],
    onInvalid: (options.onInvalid ?? "close") as OnInvalid<AnyContext>,
    onError: options.onError as PipelineSpec<AnyContext>["onError"],
  };
}

/**
 * A listener: each message in, the function's return value out.
 *
 * ```ts
 * websocketListener("/echo", (text) => `Echo: ${text}`);
 * websocketListener("/chat", {
 *   receive: Schema.Struct({ user: Schema.String, content: Schema.String }),
 *   handler: (message, { socket }) => ({ user: message.user, response: `Received: ${message.content}` }),
 * });
 * ```
 */
export function websocketListener<Path extends string>(
  path: Path,
  handler: (data: string, context: HandlerContext<Path, Record<never, never>>) => unknown,
): WebSocketRoute<Path, AnySocket>;
export function websocketListener<
  Path extends string,
  R extends ReceiveKind = "text",
  D extends Dependencies = Record<never, never>,
  S extends AnySocket = AnySocket,
  C = undefined,
  G extends RouteGuards = RouteGuards,
  Q extends QuerySchema | undefined = undefined,
>(path: Path, options: ListenerOptions<Path, R, D, S, C, G, Q>): WebSocketRoute<Path, RequiredSocket<NoInfer<S>, NoInfer<C>>>;
export function websocketListener(
  path: string,
  optionsOrHandler: ListenerOptions<string, ReceiveKind, Dependencies> | ((data: string, context: never) => unknown),
): WebSocketRoute<string, AnySocket> {
  const options = typeof optionsOrHandler === "function" ? { handler: optionsOrHandler } : optionsOrHandler;
  const behavior: ListenerBehavior = {
    spec: listenerSpec(options as Parameters<typeof listenerSpec>[0]),
    hooks: options as SessionHooks<AnyContext>,
  };
  return {
    kind: "websocket",
    path,
    // What the route receives, for the testing toolkit's flows (generated from the schema).
    logic: { ...compileListener(() => behavior), receive: (options as { readonly receive?: ReceiveKind }).receive ?? "text" },
    options: routeLayer(options as { readonly query?: QuerySchema }),
  };
}
