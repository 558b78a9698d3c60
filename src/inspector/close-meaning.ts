/**
 * What a close code means, in words a person reads on the inspector page. Names come from
 * `closeCodeName` (RFC 6455 §7.4 and the IANA registry); the meanings are said here.
 */
import { closeCodeName } from "../wire/close-codes.js";

const meanings: Readonly<Record<number, string>> = {
  1000: "normal closure: the purpose of the connection was fulfilled",
  1001: "going away: the server is shutting down or the client left the page",
  1002: "protocol error: the peer broke the WebSocket protocol",
  1003: "unsupported data: a kind of message the endpoint does not accept",
  1005: "no status: the close frame carried no code",
  1006: "abnormal closure: the connection ended without a close frame",
  1007: "invalid payload: data not consistent with the message type, or failed validation",
  1008: "policy violation: a message broke the endpoint's policy (e.g. rate limit)",
  1009: "message too big to process",
  1010: "mandatory extension: the client needed an extension the server did not negotiate",
  1011: "internal error: the server's handler failed",
  1012: "service restart",
  1013: "try again later: temporary overload",
  1014: "bad gateway: an upstream answered badly",
};

/** `{ name, meaning }` of a close code, e.g. 4000 → `PRIVATE_USE`, "private use: a code the application defines". */
export function describeCloseCode(code: number): { readonly name: string; readonly meaning: string } {
  const name = closeCodeName(code);
  const meaning =
    meanings[code] ??
    (code >= 4000 && code <= 4999
      ? "private use: a code the application defines"
      : code >= 3000 && code <= 3999
        ? "registered for libraries and frameworks"
        : "not a code of the WebSocket protocol");
  return { name, meaning };
}
