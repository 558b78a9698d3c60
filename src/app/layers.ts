/**
 * Options that can be set on the app, on a group and on a route; the nearest layer wins.
 */
import type { AnySocket, SocketRuntime } from "../connection/socket.js";
import type { Dependencies } from "../dependencies/provide.js";

/** A `Socket` subclass to hand handlers instead of `Socket` (Litestar's `websocket_class`). */
export type SocketClass = new (runtime: SocketRuntime, params: never) => AnySocket;

export interface LayerOptions {
  /** Per-connection dependencies; a name declared nearer the route replaces the outer one. */
  readonly dependencies?: Dependencies;
  /** The socket class handlers of this layer receive. */
  readonly socketClass?: SocketClass;
}

/** `inner` over `outer`. */
export function mergeLayers(outer: LayerOptions, inner: LayerOptions): LayerOptions {
  const dependencies =
    outer.dependencies === undefined
      ? inner.dependencies
      : inner.dependencies === undefined
        ? outer.dependencies
        : { ...outer.dependencies, ...inner.dependencies };
  const socketClass = inner.socketClass ?? outer.socketClass;
  return {
    ...(dependencies === undefined ? {} : { dependencies }),
    ...(socketClass === undefined ? {} : { socketClass }),
  };
}

/** Just the layer options out of a larger options object. */
export function pickLayer(options: LayerOptions): LayerOptions {
  const { dependencies, socketClass } = options;
  return {
    ...(dependencies === undefined ? {} : { dependencies }),
    ...(socketClass === undefined ? {} : { socketClass }),
  };
}
