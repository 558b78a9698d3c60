/**
 * `websocketMachine(path, options)`: the handler is an xstate v5 machine, one actor per
 * connection. Each frame is decoded as a listener decodes it (src/codec/), becomes an event,
 * and goes to the actor if its current state has an enabled transition for it (guards
 * evaluated, as `snapshot.can` does, but an empty `pong: {}` counts as accepting); anything else meets
 * the route's `onUnexpected` policy. The machine replies and closes through the actions of
 * `machine-actions.ts`, which the runtime performs; a final state closes with its output.
 *
 * The connection machine still owns the lifecycle: the handler machine's end and its errors
 * become the connection's `close` (with the output's code) and `handlerError` (1011); the peer
 * leaving becomes a `disconnect` event to the handler machine, then its actor stops.
 */
import type { IncomingHttpHeaders } from "node:http";
import { type Actor, type AnyStateMachine, type EventObject, createActor } from "xstate";
import type { AnySocket } from "../connection/socket.js";
import type { QuerySchema } from "../guards/parameters.js";
import { type LayerOptions, pickLayer } from "./layers.js";
import type { PathParams } from "./path-params.js";
import { type DataOf, type Encoder, type FrameMode, type ReceiveKind } from "../codec/message-codec.js";
import { assertCloseFrame, truncateReason } from "../wire/close-codes.js";
import { MessageError, WebSocketError } from "../wire/errors.js";
import type { AppDependencies, Dependencies, ResolvedDependencies } from "../dependencies/provide.js";
import type { HandlerRun, HandlerLogic, HandlerParent } from "../connection/handler.js";
import { type AnyContext, createContext, type HandlerContext } from "./context.js";
import { listenerSpec, type MessageCodecOptions } from "./listener.js";
import { CLOSE_CONNECTION, type CloseConnectionEmitted, SEND_MESSAGE, type SendMessageEmitted } from "./machine-actions.js";
import { isReservedEventType, stateName } from "./machine-state.js";
import { MessagePipeline, type PipelineSpec } from "./pipeline.js";
import { closeSession, openSession, type SessionHooks } from "./session.js";
import { type RequiredSocket, type RouteGuards, type RouteOptions, type RouteSocket, routeLayer } from "./route-types.js";
import type { WebSocketRoute } from "./websocket.js";

/** What a handler machine gets as `input`: the connection, without the socket (the machine does no I/O). */
export interface MachineInput<
  Path extends string = string,
  D extends Dependencies = Record<never, never>,
  State extends object = Record<string, unknown>,
> {
  readonly params: PathParams<Path>;
  /** Query parameters; the first value of each name. */
  readonly query: Readonly<Record<string, string>>;
  /** Request headers, names in lower case. */
  readonly headers: IncomingHttpHeaders;
  /** The connection's `socket.state` (the same object: what guards and dependencies put there). */
  readonly state: State;
  /** The route's resolved dependencies, by name. */
  readonly dependencies: ResolvedDependencies<D> & AppDependencies;
}

/** The event the handler machine gets when the connection ends (whoever closed it), before its actor stops. */
export interface DisconnectEvent {
  readonly type: "disconnect";
  readonly code: number;
  readonly reason: string;
}

/** The event text and bytes messages become when the route has no `toEvent`. */
export interface MessageEvent<T> {
  readonly type: "message";
  readonly data: T;
}

/** An event the machine's current state does not accept, as `onUnexpected` sees it. */
export interface UnexpectedEvent {
  readonly event: EventObject;
  /** The current state's name, e.g. `greeting` or `ready.idle`. */
  readonly state: string;
}

/**
 * What to do with a well-formed message the current state does not accept: `"close"` (default:
 * 1008, the reason naming the event type and the state), `"ignore"`, `"reply"` (an error frame
 * `{ error: "unexpected event", type, state }`, stay open), or a function whose result is sent.
 */
export type OnUnexpected<Context> = "close" | "ignore" | "reply" | ((unexpected: UnexpectedEvent, context: Context) => unknown);

/** A machine's output as the close it asks for; both fields optional (default 1000, no reason). */
export interface MachineOutput {
  readonly code?: number;
  readonly reason?: string;
}

/** `encoding`, `send`, `receiveMode`, `sendMode` and `onInvalid` are a listener's (replies are what `sendMessage` sends). */
export interface MachineOptions<
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
  /**
   * The protocol, made with `setup({...}).createMachine({...})`. Its `input` is a `MachineInput`;
   * it replies with `sendMessage`, closes with `closeConnection` or by reaching a final state
   * (output `{ code, reason }`), and gets a `DisconnectEvent` when the connection ends.
   */
  readonly machine: AnyStateMachine;
  /** What a message is: `"json"` (default), `"text"`, `"bytes"`, `"msgpack"`, or a schema, as for listeners. */
  readonly receive?: R;
  /**
   * Map a decoded message to the machine's event. Default: a message with a string `type` is
   * the event itself; text and bytes become `{ type: "message", data }`; other JSON closes 1007.
   * Returning `undefined` discards the message.
   */
  readonly toEvent?: (data: DataOf<R>) => EventObject | undefined;
  /** Messages the current state does not accept. Default `"close"` (1008). */
  readonly onUnexpected?: OnUnexpected<HandlerContext<Path, D, Sock>>;
  /** Called with an error an action, guard or actor of the machine threw, before the connection closes with 1011. */
  readonly onError?: (error: unknown, context: HandlerContext<Path, D, Sock>) => unknown;
}

interface MachineBehavior {
  readonly machine: AnyStateMachine;
  readonly spec: PipelineSpec<AnyContext>;
  readonly toEvent: (data: unknown) => EventObject | undefined;
  readonly onUnexpected: OnUnexpected<AnyContext>;
  readonly hooks: SessionHooks<AnyContext>;
  readonly onError: ((error: unknown, context: AnyContext) => unknown) | undefined;
}

const hasType = (data: unknown): data is EventObject =>
  typeof data === "object" && data !== null && !Array.isArray(data) && typeof (data as { type?: unknown }).type === "string";

class MachineRun implements HandlerRun {
  readonly #parent: HandlerParent;
  readonly #behavior: MachineBehavior;
  readonly #context: AnyContext;
  readonly #pipeline: MessagePipeline<AnyContext>;
  #actor: Actor<AnyStateMachine> | undefined;
  /** Reply promises (backpressure `wait`) of the message in flight: the next message waits for them. */
  #drains: Promise<void>[] | undefined;
  /** Set while a reply waits for its encoder (a send schema of effect's, before effect loaded). */
  #encoding: Promise<void> | undefined;
  #accepted = false;
  #opened = false;
  #disconnected = false;
  #closing = false;
  #crashed = false;
  #finishing = false;

  constructor(parent: HandlerParent, behavior: MachineBehavior) {
    this.#parent = parent;
    this.#behavior = behavior;
    this.#context = createContext(parent.socket, parent.dependencies);
    this.#pipeline = new MessagePipeline(parent, { ...behavior.spec, handle: (data) => this.#handle(data) }, this.#context);
    this.#open().catch((error: unknown) => this.#parent.fail(error));
  }

  async #open(): Promise<void> {
    const { accepted, ready } = await openSession(this.#parent, this.#context, this.#behavior.hooks);
    this.#accepted = accepted;
    this.#opened = true;
    if (ready && !this.#disconnected) {
      this.#start();
      this.#pipeline.release();
    }
    if (this.#disconnected || !ready) this.#finish();
  }

  #start(): void {
    const parent = this.#parent;
    const socket = parent.socket;
    const input: MachineInput = {
      params: socket.params as PathParams<string>,
      query: socket.query as MachineInput["query"],
      headers: socket.headers,
      state: socket.state as Record<string, unknown>,
      dependencies: parent.dependencies as unknown as MachineInput["dependencies"],
    };
    const observers = parent.observers;
    let actor: Actor<AnyStateMachine>;
    let current = "";
    try {
      actor = createActor(this.#behavior.machine, {
        input,
        // Only while someone watches (the inspector): inspection doubles an event's cost.
        ...(observers.active
          ? {
              inspect: (inspection) => {
                if (inspection.type !== "@xstate.snapshot" || inspection.actorRef !== actor) return;
                const snapshot = inspection.snapshot as { value?: unknown };
                if (snapshot.value === undefined) return;
                const to = stateName(snapshot.value as Parameters<typeof stateName>[0]);
                if (inspection.event.type === "xstate.init") observers.machineStarted(parent.id, this.#behavior.machine, to);
                // Event types are the machine's own, but a wildcard transition accepts any: keep the timeline's lines short.
                else observers.machineTransition(parent.id, current, inspection.event.type.slice(0, 120), to);
                current = to;
              },
            }
          : {}),
      });
    } catch (error) {
      this.#crash(error);
      return;
    }
    this.#actor = actor;
    actor.on(SEND_MESSAGE, (emitted) => this.#send((emitted as unknown as SendMessageEmitted).value));
    actor.on(CLOSE_CONNECTION, (emitted) => {
      const { code, reason } = emitted as unknown as CloseConnectionEmitted;
      this.#close(code, reason);
    });
    actor.subscribe({
      next: (snapshot) => {
        if (snapshot.status === "done") this.#done(snapshot.output);
      },
      error: (error) => this.#crash(error),
    });
    actor.start();
  }

  /** One decoded message: to an event, then to the machine or to `onUnexpected`. */
  #handle(data: unknown): Promise<void> | undefined {
    const actor = this.#actor;
    if (actor === undefined || this.#closing || this.#crashed) return undefined;
    const event = this.#behavior.toEvent(data);
    if (event === undefined) {
      this.#parent.discarded();
      return undefined;
    }
    const snapshot = actor.getSnapshot();
    if (snapshot.status !== "active") return undefined;
    // Internal events (timers, done, the runtime's disconnect) are never a client's to send.
    // Accepted when a transition is enabled for it — `pong: {}` accepts silently, where `can()` says no.
    if (isReservedEventType(event.type) || this.#behavior.machine.getTransitionData(snapshot as never, event).length === 0) {
      return this.#unexpected(event, stateName(snapshot.value));
    }
    const drains: Promise<void>[] = [];
    this.#drains = drains;
    try {
      actor.send(event);
    } finally {
      // Outside a message (a timer's, a child's sends) there is no next message to hold back.
      this.#drains = undefined;
    }
    if (drains.length === 0) return undefined;
    return drains.length === 1 ? drains[0] : Promise.all(drains).then(() => undefined);
  }

  #unexpected(event: EventObject, state: string): Promise<void> | undefined {
    const policy = this.#behavior.onUnexpected;
    if (policy === "ignore") {
      this.#parent.discarded();
      return undefined;
    }
    if (policy === "close") throw new WebSocketError(1008, truncateReason(`unexpected "${event.type}" in state ${state}`));
    const value = policy === "reply" ? { error: "unexpected event", type: event.type, state } : policy({ event, state }, this.#context);
    const send = (result: unknown): Promise<void> | undefined => {
      const frame = this.#behavior.spec.encode(result);
      if (frame instanceof Promise) return frame.then((ready) => (ready === undefined ? undefined : this.#parent.reply(ready.data, ready.isBinary)));
      return frame === undefined ? undefined : this.#parent.reply(frame.data, frame.isBinary);
    };
    return value instanceof Promise ? value.then(send) : send(value);
  }

  /** `sendMessage`: encoded as a listener's reply. After close (or the disconnect event) nothing goes out. */
  #send(value: unknown): void {
    if (this.#disconnected || this.#closing || this.#crashed) return;
    if (this.#encoding !== undefined) {
      // An earlier reply is still being encoded (effect loading): keep the order. The queued
      // reply is encoded when its turn comes, not queued again (that would never end).
      const queued: Promise<void> = this.#encoding.then(() => {
        if (this.#encoding === queued) this.#encoding = undefined;
        if (!this.#disconnected && !this.#closing && !this.#crashed) this.#encodeAndReply(value);
      });
      this.#encoding = queued;
      this.#drains?.push(queued);
      return;
    }
    this.#encodeAndReply(value);
  }

  #encodeAndReply(value: unknown): void {
    let frame;
    try {
      frame = this.#behavior.spec.encode(value);
    } catch (error) {
      this.#crash(error);
      return;
    }
    if (frame instanceof Promise) {
      const encoding: Promise<void> = frame.then(
        (ready) => {
          if (this.#encoding === encoding) this.#encoding = undefined;
          if (ready !== undefined && !this.#disconnected && !this.#crashed) return this.#parent.reply(ready.data, ready.isBinary);
        },
        (error: unknown) => {
          if (this.#encoding === encoding) this.#encoding = undefined;
          this.#crash(error);
        },
      );
      this.#encoding = encoding;
      this.#drains?.push(encoding);
      return;
    }
    if (frame === undefined) return;
    const drained = this.#parent.reply(frame.data, frame.isBinary);
    if (drained !== undefined) this.#drains?.push(drained);
  }

  #close(code: number, reason: string): void {
    if (this.#disconnected || this.#closing || this.#crashed) return;
    this.#closing = true;
    this.#parent.socket.close(code, reason).catch((error: unknown) => this.#parent.fail(error));
  }

  /** A final state: close with its output's code and reason. */
  #done(output: unknown): void {
    const { code = 1000, reason = "" } = (typeof output === "object" && output !== null ? output : {}) as MachineOutput;
    try {
      if (typeof code !== "number" || typeof reason !== "string") throw new TypeError("A handler machine's output must be { code?: number, reason?: string }");
      assertCloseFrame(code, reason);
    } catch (error) {
      this.#crash(error);
      return;
    }
    this.#close(code, reason);
  }

  /** An action, guard or child threw: logged by the connection and closed with 1011, never shown on the wire. */
  #crash(error: unknown): void {
    if (this.#crashed || this.#disconnected) return;
    this.#crashed = true;
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

  message(data: Buffer, isBinary: boolean): void {
    this.#pipeline.push(data, isBinary);
  }

  disconnect(code: number, reason: string): void {
    const actor = this.#actor;
    if (actor !== undefined && actor.getSnapshot().status === "active") {
      // Told, whoever closed; then stopped (its timers and children with it). What it sends now is not sent.
      this.#disconnected = true;
      try {
        actor.send({ type: "disconnect", code, reason } satisfies DisconnectEvent);
      } catch {
        // The connection is over; an error here has nowhere to close to.
      }
      // Stopped a microtask later: when the machine closed the connection itself (closeConnection,
      // a reply the backpressure policy refused), this runs inside its own step, and the event
      // waits in its queue until that step ends; stopping now would drop it. No timer runs sooner.
      queueMicrotask(() => actor.stop());
    }
    this.#disconnected = true;
    if (this.#opened) this.#finish();
  }

  #finish(): void {
    if (this.#finishing) return;
    this.#finishing = true;
    this.#pipeline.whenIdle(() => void closeSession(this.#parent, this.#context, this.#behavior.hooks, this.#accepted));
  }
}

/**
 * A protocol as a statechart: one actor of `machine` per connection.
 *
 * ```ts
 * const protocol = setup({ types: { events: {} as { type: "ping" } | { type: "bye" } } }).createMachine({
 *   initial: "ready",
 *   states: {
 *     ready: { on: { ping: { actions: sendMessage({ type: "pong" }) }, bye: "done" } },
 *     done: { type: "final", output: { code: 1000, reason: "bye" } },
 *   },
 * });
 * websocketMachine("/protocol", { machine: protocol, receive: "json" });
 * ```
 */
export function websocketMachine<
  Path extends string,
  R extends ReceiveKind = "json",
  D extends Dependencies = Record<never, never>,
  S extends AnySocket = AnySocket,
  C = undefined,
  G extends RouteGuards = RouteGuards,
  Q extends QuerySchema | undefined = undefined,
>(path: Path, options: MachineOptions<Path, R, D, S, C, G, Q>): WebSocketRoute<Path, RequiredSocket<NoInfer<S>, NoInfer<C>>> {
  const receive: ReceiveKind = options.receive ?? "json";
  const raw = receive === "text" || receive === "bytes";
  const toEvent =
    (options.toEvent as MachineBehavior["toEvent"] | undefined) ??
    ((data: unknown): EventObject => {
      if (hasType(data)) return data;
      if (raw) return { type: "message", data } as MessageEvent<unknown>;
      throw new MessageError(1007, 'expected a message with a string "type"');
    });
  const onError = options.onError as MachineBehavior["onError"];
  const behavior: MachineBehavior = {
    machine: options.machine,
    spec: listenerSpec({
      ...options,
      receive,
      handler: () => undefined,
      // The unexpected-event close is a decision of the route, not a fault: no onError for it.
      onError: onError === undefined ? undefined : (error: unknown, context: never) => (error instanceof WebSocketError ? undefined : onError(error, context)),
    } as Parameters<typeof listenerSpec>[0]),
    toEvent,
    onUnexpected: (options.onUnexpected ?? "close") as OnUnexpected<AnyContext>,
    hooks: options as unknown as SessionHooks<AnyContext>,
    onError,
  };
  const description: MachineRouteDescription = {
    machine: options.machine,
    receive,
    receiveMode: options.receiveMode ?? (receive === "bytes" || receive === "msgpack" ? "binary" : "text"),
    customEvents: options.toEvent !== undefined,
    onUnexpected: typeof options.onUnexpected === "function" ? "function" : (options.onUnexpected ?? "close"),
    onInvalid: typeof options.onInvalid === "function" ? "function" : (options.onInvalid ?? "close"),
    encode: behavior.spec.encode,
  };
  const logic: HandlerLogic & { readonly machineRoute: MachineRouteDescription } = {
    readsSocket: false,
    machineRoute: description,
    start: (parent) => new MachineRun(parent, behavior),
  };
  return { kind: "websocket", path, logic, options: routeLayer(options) };
}

/** What the testing toolkit and the inspector know of a machine route. */
export interface MachineRouteDescription {
  readonly machine: AnyStateMachine;
  readonly receive: ReceiveKind;
  readonly receiveMode: FrameMode;
  /** Whether the route maps messages with its own `toEvent`. */
  readonly customEvents: boolean;
  readonly onUnexpected: "close" | "ignore" | "reply" | "function";
  readonly onInvalid: "close" | "reply" | "function";
  /** How `sendMessage` values become frames on this route. */
  readonly encode: Encoder;
}

/** The description of a route made by `websocketMachine`, or undefined for other kinds. */
export function machineRouteOf(route: WebSocketRoute): MachineRouteDescription | undefined {
  return (route.logic as { readonly machineRoute?: MachineRouteDescription }).machineRoute;
}
