/**
 * statewire: a WebSocket runtime where every connection is an explicit state machine and every
 * handler an actor. This module is the public surface; it only re-exports.
 */
export { createApp, StartupError } from "./app/app.js";
export type { App, AppOptions, CloseOptions, LifecycleHook, ListenOptions, ServerAddress } from "./app/app.js";
export type { PluginHealth, StatsSnapshot } from "./app/stats.js";
export type { Plugin, PluginHost } from "./app/plugin.js";
export { SocketClassConflictError } from "./app/socket-class.js";
export type { BaseState, SocketOf } from "./connection/socket-class.js";
export type { RequiredSocket, RouteGuards, RouteOptions, RouteSocket } from "./handlers/route-types.js";
export type { ConnectionInfo, ConnectionObserver } from "./connection/observer.js";
export type { Gate } from "./connection/interleaving.js";
export { get, html, http, post } from "./handlers/http-route.js";
export type { HttpContext, HttpHandler, HttpMethod, HttpRoute } from "./handlers/http-route.js";
export { staticFiles } from "./app/static-files.js";
export type { PathParams } from "./handlers/path-params.js";
export { group } from "./app/routes.js";
export type { Route, RouteGroup } from "./app/routes.js";
export { websocket } from "./handlers/websocket.js";
export { KeepOpen, keepOpen } from "./handlers/pipeline.js";
export { pathParameters, queryParameters } from "./guards/parameters.js";
export { aroundConnection } from "./guards/around-connection.js";
export type { Middleware, RequestMiddleware } from "./handlers/middleware.js";
export type { MessageMiddleware, MiddlewareMessage } from "./handlers/message-middleware.js";
export type { AroundConnectionOptions, ConnectionMiddleware } from "./guards/around-connection.js";
export type { ParameterOptions, Parameters, QueryOf, QuerySchema } from "./guards/parameters.js";
export type { WebSocketHandler, WebSocketOptions, WebSocketRoute } from "./handlers/websocket.js";
export { websocketListener } from "./handlers/listener.js";
export type { ListenerOptions, MessageCodecOptions } from "./handlers/listener.js";
export { websocketStream } from "./handlers/stream.js";
export type { StreamOptions, StreamSource } from "./handlers/stream.js";
export { websocketMachine } from "./handlers/machine.js";
export type { DisconnectEvent, MachineInput, MachineOptions, MachineOutput, MessageEvent, OnUnexpected, UnexpectedEvent } from "./handlers/machine.js";
export { CLOSE_CONNECTION, SEND_MESSAGE, closeConnection, sendMessage } from "./handlers/machine-actions.js";
export type { CloseConnectionEmitted, MachineEmitted, MessageArgs, SendMessageEmitted } from "./handlers/machine-actions.js";
export { WebSocketListener } from "./handlers/class-listener.js";
export type { ListenerDependencies, WebSocketListenerClass } from "./handlers/class-listener.js";
export type { HandlerContext } from "./handlers/context.js";
export type { OnInvalid } from "./handlers/pipeline.js";
export type { SessionHooks } from "./handlers/session.js";
export { provide } from "./dependencies/provide.js";
export type { AppDependencies, Dependencies, Provided, Provider, ProviderContext, ResolvedDependencies } from "./dependencies/provide.js";
export type { LayerOptions, SocketClass } from "./handlers/layers.js";
export { composeGuards } from "./guards/guard.js";
export type { Guard, GuardContext, GuardedState } from "./guards/guard.js";
export { bearerToken } from "./guards/bearer.js";
export type { BearerTokenOptions } from "./guards/bearer.js";
export { connectionRate } from "./guards/connection-rate.js";
export type { ConnectionRateOptions } from "./guards/connection-rate.js";
export { allowOrigins } from "./guards/origin.js";
export type { OriginPolicy } from "./guards/origin.js";
export type { HeartbeatOptions } from "./limits/liveness.js";
export type { MessageRate } from "./limits/token-bucket.js";
export type { BackpressurePolicy } from "./connection/outbound.js";
export type {
  AcceptOptions,
  DeflateOptions,
  DenialResponse,
  TransportConnection,
  TransportLimits,
  TransportListener,
  UpgradeRequest,
} from "./transport/transport.js";
export type { ValueEncoding } from "./codec/message-codec.js";
export type { DataOf, FrameMode, InvalidMessage, ReceiveKind } from "./codec/message-codec.js";
export { Socket } from "./connection/socket.js";
export type { AcceptInit, AnySocket, ClientAddress, Message, RejectInit, SocketRuntime } from "./connection/socket.js";
export type { InboundMessage, ReceiveOptions } from "./connection/mailbox.js";
export {
  CloseCode,
  MAX_CLOSE_REASON_BYTES,
  assertCloseFrame,
  closeCodeName,
  isValidCloseCode,
} from "./wire/close-codes.js";
export type { CloseCodeName } from "./wire/close-codes.js";
export {
  HandshakeDenied,
  MessageError,
  ReceiveTimeoutError,
  SocketClosedError,
  SocketStateError,
  WebSocketDisconnect,
  WebSocketError,
} from "./wire/errors.js";
export type { StatewireErrorCode } from "./wire/errors.js";
export { createJsonLogger, silentLogger } from "./connection/logger.js";
export type { LogLevel, Logger } from "./connection/logger.js";
export type { EffectSchema, MessageSchema, SchemaOutput, StandardSchemaV1 } from "./codec/schema.js";
export type { CloseInitiator, ConnectionOutcome, ConnectionState } from "../machines/connection.js";
export {
  BackendUnavailableError,
  BacklogOverflowError,
  ChannelSocket,
  ChannelsClosedError,
  Subscription,
  UnknownChannelError,
  compareIds,
  createChannels,
  createPresence,
  memoryBackend,
  memoryPresence,
  serialize,
} from "./channels/index.js";
export type {
  BacklogOptions,
  BackendHealth,
  BackendSettings,
  BackendSink,
  BacklogStrategy,
  BroadcastOptions,
  ChannelBackend,
  AnyChannelSocket,
  ChannelMessage,
  ChannelRouteOptions,
  Channels,
  ChannelsOptions,
  ChannelsStats,
  ExceptTarget,
  JoinOptions,
  MemoryBackendOptions,
  MemoryChannelBackend,
  MemoryRetention,
  Payload,
  Presence,
  PresenceCloseOptions,
  PresenceEvent,
  PresenceMember,
  PresenceOptions,
  PresenceStore,
  SubscribeOptions,
} from "./channels/index.js";
