/**
 * statewire: a WebSocket runtime where every connection is an explicit state machine and every
 * handler an actor. This module is the public surface; it only re-exports.
 */
export { createApp } from "./app/app.js";
export type { App, AppOptions, CloseOptions, ListenOptions, ServerAddress } from "./app/app.js";
export { get, html, http, post } from "./app/http-route.js";
export type { HttpContext, HttpHandler, HttpMethod, HttpRoute } from "./app/http-route.js";
export type { PathParams } from "./app/path-params.js";
export { group } from "./app/routes.js";
export type { Route, RouteGroup } from "./app/routes.js";
export { websocket } from "./handlers/websocket.js";
export type { WebSocketHandler, WebSocketRoute } from "./handlers/websocket.js";
export { Socket } from "./connection/socket.js";
export type { AcceptInit, ClientAddress, Message, RejectInit } from "./connection/socket.js";
export {
  CloseCode,
  MAX_CLOSE_REASON_BYTES,
  assertCloseFrame,
  closeCodeName,
  isValidCloseCode,
} from "./connection/close-codes.js";
export type { CloseCodeName } from "./connection/close-codes.js";
export {
  HandshakeDenied,
  MessageError,
  SocketClosedError,
  SocketStateError,
  WebSocketDisconnect,
} from "./connection/errors.js";
export { createJsonLogger, silentLogger } from "./connection/logger.js";
export type { LogLevel, Logger } from "./connection/logger.js";
export type { EffectSchema, MessageSchema, SchemaOutput, StandardSchemaV1 } from "./codec/schema.js";
export type { CloseInitiator, ConnectionOutcome, ConnectionState } from "../machines/connection.js";
