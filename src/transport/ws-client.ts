/**
 * A client wire over real TCP, with the `ws` client (kept in the transport folder: nothing
 * above it imports `ws`).
 */
import type { ClientRequest, IncomingMessage } from "node:http";
import { WebSocket } from "ws";
import type { ClientHandshake, ClientWire, ClientWireListener } from "./client-wire.js";

export function openWsClientWire(url: string, handshake: ClientHandshake, listener: ClientWireListener): ClientWire {
  // Subprotocols go in the header rather than to `ws`, which fails a handshake whose answer names
  // none; browsers accept that answer (only an unoffered choice is an error), and so do we.
  const headers: Record<string, string> = { ...handshake.headers };
  if (handshake.subprotocols.length > 0) headers["sec-websocket-protocol"] = handshake.subprotocols.join(", ");
  const ws = new WebSocket(url, {
    headers,
    perMessageDeflate: handshake.perMessageDeflate ?? false,
    autoPong: handshake.autoPong ?? true,
    maxPayload: 0x7fffffff,
  });
  ws.binaryType = "nodebuffer";
  // Take the server's choice out of the response before `ws` checks it against an empty offer.
  let chosen: string | undefined;
  const request = (ws as unknown as { _req?: ClientRequest })._req;
  request?.prependListener("upgrade", (response: IncomingMessage) => {
    const header = response.headers["sec-websocket-protocol"];
    chosen = header;
    delete response.headers["sec-websocket-protocol"];
  });
  let responseHeaders: Record<string, string> = {};
  // Each of open, denial and failure is reported once; a denial is not also a close.
  let phase: "connecting" | "open" | "denied" | "ended" = "connecting";
  ws.on("upgrade", (response) => {
    responseHeaders = flatHeaders(response.headers);
  });
  ws.on("open", () => {
    if (chosen !== undefined) responseHeaders["sec-websocket-protocol"] = chosen;
    if (chosen !== undefined && !handshake.subprotocols.includes(chosen)) {
      phase = "ended";
      ws.terminate();
      listener.onClosed(1006, `server chose subprotocol "${chosen}", which was not offered`, false);
      return;
    }
    phase = "open";
    listener.onOpen(chosen, responseHeaders);
  });
  ws.on("unexpected-response", (_request, response) => {
    phase = "denied";
    const chunks: Buffer[] = [];
    response.on("data", (chunk: Buffer) => chunks.push(chunk));
    response.on("end", () => {
      listener.onDenied({
        status: response.statusCode ?? 0,
        headers: flatHeaders(response.headers),
        body: Buffer.concat(chunks).toString("utf8"),
      });
      ws.terminate();
    });
    response.on("error", () => ws.terminate());
  });
  ws.on("message", (data, isBinary) => listener.onMessage(data as Buffer, isBinary));
  ws.on("error", () => {
    if (phase !== "connecting") return; // once open, 'close' follows and reports the end
    phase = "ended";
    listener.onClosed(1006, "", false);
  });
  ws.on("close", (code, reason) => {
    if (phase !== "open") return;
    phase = "ended";
    listener.onClosed(code, reason.toString("utf8"), code !== 1006);
  });
  return {
    send: (data, isBinary) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(data, { binary: isBinary });
    },
    close: (code, reason) => {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CLOSING) ws.close(code, reason);
    },
    abort: () => ws.terminate(),
    ping: () => {
      if (ws.readyState === WebSocket.OPEN) ws.ping();
    },
    pauseReading: () => ws.pause(),
    resumeReading: () => ws.resume(),
  };
}

function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return flat;
}
