/**
 * RFC 6455 §4.2.1 checks on an opening handshake, done before routing so that a malformed
 * request never becomes a connection. The rules match what `ws` itself enforces.
 */
import type { IncomingHttpHeaders } from "node:http";

const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{22}==$/;
/** RFC 7230 §3.2.6 `token`. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export interface HandshakeProblem {
  readonly status: number;
  readonly message: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** Why this upgrade request is not a valid WebSocket opening handshake, or `undefined` when it is. */
export function handshakeProblem(method: string | undefined, headers: IncomingHttpHeaders): HandshakeProblem | undefined {
  if (method !== "GET") return { status: 405, message: "Invalid HTTP method", headers: {} };
  if (headers.upgrade?.toLowerCase() !== "websocket") {
    return { status: 400, message: "Invalid Upgrade header", headers: {} };
  }
  const key = headers["sec-websocket-key"];
  if (key === undefined || !WEBSOCKET_KEY.test(key)) {
    return { status: 400, message: "Missing or invalid Sec-WebSocket-Key header", headers: {} };
  }
  const version = headers["sec-websocket-version"];
  if (version !== "13" && version !== "8") {
    return {
      status: 400,
      message: "Missing or invalid Sec-WebSocket-Version header",
      headers: { "Sec-WebSocket-Version": "13, 8" },
    };
  }
  if (parseSubprotocols(headers["sec-websocket-protocol"]) === undefined) {
    return { status: 400, message: "Invalid Sec-WebSocket-Protocol header", headers: {} };
  }
  return undefined;
}

/**
 * The subprotocols a client offered, in its order of preference; `undefined` when the header is
 * malformed (empty entries, non-token characters, duplicates).
 */
export function parseSubprotocols(header: string | undefined): readonly string[] | undefined {
  if (header === undefined) return [];
  const offered: string[] = [];
  for (const entry of header.split(",")) {
    const name = entry.trim();
    if (!TOKEN.test(name) || offered.includes(name)) return undefined;
    offered.push(name);
  }
  return offered;
}
