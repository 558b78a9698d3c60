/**
 * Every error statewire throws carries a stable `errorCode`, distinct per class, so users can
 * branch on it without parsing messages.
 */
import { expect, test } from "vitest";
import {
  BackendUnavailableError,
  BacklogOverflowError,
  ChannelsClosedError,
  HandshakeDenied,
  MessageError,
  SocketClosedError,
  SocketStateError,
  StartupError,
  type StatewireErrorCode,
  UnknownChannelError,
  WebSocketDisconnect,
  WebSocketError,
} from "../../src/index.js";

test("each error class has its own stable errorCode", () => {
  const cases: [{ readonly errorCode: StatewireErrorCode }, StatewireErrorCode][] = [
    [new StartupError("x"), "SW_ERR_STARTUP"],
    [new BacklogOverflowError(10), "SW_ERR_BACKLOG_OVERFLOW"],
    [new UnknownChannelError("room"), "SW_ERR_UNKNOWN_CHANNEL"],
    [new ChannelsClosedError("publish"), "SW_ERR_CHANNELS_CLOSED"],
    [new BackendUnavailableError("redis-pubsub", "publish", 100, undefined), "SW_ERR_BACKEND_UNAVAILABLE"],
    [new WebSocketDisconnect(1000, ""), "SW_ERR_DISCONNECTED"],
    [new SocketClosedError("closed", "send"), "SW_ERR_SOCKET_CLOSED"],
    [new SocketStateError("x"), "SW_ERR_SOCKET_STATE"],
    [new HandshakeDenied(403), "SW_ERR_HANDSHAKE_DENIED"],
    [new MessageError(1007, "invalid JSON"), "SW_ERR_INVALID_MESSAGE"],
    [new WebSocketError(4000, "x"), "SW_ERR_CLOSE"],
  ];
  for (const [error, code] of cases) expect(error.errorCode).toBe(code);
  expect(new Set(cases.map(([error]) => error.errorCode)).size).toBe(cases.length);
});
