/**
 * Options that can be set on the app, on a group and on a route. Guards and middleware add up
 * (outermost first); everything else: the nearest layer wins.
 */
import type { SocketClass } from "../connection/socket-class.js";
import type { AnySocket } from "../connection/socket.js";
import type { Dependencies } from "../dependencies/provide.js";
import type { Guard } from "../guards/guard.js";
import type { OriginPolicy } from "../guards/origin.js";
import type { MessageRate } from "../limits/token-bucket.js";
import type { Middleware } from "./middleware.js";
import type { DeflateOptions } from "../transport/transport.js";

export type { SocketClass };

/** `S`: the instance type of `socketClass`. */
export interface LayerOptions<S extends AnySocket = AnySocket> {
  /** Per-connection dependencies; a name declared nearer the route replaces the outer one. */
  readonly dependencies?: Dependencies;
  /** The socket class handlers of this layer receive. */
  readonly socketClass?: SocketClass<S>;
  /** Guards and middleware run at the upgrade, before accept: app's first, then groups', then the route's. */
  readonly guards?: readonly Guard[];
  /**
   * Middleware around this layer's HTTP requests, WebSocket connections and inbound messages
   * (`{ request?, connection?, message? }`): app's first, then groups', then the route's. A route
   * with none pays nothing.
   */
  readonly middleware?: readonly Middleware[];
  /** Allowed `Origin`s (cross-site WebSocket hijacking protection); others get 403. Requests without `Origin` pass. */
  readonly allowedOrigins?: OriginPolicy;
  /** Most open connections on each route of this layer; more get HTTP 503 with `Retry-After`. */
  readonly maxConnections?: number;
  /** Inbound message rate per connection (token bucket); exceeding it closes with 1008. */
  readonly messageRate?: MessageRate;
  /**
   * Largest inbound message in bytes on the routes of this layer; larger ones close the connection
   * with 1009. Default: the app's `maxPayload` (1 MiB). Raise it only where large messages are expected.
   */
  readonly maxPayload?: number;
  /** permessage-deflate for clients that ask for it: `true`, `ws`'s knobs, or `false`. Default off (CPU and about 535 KB more RSS per compressing connection, measured by `npm run bench:deflate`). */
  readonly perMessageDeflate?: boolean | DeflateOptions;
}

/** `inner` over `outer`. */
export function mergeLayers(outer: LayerOptions, inner: LayerOptions): LayerOptions {
  const dependencies =
    outer.dependencies === undefined
      ? inner.dependencies
      : inner.dependencies === undefined
        ? outer.dependencies
        : { ...outer.dependencies, ...inner.dependencies };
  const guards =
    outer.guards === undefined ? inner.guards : inner.guards === undefined ? outer.guards : [...outer.guards, ...inner.guards];
  const middleware =
    outer.middleware === undefined ? inner.middleware : inner.middleware === undefined ? outer.middleware : [...outer.middleware, ...inner.middleware];
  return pickLayer({
    ...outer,
    ...inner,
    ...(dependencies === undefined ? {} : { dependencies }),
    ...(guards === undefined ? {} : { guards }),
    ...(middleware === undefined ? {} : { middleware }),
  });
}

const LAYER_KEYS = ["dependencies", "socketClass", "guards", "middleware", "allowedOrigins", "maxConnections", "messageRate", "perMessageDeflate", "maxPayload"] as const;

/** Just the layer options out of a larger options object. */
export function pickLayer(options: LayerOptions): LayerOptions {
  const layer: Record<string, unknown> = {};
  for (const key of LAYER_KEYS) if (options[key] !== undefined) layer[key] = options[key];
  return layer as LayerOptions;
}
