/**
 * `websocket(path, handler)`: the low-level route. The handler gets the `Socket` and drives the
 * whole conversation: accept, receive, send, close. Compiled into a handler actor whose
 * messages feed `socket.receive()` and whose settling ends the connection (return → 1000,
 * throw → 1011).
 */
import type { LayerOptions } from "./layers.js";
import type { PathParams } from "./path-params.js";
import type { AppDependencies, Dependencies, ResolvedDependencies } from "../dependencies/provide.js";
import type { AnySocket, Socket } from "../connection/socket.js";
import type { QuerySchema } from "../guards/parameters.js";
import type { HandlerRun, HandlerLogic, HandlerParent } from "../connection/handler.js";
import { type RequiredSocket, type RouteGuards, type RouteOptions, type RouteSocket, routeLayer } from "./route-types.js";

export type WebSocketHandler<
  Path extends string,
  D extends Dependencies = Record<never, never>,
  Sock extends AnySocket = Socket<PathParams<Path>>,
> = (socket: Sock, dependencies: ResolvedDependencies<D> & AppDependencies) => void | Promise<void>;

/**
 * A WebSocket route: a path, the handler logic compiled for it, and its layer options.
 * `Needs` is the socket class its handlers need from the app (checked by `createApp`).
 */
export interface WebSocketRoute<Path extends string = string, Needs extends AnySocket = never> {
  readonly kind: "websocket";
  readonly path: Path;
  readonly logic: HandlerLogic;
  readonly options: LayerOptions;
  /** Type-only, never set: makes a route needing a socket class a type error in an app that does not provide it. */
  readonly "~needs"?: (socket: Needs) => void;
}

export interface WebSocketOptions<
  D extends Dependencies,
  S extends AnySocket = AnySocket,
  C = undefined,
  G extends RouteGuards = RouteGuards,
  Q extends QuerySchema | undefined = undefined,
> extends RouteOptions<S, C, G, Q> {
  readonly dependencies?: D;
}

/**
 * One low-level handler run: its frames go to the socket's mailbox. Methods on the prototype, not
 * closures per connection (docs/architecture.md §5).
 */
class LowLevelRun implements HandlerRun {
  constructor(readonly parent: HandlerParent) {}

  message(data: Buffer, isBinary: boolean): void {
    this.parent.enqueue(data, isBinary);
  }

  disconnect(): void {}

  failed(error: unknown): void {
    this.parent.fail(error);
    this.parent.finished();
  }
}

/** Compile a low-level handler: inbound frames go to the socket's mailbox, the promise ends the actor. */
function compileLowLevel(handler: (socket: AnySocket, dependencies: Readonly<Record<string, unknown>>) => unknown): HandlerLogic {
  return {
    readsSocket: true,
    start(parent: HandlerParent): HandlerRun {
      const run = new LowLevelRun(parent);
      let result: unknown;
      try {
        result = handler(parent.socket, parent.dependencies);
      } catch (error) {
        run.failed(error);
        return run;
      }
      if (result instanceof Promise) {
        result.then(
          () => parent.finished(),
          (error: unknown) => run.failed(error),
        );
      } else parent.finished();
      return run;
    },
  };
}

/**
 * A low-level WebSocket route: full control of the socket.
 *
 * ```ts
 * websocket("/ws", async (socket) => {
 *   await socket.accept();
 *   for await (const message of socket) await socket.sendText(`Echo: ${message}`);
 * });
 * ```
 */
export function websocket<
  Path extends string,
  D extends Dependencies = Record<never, never>,
  S extends AnySocket = AnySocket,
  C = undefined,
  G extends RouteGuards = RouteGuards,
  Q extends QuerySchema | undefined = undefined,
>(
  path: Path,
  handler: WebSocketHandler<Path, D, RouteSocket<Path, S, G, Q>>,
  options: WebSocketOptions<D, S, C, G, Q> = {},
): WebSocketRoute<Path, RequiredSocket<NoInfer<S>, NoInfer<C>>> {
  return { kind: "websocket", path, logic: compileLowLevel(handler as Parameters<typeof compileLowLevel>[0]), options: routeLayer(options) };
}
