/**
 * Raw HTTP over TCP for edge tests: write any bytes (split, truncated, pipelined), then read
 * whatever the server answers until it closes the connection or goes quiet. Only ever
 * connects to 127.0.0.1.
 */
import { tcpConnect, watchEnd, type SocketEnd } from "./raw-client.js";

export interface Exchange {
  /** Everything the server sent, as latin1. */
  readonly response: string;
  /** How the connection ended; `undefined` when it was still open after `quietMs` (then we closed it). */
  readonly end: SocketEnd | undefined;
}

export interface ExchangeOptions {
  /** How long to wait, after the last byte from the server, before giving up on more (at least 3 s for the first byte). Default 300 ms. */
  readonly quietMs?: number;
  /** After writing: `"keep"` (default) waits for the server, `"end"` half-closes, `"reset"` sends a TCP RST at once. */
  readonly then?: "keep" | "end" | "reset";
  /** Write the bytes in pieces of this size, one per turn of the event loop. Default: one write. */
  readonly chunk?: number;
}

/** Write `bytes` to 127.0.0.1:port and collect the answer. The socket is always destroyed before this resolves. */
export async function exchange(port: number, bytes: Buffer | string, options: ExchangeOptions = {}): Promise<Exchange> {
  const socket = await tcpConnect(port);
  const ended = watchEnd(socket);
  let response = "";
  let closed: SocketEnd | undefined;
  void ended.then((end) => (closed = end));
  const data = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes;
  const quietMs = options.quietMs ?? 300;
  let last = Date.now();
  socket.on("data", (chunk: Buffer) => {
    response += chunk.toString("latin1");
    last = Date.now();
  });
  const chunk = options.chunk ?? data.length;
  for (let offset = 0; offset < data.length && !socket.destroyed; offset += Math.max(chunk, 1)) {
    socket.write(data.subarray(offset, offset + Math.max(chunk, 1)));
    if (chunk < data.length) await new Promise((resolve) => setImmediate(resolve));
  }
  if (options.then === "reset") {
    socket.resetAndDestroy();
    return { response, end: await ended };
  }
  if (options.then === "end") socket.end();
  // The first byte may take a while on a loaded machine; after it, `quietMs` of silence ends the wait.
  while (closed === undefined && Date.now() - last < (response === "" ? Math.max(quietMs, 3000) : quietMs)) {
    await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 20))]);
  }
  if (closed === undefined) socket.destroy();
  await ended;
  return { response, end: closed };
}

/** The status codes of every HTTP response in `response`, in order (a 101 ends the HTTP part). */
export function statuses(response: string): number[] {
  return [...response.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

/** A valid upgrade request for `path` with extra or replaced headers (a `null` value removes one). */
export function upgradeRequest(path: string, headers: Readonly<Record<string, string | null>> = {}, method = "GET"): string {
  const base: Record<string, string | null> = {
    Host: "127.0.0.1",
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
  };
  const merged = { ...base, ...headers };
  let text = `${method} ${path} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(merged)) if (value !== null) text += `${name}: ${value}\r\n`;
  return `${text}\r\n`;
}

/** A plain HTTP/1.1 request. */
export function httpRequest(method: string, path: string, headers: Readonly<Record<string, string | null>> = {}): string {
  const merged = { Host: "127.0.0.1", ...headers };
  let text = `${method} ${path} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(merged)) if (value !== null) text += `${name}: ${value}\r\n`;
  return `${text}\r\n`;
}
