/**
 * fast-check generators of hostile HTTP/1.1 traffic for `test/edge-fuzz.test.ts`: request
 * lines, Host values, upgrade headers, subprotocol lists, bodies, pipelining, and how the client
 * ends (FIN, reset, cut at a byte offset). Each case is plain data that prints as a replayable
 * request.
 */
import fc from "fast-check";
import { encodeFrame, type FrameSpec } from "./raw-client.js";

const VALID_KEY = "dGhlIHNhbXBsZSBub25jZQ==";

const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/);
/** Anything printable-ish, including bytes that have no business in a header. */
const junk = fc.string({ maxLength: 24, unit: fc.constantFrom(..."ab:/[]@ \t,;=%.\\?#\u00e9\u0000\u007f\"'".split("")) });

const method = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH") },
  { weight: 1, arbitrary: fc.constantFrom("TRACE", "TRACK", "CONNECT", "get", "PRI", "") },
  { weight: 1, arbitrary: token },
);

const segment = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom("stats", "echo", "listener", "stream", "deps", "guarded", "chat", "lobby", "never-accept", "body", "slow", "nowhere") },
  { weight: 2, arbitrary: fc.constantFrom("", ".", "..", "%2e%2e", ".%2E", "%zz", "%00", "a\\b", "\u00fc", "x;y", "*") },
  { weight: 1, arbitrary: junk },
);
const query = fc.constantFrom("", "?user=u", "?who=w", "?count=2", "?count=-1", "?a=%zz", "?x=1&x=2", "#frag", "?q#f");
const path = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.array(segment, { minLength: 1, maxLength: 4 }), query).map(([segments, q]) => `/${segments.join("/")}${q}`) },
  { weight: 1, arbitrary: fc.constantFrom("*", "http://127.0.0.1/echo", "//stats", "/stats/..", "", "ws://x/echo") },
);

const host = fc.oneof(
  { weight: 4, arbitrary: fc.constant("127.0.0.1") },
  { weight: 3, arbitrary: fc.constantFrom("x:99999", "[", "", "a b", "[::1]:80", "999.1.1.1", "a@b", "localhost:0", "xn--", "EXAMPLE.com:8080") },
  { weight: 1, arbitrary: junk },
);

const subprotocols = fc.oneof(
  fc.array(token, { maxLength: 6 }).map((names) => names.join(", ")),
  fc.integer({ min: 60, max: 400 }).map((n) => Array.from({ length: n }, (_, i) => `p${i}`).join(",")),
  fc.constantFrom("", ",", "a,,b", "a, a", "a b", "chat\u00e9"),
);

/** One request: its line, headers in order (`undefined` values are left out), and a body. */
export interface RequestSpec {
  readonly method: string;
  readonly path: string;
  readonly version: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
}

const upgradeHeaders = fc.record(
  {
    Upgrade: fc.constantFrom("websocket", "WebSocket", "h2c", "", "websocket, h2c"),
    Connection: fc.constantFrom("Upgrade", "upgrade, keep-alive", "keep-alive", "close", ""),
    "Sec-WebSocket-Key": fc.oneof({ weight: 4, arbitrary: fc.constant(VALID_KEY) }, { weight: 1, arbitrary: fc.oneof(fc.constantFrom("short", ""), fc.base64String({ maxLength: 30 })) }),
    "Sec-WebSocket-Version": fc.constantFrom("13", "13", "8", "12", "", "13, 8"),
    "Sec-WebSocket-Protocol": subprotocols,
    "Sec-WebSocket-Extensions": fc.constantFrom("permessage-deflate", "permessage-deflate; client_max_window_bits=99", "x;;"),
  },
  { requiredKeys: [] },
);

const otherHeaders = fc.record(
  {
    Cookie: fc.oneof(fc.constantFrom("user=c", "a=%zz; b", '=x; user="q"'), junk),
    Origin: fc.constantFrom("http://127.0.0.1", "null", "http://[", ""),
    "Content-Length": fc.constantFrom("0", "3", "10", "-1", "abc"),
    "Transfer-Encoding": fc.constantFrom("chunked", "gzip, chunked", "x"),
    "X-Junk": junk,
  },
  { requiredKeys: [] },
);

export const requestSpec: fc.Arbitrary<RequestSpec> = fc
  .record({
    method,
    path,
    // Mostly well-formed, so that cases get past node's own parser to statewire's edge.
    version: fc.oneof({ weight: 8, arbitrary: fc.constant("HTTP/1.1") }, { weight: 1, arbitrary: fc.constantFrom("HTTP/1.0", "HTTP/2.0", "HTTP/1.1 x") }),
    host: fc.option(host, { nil: undefined, freq: 8 }),
    upgrade: fc.option(upgradeHeaders, { nil: undefined, freq: 2 }),
    other: fc.option(otherHeaders, { nil: {}, freq: 2 }),
    body: fc.oneof({ weight: 4, arbitrary: fc.constant("") }, { weight: 1, arbitrary: fc.constantFrom("abc", "3\r\nabc\r\n0\r\n\r\n") }),
  })
  .map(({ method: m, path: p, version, host: h, upgrade, other, body }) => ({
    method: m,
    path: p,
    version,
    headers: [...(h === undefined ? [] : [["Host", h] as const]), ...Object.entries(upgrade ?? {}), ...Object.entries(other)],
    body,
  }));

export function encodeRequest(spec: RequestSpec): string {
  let text = `${spec.method} ${spec.path} ${spec.version}\r\n`;
  for (const [name, value] of spec.headers) text += `${name}: ${value}\r\n`;
  return `${text}\r\n${spec.body}`;
}

/** How the client ends: after writing everything, or cut at a byte offset (a fraction of the length), then FIN or RST. */
export interface Ending {
  readonly cutAt: number | undefined;
  readonly then: "end" | "reset";
}

export const ending: fc.Arbitrary<Ending> = fc.record({
  cutAt: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined, freq: 2 }),
  then: fc.constantFrom("end", "end", "reset"),
});

/** One to three requests written back to back (pipelined), and how the client ends. */
export const hostileExchange = fc.record({
  requests: fc.array(requestSpec, { minLength: 1, maxLength: 3 }),
  ending,
});

/** A frame a client might send after a valid upgrade, hostile or not. */
export const frameSpec: fc.Arbitrary<FrameSpec> = fc.record(
  {
    opcode: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(0x0, 0x1, 0x2, 0x8, 0x9, 0xa) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) }),
    payload: fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
      fc.constantFrom(Buffer.from([0x03, 0xe8]), Buffer.from([0x03, 0xe8, 0xff]), Buffer.from([0x00, 0x01]), Buffer.from([0xc3])),
    ),
    fin: fc.boolean(),
    rsv: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 7 }) }),
    mask: fc.oneof({ weight: 8, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    declaredLength: fc.integer({ min: 0, max: 70_000 }),
  },
  { requiredKeys: ["opcode", "payload"] },
);

export const frameSession = fc.record({
  route: fc.constantFrom("/echo", "/listener", "/deps?user=f", "/guarded", "/chat/room", "/stream?count=5"),
  frames: fc.array(frameSpec, { maxLength: 8 }),
  then: fc.constantFrom("end", "reset", "close-frame"),
});

export { encodeFrame };
