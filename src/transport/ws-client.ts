/**
 * A client wire over real TCP, with the `ws` client (kept in the transport folder: nothing
 * above it imports `ws`).
 */
import { WebSocket } from "ws";
import type { ClientHandshake, ClientWire, ClientWireListener } from "./client-wire.js";

export function openWsClientWire(url: string, handshake: ClientHandshake, listener: ClientWireListener): ClientWire {
  const ws = new WebSocket(url, [...handshake.subprotocols], {
    headers: { ...handshake.headers },
    perMessageDeflate: false,
    maxPayload: 0x7fffffff,
  });
  ws.binaryType = "nodebuffer";
  let responseHeaders: Record<string, string> = {};
  // Each of open, denial and failure is reported once; a denial is not also a close.
  let phase: "connecting" | "open" | "denied" | "ended" = "connecting";
  ws.on("upgrade", (response) => {
    responseHeaders = flatHeaders(response.headers);
  });
  ws.on("open", () => {
    phase = "open";
    listener.onOpen(ws.protocol === "" ? undefined : ws.protocol, responseHeaders);
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
  };
}

function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return flat;
}
