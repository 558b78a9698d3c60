/**
 * Server frames built here, in one Buffer each, instead of by `ws`'s sender (which allocates a
 * header, copies a short string into a Buffer of its own, and writes the two under a cork of
 * their own). One write per frame; under the per-read cork (`cork.ts`) many frames leave in one
 * `writev` with one chunk each.
 *
 * The last short text frame is kept: a broadcast sends the same string to every subscriber in a
 * row, so it is encoded and framed once per publish, and every socket writes the same bytes.
 * Strings are immutable, so a frame found by equal text is the right frame; Buffers are not
 * (a caller may refill one between two sends), so binary frames are never reused.
 */

/** Unmasked server frames only: a client's would need a mask per frame. */
const FIN_TEXT = 0x81;
const FIN_BINARY = 0x82;

let lastText: string | undefined;
let lastFrame: Buffer | undefined;
/** `lastText`'s UTF-8 length. */
let lastLength = 0;

function header(frame: Buffer, first: number, length: number): number {
  frame[0] = first;
  if (length < 126) {
    frame[1] = length;
    return 2;
  }
  frame[1] = 126;
  frame.writeUInt16BE(length, 2);
  return 4;
}

/** Bytes of header for a payload of `length` bytes (below 64 KiB). */
const headerLength = (length: number): number => (length < 126 ? 2 : 4);

/** A complete text frame for `text` (below 64 KiB of UTF-8), reused when the same text was framed last. */
export function textFrame(text: string): Buffer {
  if (text === lastText) return lastFrame!;
  const length = Buffer.byteLength(text, "utf8");
  const frame = Buffer.allocUnsafe(headerLength(length) + length);
  frame.write(text, header(frame, FIN_TEXT, length), length, "utf8");
  lastText = text;
  lastFrame = frame;
  lastLength = length;
  return frame;
}

/**
 * The UTF-8 length of `text`, without a second scan when it is the text just framed: a reply is
 * counted for observers right after the transport framed it (`connection/outbound.ts`).
 */
export function utf8Length(text: string): number {
  return text === lastText ? lastLength : Buffer.byteLength(text, "utf8");
}

/** A complete frame carrying a copy of `bytes` (below 64 KiB). */
export function bytesFrame(bytes: Uint8Array, isBinary: boolean): Buffer {
  const length = bytes.byteLength;
  const frame = Buffer.allocUnsafe(headerLength(length) + length);
  frame.set(bytes, header(frame, isBinary ? FIN_BINARY : FIN_TEXT, length));
  return frame;
}
