/**
 * Writing an HTTP response straight onto an upgrade request's socket, which node:http has
 * already handed over and will not answer for us.
 */
import { STATUS_CODES, validateHeaderName, validateHeaderValue } from "node:http";
import type { Duplex } from "node:stream";
import type { DenialResponse } from "./transport.js";

export function writeRawResponse(socket: Duplex, response: DenialResponse): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = Buffer.from(response.body, "utf8");
  const lines = [
    `HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? "Unknown"}`,
    "Connection: close",
    "Content-Type: text/plain; charset=utf-8",
    `Content-Length: ${body.length}`,
  ];
  for (const [name, value] of Object.entries(response.headers)) {
    // Throws on CR/LF and other bytes that would let a header value split the response.
    validateHeaderName(name);
    validateHeaderValue(name, value);
    lines.push(`${name}: ${value}`);
  }
  socket.end(Buffer.concat([Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1"), body]));
  // end() may never complete against a peer that stopped reading; do not let it hold the socket.
  setTimeout(() => socket.destroy(), 1000).unref();
}
