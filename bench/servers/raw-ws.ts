/**
 * Baseline: a raw `ws` echo server, configured like statewire's transport
 * (noServer on a node:http `upgrade`, 1 MiB maxPayload, no permessage-deflate).
 * `node --import tsx bench/servers/raw-ws.ts` (PORT=0 by default, 127.0.0.1 only).
 *
 * ECHO_MODE picks how a text message goes back (all as text frames):
 * - `buffer` (default): the received Buffer as is — the plain `ws` echo;
 * - `string`: decoded to a string and sent as a string — what statewire's echo does
 *   (`for await` yields strings, `sendText` takes one);
 * - `string-buffer`: decoded, then re-encoded with `Buffer.from` before `ws.send`;
 * - `json`: `JSON.parse`d and `JSON.stringify`d back (no validation) — the least a JSON echo does.
 *
 * ROLE=fanout: every client is kept in a Set, and a broadcast is the loop from `ws`'s README
 * over them, sending one Buffer encoded once.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocket, WebSocketServer } from "ws";
import { serveControl } from "./control.js";

const mode = process.env.ECHO_MODE ?? "buffer";
if (!["buffer", "string", "string-buffer", "json"].includes(mode)) throw new Error(`unknown ECHO_MODE ${mode}`);

const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024, perMessageDeflate: false });
let live = 0;
const fanout = process.env.ROLE === "fanout";
const clients = new Set<WebSocket>();

wss.on("connection", (ws) => {
  live++;
  if (fanout) {
    clients.add(ws);
    ws.on("close", () => clients.delete(ws));
  }
  ws.on("message", (data, isBinary) => {
    if (isBinary || mode === "buffer") ws.send(data as Buffer, { binary: isBinary });
    else if (mode === "string") ws.send((data as Buffer).toString("utf8"), { binary: false });
    else if (mode === "json") ws.send(JSON.stringify(JSON.parse((data as Buffer).toString("utf8"))), { binary: false });
    else ws.send(Buffer.from((data as Buffer).toString("utf8")), { binary: false });
  });
  ws.on("close", () => live--);
  ws.on("error", () => {});
});

const server = createServer((_request, response) => {
  response.writeHead(426).end();
});
server.on("upgrade", (request, socket, head) => {
  socket.on("error", () => socket.destroy());
  wss.handleUpgrade(request, socket, head, (ws) => wss.emit("connection", ws, request));
});

interface TcpHandle {
  writeBuffer(request: object, data: Buffer): number;
}
/** node's internal write request (`process.binding`, deprecated): only for the `handle` floor. */
const WriteWrap = process.env.FANOUT_MODE === "handle" ? (process as unknown as { binding(name: string): { WriteWrap: new () => Record<string, unknown> } }).binding("stream_wrap").WriteWrap : undefined;
const NOOP = (): void => {};
function writeToHandle(handle: TcpHandle, frame: Buffer): void {
  const request = new WriteWrap!();
  request.handle = handle;
  request.oncomplete = NOOP;
  request.async = false;
  request.bytes = 0;
  request.buffer = frame;
  handle.writeBuffer(request, frame);
}

server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const port = (server.address() as AddressInfo).port;
  if (!fanout) return serveControl(port, () => live);
  serveControl(port, () => clients.size, {
    broadcast: (payload) => {
      const data = Buffer.from(payload);
      if (process.env.FANOUT_MODE === "handle") {
        // Floor below node's streams (experiment): the frame handed to each TCP handle's libuv
        // write directly, no Writable state machine; what a native server's loop costs here.
        const frame = Buffer.concat([Buffer.from([0x81, data.length]), data]);
        for (const client of clients) writeToHandle((client as unknown as { _socket: { _handle: TcpHandle } })._socket._handle, frame);
        return;
      }
      if (process.env.FANOUT_MODE === "socket") {
        // Floor (experiment): one prebuilt frame written to each TCP socket, no ws sender.
        const frame = Buffer.concat([Buffer.from([0x81, data.length]), data]);
        for (const client of clients) (client as unknown as { _socket: { write(b: Buffer): void } })._socket.write(frame);
        return;
      }
      for (const client of clients) if (client.readyState === WebSocket.OPEN) client.send(data, { binary: false });
    },
  });
});
