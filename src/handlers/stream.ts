/**
 * `websocketStream(path, source | options)`: push (Litestar's `websocket_stream`). The source is
 * an async generator function (or returns any async iterable, or an effect `Stream`); each value
 * is sent as listeners send replies. Pull-based: the next value is pulled only once the socket
 * is below its outbound high-water mark. When the client leaves, `signal` aborts and the
 * generator is finalized (`finally` runs) without another frame going out.
 */
import type { Stream } from "effect";
import { isEffectStream, loadEffect } from "../codec/effect.js";
import type { AnySocket } from "../connection/socket.js";
import type { QuerySchema } from "../guards/parameters.js";
import { type LayerOptions, pickLayer } from "./layers.js";
import { assertCloseFrame } from "../wire/close-codes.js";
import { createEncoder, type DataOf, type Encoder, type FrameMode, type ReceiveKind } from "../codec/message-codec.js";
import type { MessageSchema } from "../codec/schema.js";
import type { Dependencies } from "../dependencies/provide.js";
import type { HandlerRun, HandlerLogic, HandlerParent } from "../connection/handler.js";
import { type AnyContext, createContext, type HandlerContext } from "./context.js";
import { listenerSpec } from "./listener.js";
import { MessagePipeline, type OnInvalid, type PipelineSpec } from "./pipeline.js";
import { closeSession, openSession, type SessionHooks } from "./session.js";
import { type RequiredSocket, type RouteGuards, type RouteOptions, type RouteSocket, routeLayer } from "./route-types.js";
import type { WebSocketRoute } from "./websocket.js";

/** Values a stream sends before it lets the event loop serve others. */
const FAIR_SHARE = 32;

/** What a stream function may return. */
export type StreamSource<T> = AsyncIterable<T> | Stream.Stream<T, unknown>;

/** `S`, `C`, `G`, `Q`: the socket class, the route's own class, guards and query schema (see `RouteOptions`); `Sock` the socket they make. */
export interface StreamOptions<
  Path extends string,
  R extends ReceiveKind,
  D extends Dependencies,
  S extends AnySocket = AnySocket,
  C = undefined,
  G extends RouteGuards = RouteGuards,
  Q extends QuerySchema | undefined = undefined,
  Sock extends AnySocket = RouteSocket<Path, S, G, Q>,
> extends RouteOptions<S, C, G, Q>,
    SessionHooks<HandlerContext<Path, D, Sock>> {
  /** Called once per connection after accept; every value it yields is sent. */
  readonly stream: (context: HandlerContext<Path, D, Sock>) => StreamSource<unknown>;
  readonly send?: MessageSchema;
  readonly sendMode?: FrameMode;
  readonly dependencies?: D;
  /** How to close when the source ends: default `{ code: 1000 }`; `false` keeps the connection open. */
  readonly closeOnEnd?: { readonly code?: number; readonly reason?: string } | false;
  /** Listen too: each client message goes here, as to a listener. Without it, client messages are discarded and counted. */
  readonly onMessage?: (data: DataOf<R>, context: HandlerContext<Path, D, Sock>) => unknown;
  readonly receive?: R;
  readonly receiveMode?: FrameMode;
  readonly onInvalid?: OnInvalid<HandlerContext<Path, D, Sock>>;
  readonly onError?: (error: unknown, context: HandlerContext<Path, D, Sock>) => unknown;
}

interface StreamBehavior {
  readonly source: (context: AnyContext) => StreamSource<unknown>;
  readonly encode: Encoder;
  readonly closeOnEnd: { readonly code: number; readonly reason: string } | false;
  readonly listen: PipelineSpec<AnyContext> | undefined;
  readonly hooks: SessionHooks<AnyContext>;
  readonly onError: ((error: unknown, context: AnyContext) => unknown) | undefined;
}

class StreamRun implements HandlerRun {
  readonly #parent: HandlerParent;
  readonly #behavior: StreamBehavior;
  readonly #context: AnyContext;
  readonly #pipeline: MessagePipeline<AnyContext> | undefined;
  #iterator: AsyncIterator<unknown> | undefined;
  #accepted = false;
  #pumped = false;
  #disconnected = false;
  #finishing = false;

  constructor(parent: HandlerParent, behavior: StreamBehavior) {
    this.#parent = parent;
    this.#behavior = behavior;
    this.#context = createContext(parent.socket, parent.dependencies);
    this.#pipeline = behavior.listen === undefined ? undefined : new MessagePipeline(parent, behavior.listen, this.#context);
    // openSession and the pump report handler errors themselves; anything else is a runtime fault of this connection.
    this.#run().catch((error: unknown) => this.#parent.fail(error));
  }

  async #run(): Promise<void> {
    const { accepted, ready } = await openSession(this.#parent, this.#context, this.#behavior.hooks);
    this.#accepted = accepted;
    if (ready) {
      this.#pipeline?.release();
      await this.#pump();
    }
    this.#pumped = true;
    if (this.#disconnected || !ready) this.#finish();
  }

  async #pump(): Promise<void> {
    const { encode, closeOnEnd } = this.#behavior;
    let iterator: AsyncIterator<unknown>;
    try {
      const source = this.#behavior.source(this.#context);
      iterator = (isEffectStream(source) ? await effectIterable(source as Stream.Stream<unknown, unknown>) : (source as AsyncIterable<unknown>))[Symbol.asyncIterator]();
    } catch (error) {
      this.#failed(error);
      return;
    }
    this.#iterator = iterator;
    if (this.#disconnected) return this.#finalize();
    try {
      for (let pulled = 1; ; pulled++) {
        const gate = this.#parent.interleave("stream:pull");
        if (gate !== undefined) await gate;
        const next = await iterator.next();
        if (next.done === true || this.#disconnected) break;
        const encoded = encode(next.value);
        const frame = encoded instanceof Promise ? await encoded : encoded;
        if (frame !== undefined) {
          const drained = this.#parent.reply(frame.data, frame.isBinary);
          if (drained !== undefined) await drained;
        }
        // A source that never waits, written to a wire that never pushes back, would run on
        // microtasks alone and starve every other connection: give the event loop a turn.
        if (pulled % FAIR_SHARE === 0) await new Promise(setImmediate);
      }
    } catch (error) {
      // A source that throws because the client left (an aborted await) ended as it should.
      if (!this.#disconnected) this.#failed(error);
      return;
    }
    this.#iterator = undefined;
    if (this.#disconnected) return this.#finalize(iterator);
    if (closeOnEnd !== false) await this.#context.socket.close(closeOnEnd.code, closeOnEnd.reason);
  }

  #failed(error: unknown): void {
    const hook = this.#behavior.onError;
    if (hook !== undefined) {
      try {
        void Promise.resolve(hook(error, this.#context)).catch((hookError: unknown) => this.#parent.fail(hookError));
      } catch (hookError) {
        this.#parent.fail(hookError);
      }
    }
    this.#parent.fail(error);
  }

  /** End the source early: its `finally` blocks run; a rejection there is reported, not thrown. */
  #finalize(iterator = this.#iterator): void {
    this.#iterator = undefined;
    const returned = iterator?.return?.(undefined);
    if (returned instanceof Promise) returned.catch((error: unknown) => this.#parent.fail(error));
  }

  message(data: Buffer, isBinary: boolean): void {
    if (this.#pipeline === undefined) this.#parent.discarded();
    else this.#pipeline.push(data, isBinary);
  }

  disconnect(): void {
    this.#disconnected = true;
    this.#finalize();
    if (this.#pumped) this.#finish();
  }

  #finish(): void {
    if (this.#finishing) return;
    this.#finishing = true;
    const done = (): void => {
      closeSession(this.#parent, this.#context, this.#behavior.hooks, this.#accepted).catch((error: unknown) => this.#parent.fail(error));
    };
    if (this.#pipeline === undefined) done();
    else this.#pipeline.whenIdle(done);
  }
}

/**
 * A stream: push values for as long as the client stays.
 *
 * ```ts
 * websocketStream("/time", async function* ({ signal }) {
 *   while (!signal.aborted) {
 *     yield new Date().toISOString();
 *     await setTimeout(1000, undefined, { signal });
 *   }
 * });
 * ```
 */
export function websocketStream<Path extends string>(
  path: Path,
  source: (context: HandlerContext<Path, Record<never, never>>) => StreamSource<unknown>,
): WebSocketRoute<Path, AnySocket>;
export function websocketStream<
  Path extends string,
  R extends ReceiveKind = "text",
  D extends Dependencies = Record<never, never>,
  S extends AnySocket = AnySocket,
  C = undefined,
  G extends RouteGuards = RouteGuards,
  Q extends QuerySchema | undefined = undefined,
>(path: Path, options: StreamOptions<Path, R, D, S, C, G, Q>): WebSocketRoute<Path, RequiredSocket<NoInfer<S>, NoInfer<C>>>;
export function websocketStream(
  path: string,
  optionsOrSource: StreamOptions<string, ReceiveKind, Dependencies> | ((context: never) => StreamSource<unknown>),
): WebSocketRoute<string, AnySocket> {
  const options: StreamOptions<string, ReceiveKind, Dependencies> =
    typeof optionsOrSource === "function" ? { stream: optionsOrSource as StreamOptions<string, ReceiveKind, Dependencies>["stream"] } : optionsOrSource;
  const { closeOnEnd = {}, onMessage } = options;
  const close = closeOnEnd === false ? false : { code: closeOnEnd.code ?? 1000, reason: closeOnEnd.reason ?? "" };
  if (close !== false) assertCloseFrame(close.code, close.reason);
  const behavior: StreamBehavior = {
    source: options.stream as StreamBehavior["source"],
    encode: createEncoder(options.sendMode, options.send),
    closeOnEnd: close,
    listen: onMessage === undefined ? undefined : listenerSpec({ ...options, handler: onMessage as (data: never, context: never) => unknown }),
    hooks: options as unknown as SessionHooks<AnyContext>,
    onError: options.onError as StreamBehavior["onError"],
  };
  const logic: HandlerLogic = { readsSocket: false, start: (parent) => new StreamRun(parent, behavior) };
  return {
    kind: "websocket",
    path,
    logic,
    options: routeLayer(options),
  };
}

/** An effect Stream as an async iterable; effect is imported here, only by apps that stream one. */
async function effectIterable(source: Stream.Stream<unknown, unknown>): Promise<AsyncIterable<unknown>> {
  const { Stream } = await loadEffect();
  return Stream.toAsyncIterable(source);
}
