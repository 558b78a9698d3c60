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
  return undefined;
}

/** More offered subprotocols than any client needs: the list is refused (400), not parsed. */
const MAX_SUBPROTOCOLS = 64;

const NONE: readonly string[] = Object.freeze([]);

/**
 * The subprotocols a client offered, in its order of preference; `undefined` when the header is
 * malformed (empty entries, non-token characters, duplicates) or lists more than
 * `MAX_SUBPROTOCOLS`. Linear in the header's length; parse once per handshake.
 */
export function parseSubprotocols(header: string | undefined): readonly string[] | undefined {
  if (header === undefined) return NONE;
  const entries = header.split(",", MAX_SUBPROTOCOLS + 1);
  if (entries.length > MAX_SUBPROTOCOLS) return undefined;
  const offered = new Set<string>();
  for (const entry of entries) {
    const name = entry.trim();
    if (!TOKEN.test(name) || offered.has(name)) return undefined;
    offered.add(name);
  }
  return Object.freeze([...offered]);
}
