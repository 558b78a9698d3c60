/**
 * What the inspector may show of what flows through a connection. By default nothing but sizes
 * and shapes: message payloads, query strings and error messages can carry tokens and personal
 * data. With `payloads: true` it shows a bounded preview of each.
 */

/** Longest text preview kept per message, in characters. */
const PREVIEW_CHARS = 200;
/** Bytes of a binary message shown as hex. */
const PREVIEW_BYTES = 48;

/**
 * A copy of the first `chars` characters of `text` that does not share its memory. V8 makes a
 * `slice` of a long string a view that keeps the whole parent alive (and a concatenation a pair
 * that keeps both): a kept preview of a 1 MB message would keep the megabyte. A round trip through
 * bytes builds a new, flat string.
 */
function detachedPrefix(text: string, chars: number): string {
  return Buffer.from(text.length > chars ? text.slice(0, chars) : text, "utf8").toString("utf8");
}

/** A bounded, printable preview of a message; a copy, never a view of the message. */
export function previewOf(data: string | Uint8Array, isBinary: boolean): string {
  if (!isBinary) {
    const text = typeof data === "string" ? data : Buffer.from(data.buffer, data.byteOffset, Math.min(data.byteLength, PREVIEW_CHARS * 4)).toString("utf8");
    return text.length > PREVIEW_CHARS ? detachedPrefix(`${text.slice(0, PREVIEW_CHARS)}…`, PREVIEW_CHARS + 1) : detachedPrefix(text, PREVIEW_CHARS);
  }
  const bytes = typeof data === "string" ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const hex = bytes.subarray(0, PREVIEW_BYTES).toString("hex").replace(/(..)(?!$)/g, "$1 ");
  return bytes.byteLength > PREVIEW_BYTES ? `${hex} …` : hex;
}

/** The request target shown for a connection: its path, and its query string only when payloads are shown. */
export function shownUrl(url: string, payloads: boolean): string {
  if (payloads) return url;
  const query = url.indexOf("?");
  return query < 0 ? url : `${url.slice(0, query)}?…`;
}

/** The path of a request target, without its query string. */
export function pathOf(url: string): string {
  const query = url.indexOf("?");
  return query < 0 ? url : url.slice(0, query);
}

/** An error as the inspector shows it: its class name, and its message only when payloads are shown. */
export function describeError(error: unknown, payloads: boolean): string {
  const name =
    error instanceof Error ? error.name : typeof error === "object" && error !== null ? (error.constructor?.name ?? "object") : typeof error;
  if (!payloads) return name;
  const message = error instanceof Error ? error.message : String(error);
  return message === "" ? name : detachedPrefix(`${name}: ${message.slice(0, PREVIEW_CHARS)}`, name.length + 2 + PREVIEW_CHARS);
}
