/**
 * WebSocket close codes (RFC 6455 §7.4, IANA "WebSocket Close Code Number Registry").
 */

/** Close codes with their registered names. */
export const CloseCode = {
  /** The purpose of the connection has been fulfilled. */
  NORMAL_CLOSURE: 1000,
  /** The server is going down, or a browser navigated away. */
  GOING_AWAY: 1001,
  /** The peer broke the protocol. */
  PROTOCOL_ERROR: 1002,
  /** A kind of data the endpoint cannot accept (e.g. binary where only text is understood). */
  UNSUPPORTED_DATA: 1003,
  /** Reserved: the close frame carried no status. Never sent. */
  NO_STATUS_RECEIVED: 1005,
  /** Reserved: the connection ended without a close frame. Never sent. */
  ABNORMAL_CLOSURE: 1006,
  /** Data inconsistent with the message type (e.g. invalid UTF-8, or a payload that fails validation). */
  INVALID_PAYLOAD: 1007,
  /** A message violated the endpoint's policy. */
  POLICY_VIOLATION: 1008,
  /** A message too big to process. */
  MESSAGE_TOO_BIG: 1009,
  /** The client expected an extension the server did not negotiate. */
  MANDATORY_EXTENSION: 1010,
  /** The server met an unexpected condition. */
  INTERNAL_ERROR: 1011,
  /** The server is restarting. */
  SERVICE_RESTART: 1012,
  /** Temporary overload: try again later. */
  TRY_AGAIN_LATER: 1013,
  /** A gateway or proxy got an invalid response upstream. */
  BAD_GATEWAY: 1014,
} as const;

export type CloseCodeName = keyof typeof CloseCode;

/** Longest close reason, in UTF-8 bytes: a control frame carries at most 125 bytes, 2 of them the code. */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * Whether `code` may appear in a close frame: 1000–1003, 1007–1014, or 3000–4999 (registered
 * and private-use codes). 1004, 1005, 1006 and 1015 are reserved and never sent.
 */
export function isValidCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999))
  );
}

/**
 * Throws a `RangeError` naming the problem when `code` or `reason` cannot go in a close frame;
 * called where the user closes, so the error points at their line.
 */
export function assertCloseFrame(code: number, reason: string): void {
  if (!isValidCloseCode(code)) {
    throw new RangeError(
      `Invalid close code ${String(code)}: use 1000-1003, 1007-1014 or 3000-4999 (RFC 6455 §7.4); 1005 and 1006 are reserved and never sent`,
    );
  }
  const bytes = Buffer.byteLength(reason, "utf8");
  if (bytes > MAX_CLOSE_REASON_BYTES) {
    throw new RangeError(`Close reason is ${bytes} bytes of UTF-8; at most ${MAX_CLOSE_REASON_BYTES} fit in a close frame`);
  }
}

const names = new Map<number, string>(Object.entries(CloseCode).map(([name, code]) => [code, name]));

/** The registered name of a close code, e.g. `"GOING_AWAY"`; private codes read `"PRIVATE_USE"`, unknown ones `"UNKNOWN"`. */
export function closeCodeName(code: number): string {
  return names.get(code) ?? (code >= 4000 && code <= 4999 ? "PRIVATE_USE" : code >= 3000 && code <= 3999 ? "REGISTERED" : "UNKNOWN");
}

/** `reason` cut to fit a close frame (123 bytes of UTF-8), on a character boundary, with "…" when cut. */
export function truncateReason(reason: string): string {
  if (Buffer.byteLength(reason, "utf8") <= MAX_CLOSE_REASON_BYTES) return reason;
  let cut = "";
  let bytes = 3; // the ellipsis
  for (const character of reason) {
    bytes += Buffer.byteLength(character, "utf8");
    if (bytes > MAX_CLOSE_REASON_BYTES) break;
    cut += character;
  }
  return cut + "…";
}
