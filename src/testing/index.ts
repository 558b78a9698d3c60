/**
 * `statewire/testing`: drive an app like a client would, over memory or real TCP.
 */
export { HandshakeRejected, TestSocket, testClient } from "./client.js";
export type { CloseInfo, ConnectOptions, TestClient, TestClientOptions } from "./client.js";
