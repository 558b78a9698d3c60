/**
 * Ready-made routes: a WebSocket route (`/ws/:channel` by default) that streams one channel to
 * each client, optionally replaying its history first; client messages are ignored (counted as
 * discarded) or published to the channel. A channel the plugin does not allow is refused after
 * the handshake with close 1008 "Unknown channel" (browsers can read close codes, not HTTP
 * statuses).
 */
import type { Route } from "../app/routes.js";
import { WebSocketError } from "../wire/errors.js";
import type { Guard } from "../guards/guard.js";
import { websocketStream } from "../handlers/stream.js";
import type { SubscribeOptions, Subscription } from "./subscription.js";

/** What the routes use of the channels plugin (`Channels` has it): named here so that the plugin imports its routes, not the other way round. */
export interface RoutedChannels {
  allows(channel: string): boolean;
  subscribe(channels: string, options: SubscribeOptions): Subscription;
  publish(data: unknown, channels: string): Promise<void>;
}

export interface ChannelRouteOptions {
  /** The route's path; it must name the channel as `:channel`. Default `"/ws/:channel"`. */
  readonly path?: string;
  /** What a client's text messages do: `"ignore"` (default) or `"publish"` them to the channel (to every subscriber, the sender included). */
  readonly clientMessages?: "ignore" | "publish";
  /** Messages of history each client receives first. Default 0. */
  readonly history?: number;
}

export function channelRoutes(channels: RoutedChannels, options: ChannelRouteOptions): Route[] {
  const path = options.path ?? "/ws/:channel";
  if (!/(^|\/):channel(\/|$)/.test(path)) throw new TypeError(`A channel route's path names the channel as ":channel": got "${path}"`);
  const history = options.history ?? 0;
  const knownChannel: Guard = (context, next) => {
    const { channel } = context.params as { channel?: string };
    if (channel === undefined || !channels.allows(channel)) throw new WebSocketError(1008, "Unknown channel");
    return next();
  };
  const route = websocketStream(path as "/:channel", {
    guards: [knownChannel],
    closeOnEnd: false,
    stream: ({ socket, params }) => channels.subscribe(params.channel, { socket, history }),
    ...(options.clientMessages === "publish"
      ? { onMessage: (text: string, { params }: { params: { channel: string } }) => channels.publish(text, params.channel) }
      : {}),
  });
  return [route];
}
