/**
 * `createChannels(options)`: broadcast across connections, and across processes through a
 * backend. The returned object is both the plugin to add to the app (`createApp({ plugins:
 * [channels] })`: its routes, its socket class with `join`/`leave`, its cleanup at
 * `app.close()`) and the API handlers call (`publish`, `subscribe`, `history`, `broadcast`, …).
 */
import { randomUUID } from "node:crypto";
import type { Plugin, PluginHost } from "../app/plugin.js";
import type { Route } from "../app/routes.js";
import type { AnySocket } from "../connection/socket.js";
import type { ChannelBackend, ChannelMessage } from "./backend.js";
import { ChannelsCore } from "./core.js";
import { ChannelsClosedError } from "./errors.js";
import { LocalFanOut } from "./fan-out.js";
import { memoryBackend } from "./memory.js";
import { type BroadcastOptions, type ExceptTarget, type JoinOptions, type RoomApi, Rooms } from "./membership.js";
import { type Payload, serialize } from "./payload.js";
import { type ChannelRouteOptions, channelRoutes } from "./routes.js";
import { type AnyChannelSocket, boundChannelSocket } from "./socket.js";
import type { SocketClass } from "../connection/socket-class.js";
import type { BacklogOptions, BacklogStrategy } from "./subscriber.js";
import { type SubscribeOptions, Subscription } from "./subscription.js";

export interface ChannelsOptions {
  /** Where messages go between processes and where history is kept. Default: `memoryBackend()` (this process only). */
  readonly backend?: ChannelBackend;
  /** The channels that exist. Any other name is an `UnknownChannelError` unless `arbitraryChannels`. */
  readonly channels?: readonly string[];
  /** Allow any channel name. Default: true when `channels` is not given, false when it is. */
  readonly arbitraryChannels?: boolean;
  /** Messages kept per channel for `history()` and replay, bounded by count (never by age). Default 100. */
  readonly history?: number;
  /** Each subscriber's bounded queue and what happens when it is full. Default `{ max: 1000, strategy: "drop-oldest" }`. */
  readonly backlog?: { readonly max?: number; readonly strategy?: BacklogStrategy };
  /** Serve ready-made routes streaming a channel to a client (`/ws/:channel` by default). Default: none. */
  readonly routes?: boolean | ChannelRouteOptions;
}

export interface ChannelsStats {
  readonly backend: string;
  /** Calls to `publish` / `broadcast`. */
  readonly published: number;
  /** Values serialized: one per publish, whatever the number of subscribers. */
  readonly serialized: number;
  /** Messages offered to local subscribers. */
  readonly offered: number;
  /** Messages dropped by backlog strategies. */
  readonly dropped: number;
  /** Connections closed (1008) because their backlog overflowed under `"disconnect"`. */
  readonly disconnected: number;
  /** Local subscriptions, counted per channel. */
  readonly subscriptions: number;
  /** Channels with at least one local subscriber. */
  readonly channels: number;
}

export interface Channels extends Plugin<AnyChannelSocket>, RoomApi {
  readonly name: "channels";
  readonly routes: readonly Route[];
  /** The socket class with `join` / `leave` / `broadcast`: the app's handlers get it; a route naming it (`socketClass: channels.socketClass`) sees it typed. */
  readonly socketClass: SocketClass<AnyChannelSocket>;
  readonly backend: ChannelBackend;
  /** Serialize `data` once (string → text, bytes → binary, else JSON) and send it to every subscriber of `channels`. */
  publish(data: unknown, channels: string | readonly string[]): Promise<void>;
  /** An async iterable of the channels' messages in their wire form; see `SubscribeOptions`. */
  subscribe(channels: string | readonly string[], options?: SubscribeOptions): Subscription;
  /** The channel's last `count` messages (wire form), oldest first. Default count: the `history` option. */
  history(channel: string, count?: number): Promise<Payload[]>;
  /** The same, with ids and publishers. */
  historyMessages(channel: string, count?: number): Promise<ChannelMessage[]>;
  /** Whether `channel` may be used (declared, or arbitrary channels allowed). */
  allows(channel: string): boolean;
  stats(): ChannelsStats;
  setup(host: PluginHost): void;
  close(): Promise<void>;
}

function exceptIds(except: ExceptTarget | undefined): number[] | undefined {
  if (except === undefined) return undefined;
  const items = typeof except === "number" || !(Symbol.iterator in Object(except)) ? [except as AnySocket | number] : [...(except as Iterable<AnySocket | number>)];
  return items.map((item) => (typeof item === "number" ? item : item.id));
}

/** Create a channels plugin. See `ChannelsOptions`. */
export function createChannels(options: ChannelsOptions = {}): Channels {
  const backend = options.backend ?? memoryBackend();
  const historySize = options.history ?? 100;
  if (!Number.isInteger(historySize) || historySize < 0) throw new RangeError(`history must be a non-negative integer, got ${historySize}`);
  const backlog: BacklogOptions = { max: options.backlog?.max ?? 1000, strategy: options.backlog?.strategy ?? "drop-oldest" };
  if (!Number.isInteger(backlog.max) || backlog.max < 1) throw new RangeError(`backlog.max must be a positive integer, got ${backlog.max}`);
  if (!["drop-oldest", "drop-newest", "disconnect"].includes(backlog.strategy)) {
    throw new RangeError(`backlog.strategy must be "drop-oldest", "drop-newest" or "disconnect", got ${String(backlog.strategy)}`);
  }
  const declared = options.channels ?? [];
  const arbitrary = options.arbitraryChannels ?? options.channels === undefined;
  if (!arbitrary && declared.length === 0) throw new TypeError("createChannels: no channels declared and arbitraryChannels is false");

  const origin = randomUUID();
  const fanOut = new LocalFanOut(backend, origin);
  const core = new ChannelsCore(fanOut, backlog, origin, declared, arbitrary);
  const rooms = new Rooms(core);
  const subscriptions = new Set<Subscription>();
  const detach = backend.attach(fanOut, { history: historySize });
  let host: PluginHost | undefined;
  let closing: Promise<void> | undefined;

  const publishEnvelope = (data: unknown, names: string[], except: number[] | undefined): Promise<void> => {
    const payload = serialize(data);
    core.counters.serialized++;
    core.counters.published++;
    return backend.publish(except === undefined ? { payload, origin } : { payload, origin, except }, names);
  };

  const api: Channels = {
    name: "channels",
    routes: [],
    // Set below, once `api` exists to bind it to.
    socketClass: undefined as unknown as SocketClass<AnyChannelSocket>,
    backend,

    publish(data, channels) {
      return publishEnvelope(data, core.list(channels, "publish"), undefined);
    },

    broadcast(room: string, data: unknown, broadcastOptions: BroadcastOptions = {}) {
      core.check(room, "broadcast");
      return publishEnvelope(data, [room], exceptIds(broadcastOptions.except));
    },

    subscribe(channels, subscribeOptions = {}) {
      const names = core.list(channels, "subscribe");
      const subscription: Subscription = new Subscription(core, names, subscribeOptions, () => subscriptions.delete(subscription));
      if (!subscription.ended) subscriptions.add(subscription);
      return subscription;
    },

    history(channel, count = historySize) {
      return api.historyMessages(channel, count).then((messages) => messages.map((message) => message.payload));
    },

    historyMessages(channel, count = historySize) {
      core.check(channel, "read history");
      const n = Math.min(Math.max(0, Math.floor(count)), historySize);
      return n === 0 ? Promise.resolve([]) : backend.history(channel, n);
    },

    join(socket: AnySocket, room: string, joinOptions?: JoinOptions) {
      return rooms.join(socket, room, joinOptions);
    },

    leave(socket: AnySocket, room: string) {
      rooms.leave(socket, room);
    },

    rooms(socket: AnySocket) {
      return rooms.rooms(socket);
    },

    allows(channel) {
      return core.allows(channel);
    },

    stats() {
      return {
        backend: backend.kind,
        published: core.counters.published,
        serialized: core.counters.serialized,
        offered: fanOut.offered,
        dropped: core.counters.dropped,
        disconnected: core.counters.disconnected,
        subscriptions: fanOut.subscriptions,
        channels: fanOut.channelCount,
      };
    },

    setup(pluginHost) {
      if (host !== undefined && host !== pluginHost) throw new Error("A channels plugin belongs to one app: create one per app");
      host = pluginHost;
      core.reporter = pluginHost;
      backend.useLogger?.(pluginHost.logger);
    },

    health() {
      return { backend: backend.kind, ...(backend.health?.() ?? { status: "up" }) };
    },

    close() {
      return (closing ??= (async () => {
        rooms.endAll();
        for (const subscription of [...subscriptions]) subscription.end();
        core.closed = true;
        detach();
        await backend.close();
      })());
    },
  };
  const withRoutes = api as { routes: readonly Route[]; socketClass: SocketClass<AnyChannelSocket> };
  withRoutes.socketClass = boundChannelSocket(api);
  if (options.routes !== undefined && options.routes !== false) {
    withRoutes.routes = channelRoutes(api, options.routes === true ? {} : options.routes);
  }
  return api;
}

export { ChannelsClosedError };
