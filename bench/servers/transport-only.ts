/**
 * Experiment (handshake cost split): statewire's ws transport with no app, no connection
 * runtime and no handler: every valid upgrade is accepted at once, and a peer's close answered.
 * What it costs beyond raw ws is the transport's; what statewire's echo servers cost beyond it
 * is the connection runtime's and the handler's. `bench/cpu-ab.ts handshake --servers=transport`.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { serveControl } from "./control.js";
import type * as WsTransport from "../../src/transport/ws.js";

const entry = process.env.STATEWIRE_ENTRY;
const { createWsUpgradeListener } = (await import(
  entry === undefined || entry === "" ? "../../src/transport/ws.js" : new URL("transport/ws.js", pathToFileURL(entry)).href
)) as typeof WsTransport;

let live = 0;
const NOOP = (): void => {};
const upgrade = createWsUpgradeListener({ maxPayload: 1024 * 1024 }, (connection) => {
  live++;
  connection.listen({
    onMessage: (data, isBinary) => connection.send(isBinary ? data : data.toString("utf8"), isBinary),
    onPeerClose: NOOP,
    onProtocolError: NOOP,
    onClosed: () => void live--,
    onPong: NOOP,
  });
  connection.accept({ subprotocol: undefined, headers: {} });
});
const server = createServer((_request, response) => response.writeHead(426).end());
server.on("upgrade", upgrade);
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => serveControl((server.address() as AddressInfo).port, () => live));
