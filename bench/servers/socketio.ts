/**
 * socket.io (v4) on its WebSocket transport only, with its defaults otherwise (1 MB
 * maxHttpBufferSize, no permessage-deflate, ping every 25 s). `ws` underneath picks up
 * `bufferutil` like the others (or not, with WS_NO_BUFFER_UTIL=1).
 * - ROLE=echo (default): `socket.on("echo", (m) => socket.emit("echo", m))`;
 * - ROLE=fanout: every client joins the room "room"; a broadcast is `io.to("room").emit("b", payload)`.
 * `node --import tsx bench/servers/socketio.ts` (PORT=0 by default, 127.0.0.1 only).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "socket.io";
import { serveControl } from "./control.js";

const fanout = process.env.ROLE === "fanout";
const httpServer = createServer((_request, response) => {
  response.writeHead(404).end();
});
const io = new Server(httpServer, { transports: ["websocket"], serveClient: false });

io.on("connection", (socket) => {
  if (fanout) void socket.join("room");
  else socket.on("echo", (message: unknown) => socket.emit("echo", message));
});

httpServer.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const port = (httpServer.address() as AddressInfo).port;
  if (!fanout) return serveControl(port, () => io.engine.clientsCount);
  serveControl(port, () => io.sockets.adapter.rooms.get("room")?.size ?? 0, {
    broadcast: (payload) => {
      io.to("room").emit("b", payload);
    },
  });
});
