/**
 * `class X extends WebSocketListener`: a listener written as a class with lifecycle hooks
 * (Litestar's `WebsocketListener`, Starlette's `WebSocketEndpoint`).
 *
 * One instance per connection: `this` is that connection's own state, so fields set in
 * `onAccept` are safe to read in `onReceive` without leaking between clients (Starlette's
 * choice; Litestar shares one instance per route, where a field is shared by every client).
 * The route's path and options are read once, from an instance made when the app is created.
 */
import type { ConnectionOutcome } from "../../machines/connection.js";
import type { LayerOptions } from "../app/layers.js";
import type { FrameMode, ReceiveKind } from "../codec/message-codec.js";
import type { MessageSchema } from "../codec/schema.js";
import type { AcceptInit, AnySocket } from "../connection/socket.js";
import type { Dependencies } from "../dependencies/provide.js";
import type { AnyContext } from "./context.js";
import { compileListener, listenerSpec } from "./listener.js";
import type { OnInvalid } from "./pipeline.js";
import type { WebSocketRoute } from "./websocket.js";

/** A connection's dependencies as a class-based listener receives them. */
export type ListenerDependencies = Readonly<Record<string, unknown>>;

export abstract class WebSocketListener<Data = string> {
  /** The route path, e.g. `"/rooms/:room"`. */
  abstract readonly path: string;
  readonly receive?: ReceiveKind;
  readonly send?: MessageSchema;
  readonly receiveMode?: FrameMode;
  readonly sendMode?: FrameMode;
  readonly dependencies?: Dependencies;
  readonly socketClass?: LayerOptions["socketClass"];
  readonly onInvalid?: OnInvalid<AnyContext>;

  /** The handshake answer (subprotocol, headers). Default: accept plainly. */
  accept?(socket: AnySocket, dependencies: ListenerDependencies): AcceptInit | Promise<AcceptInit>;
  /** After accept, before the first message. */
  onAccept?(socket: AnySocket, dependencies: ListenerDependencies): unknown;
  /** Each message, in order; the return value is the reply (string → text, bytes → binary, `undefined` → none, else JSON). */
  abstract onReceive(data: Data, socket: AnySocket, dependencies: ListenerDependencies): unknown;
  /** Once, after the connection closed, if it was accepted. */
  onDisconnect?(socket: AnySocket, close: ConnectionOutcome, dependencies: ListenerDependencies): unknown;
  /** An error `onReceive` threw; the connection then closes with 1011. */
  onError?(error: unknown, socket: AnySocket): unknown;
}

/** A concrete subclass, as listed in an app's routes. */
export type WebSocketListenerClass = new () => WebSocketListener<never>;

const dependenciesOf = (context: AnyContext): ListenerDependencies => context as unknown as ListenerDependencies;

/** Compile a class-based listener into a route. */
export function compileListenerClass(Listener: WebSocketListenerClass): WebSocketRoute {
  const template = new Listener();
  if (typeof template.path !== "string" || !template.path.startsWith("/")) {
    throw new TypeError(`${Listener.name}.path must be a path starting with "/"; got ${JSON.stringify(template.path)}`);
  }
  const hasAccept = template.accept !== undefined;
  const spec = listenerSpec({
    ...(template.receive === undefined ? {} : { receive: template.receive }),
    ...(template.send === undefined ? {} : { send: template.send }),
    ...(template.receiveMode === undefined ? {} : { receiveMode: template.receiveMode }),
    ...(template.sendMode === undefined ? {} : { sendMode: template.sendMode }),
    ...(template.onInvalid === undefined ? {} : { onInvalid: template.onInvalid }),
    handler: () => undefined, // replaced per connection, bound to that connection's instance
  });
  const logic = compileListener(() => {
    const instance = new Listener();
    return {
      spec: {
        ...spec,
        handle: (data, context) => instance.onReceive(data as never, context.socket, dependenciesOf(context)),
        onError: (error, context) => instance.onError?.(error, context.socket),
      },
      hooks: {
        ...(hasAccept ? { accept: (context: AnyContext) => instance.accept!(context.socket, dependenciesOf(context)) } : {}),
        onAccept: (context) => instance.onAccept?.(context.socket, dependenciesOf(context)),
        onDisconnect: (context, close) => instance.onDisconnect?.(context.socket, close, dependenciesOf(context)),
      },
    };
  });
  return {
    kind: "websocket",
    path: template.path,
    logic,
    options: {
      ...(template.dependencies === undefined ? {} : { dependencies: template.dependencies }),
      ...(template.socketClass === undefined ? {} : { socketClass: template.socketClass }),
    },
  };
}
