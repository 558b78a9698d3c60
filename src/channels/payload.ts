/**
 * Serialization, once per publish: a published value becomes its wire form here, and that same
 * string or Buffer is what every subscriber receives and every socket sends as is.
 *
 * - a string is sent as a text frame, unchanged;
 * - bytes (`Buffer`, any `Uint8Array`, `ArrayBuffer`) as a binary frame;
 * - anything else as JSON text (`JSON.stringify`, so `toJSON` is honoured)
 * — the rule of replies (`codec/message-codec.ts: directFrame`, `jsonText`).
 *
 * Across processes the payload travels in an envelope: a one-line JSON header (who published,
 * which local sockets to skip, whether the payload is binary), a newline, then the payload's
 * bytes. The envelope is built once per publish and decoded once per process that receives it.
 */

import { directFrame, jsonText } from "../codec/message-codec.js";

/** A message in its wire form: a string is a text frame, a Buffer a binary frame. */
export type Payload = string | Buffer;

/** The wire form of `value`. Throws `TypeError` for a value JSON cannot represent (`undefined`, a function, a symbol). */
export function serialize(value: unknown): Payload {
  // The codec's rule (`directFrame`), as replies follow it; a Buffer rather than any Uint8Array, for the envelope.
  const frame = directFrame(value);
  if (frame === undefined) return jsonText(value, "publish");
  const { data } = frame;
  return typeof data === "string" ? data : Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** What a backend carries besides the payload. */
export interface Envelope {
  readonly payload: Payload;
  /** The channels instance that published it (`except` only concerns that instance's sockets). */
  readonly origin: string;
  /** Ids of the origin's connections that must not receive it (`broadcast(…, { except })`). */
  readonly except?: readonly number[] | undefined;
}

interface Header {
  o: string;
  b?: 1;
  x?: readonly number[];
}

const NEWLINE = 0x0a;

/** The envelope as bytes: `{"o":origin,"b":1?,"x":[…]?}\n<payload>`. */
export function encodeEnvelope(envelope: Envelope): Buffer {
  const header: Header = { o: envelope.origin };
  const { payload } = envelope;
  if (typeof payload !== "string") header.b = 1;
  if (envelope.except !== undefined && envelope.except.length > 0) header.x = envelope.except;
  const head = `${JSON.stringify(header)}\n`;
  if (typeof payload === "string") return Buffer.from(head + payload, "utf8");
  return Buffer.concat([Buffer.from(head, "utf8"), payload]);
}

/** The envelope back from its bytes; `undefined` for bytes that are not one (another writer on the same keys). */
export function decodeEnvelope(bytes: Buffer): Envelope | undefined {
  const end = bytes.indexOf(NEWLINE);
  if (end < 0) return undefined;
  let header: Header;
  try {
    header = JSON.parse(bytes.toString("utf8", 0, end)) as Header;
  } catch {
    return undefined;
  }
  if (typeof header !== "object" || header === null || typeof header.o !== "string") return undefined;
  const payload = header.b === 1 ? Buffer.from(bytes.subarray(end + 1)) : bytes.toString("utf8", end + 1);
  return header.x === undefined ? { payload, origin: header.o } : { payload, origin: header.o, except: header.x };
}
