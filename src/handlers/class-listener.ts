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
import type { LayerOptions } from "./layers.js";
import type { FrameMode, ReceiveKind } from "../codec/message-codec.js";
import type { MessageSchema } from "../codec/schema.js";
import type { AcceptInit, AnySocket, Socket } from "../connection/socket.js";
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

  /**
   * Before accept (Velithon's `on_connect`): may refuse with `socket.reject(status)`, close with
   * `socket.close(code, reason)` (the handshake completes first, so browsers see the code), or
   * throw (an error naming a status or close code answers with it, any other is a 500).
   */
  onConnect?(socket: Socket, dependencies: ListenerDependencies): unknown;
  /** The handshake answer (subprotocol, headers). Default: accept plainly. */
  accept?(socket: Socket, dependencies: ListenerDependencies): AcceptInit | Promise<AcceptInit>;
  /** After accept, before the first message. */
  onAccept?(socket: Socket, dependencies: ListenerDependencies): unknown;
  /** Each message, in order; the return value is the reply (string → text, bytes → binary, `undefined` → none, else JSON). */
  abstract onReceive(data: Data, socket: Socket, dependencies: ListenerDependencies): unknown;
  /** Once, after the connection closed, if it was accepted. */
  onDisconnect?(socket: Socket, close: ConnectionOutcome, dependencies: ListenerDependencies): unknown;
  /**
   * An error `onReceive` threw. The connection then closes with 1011, unless this returns
   * `keepOpen(reply?)`: the reply (if any) is sent and the next message is handled (Velithon's `on_error`).
   */
  onError?(error: unknown, socket: Socket): unknown;
}

/** A concrete subclass, as listed in an app's routes. */
export type WebSocketListenerClass = new () => WebSocketListener<never>;

const dependenciesOf = (context: AnyContext): ListenerDependencies => context as unknown as ListenerDependencies;
/** The socket as class hooks see it: string params, a record of per-connection state. */
const socketOf = (context: AnyContext): Socket => context.socket as unknown as Socket;

/** Compile a class-based listener into a route. */
export function compileListenerClass(Listener: WebSocketListenerClass): WebSocketRoute {
  const template = new Listener();
  if (typeof template.path !== "string" || !template.path.startsWith("/")) {
    throw new TypeError(`${Listener.name}.path must be a path starting with "/"; got ${JSON.stringify(template.path)}`);
  }
  const hasAccept = template.accept !== undefined || template.onConnect !== undefined;
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
        handle: (data, context) => instance.onReceive(data as never, socketOf(context), dependenciesOf(context)),
        onError: (error, context) => instance.onError?.(error, socketOf(context)),
      },
      hooks: {
        ...(hasAccept
          ? {
              accept: async (context: AnyContext): Promise<AcceptInit> => {
                await instance.onConnect?.(socketOf(context), dependenciesOf(context));
                // onConnect may have refused or closed: then there is nothing to accept.
                if (context.socket.lifecycle !== "connecting") return {};
                return (await instance.accept?.(socketOf(context), dependenciesOf(context))) ?? {};
              },
            }
          : {}),
        onAccept: (context) => instance.onAccept?.(socketOf(context), dependenciesOf(context)),
        onDisconnect: (context, close) => instance.onDisconnect?.(socketOf(context), close, dependenciesOf(context)),
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
