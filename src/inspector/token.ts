/**
 * The inspector's access check: with a token set, the page and its feed answer only requests
 * that present it, as `?token=` (what a browser can do for a page and a WebSocket) or as
 * `Authorization: Bearer …`. Compared in constant time.
 */
import { createHash, timingSafeEqual } from "node:crypto";

const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();

/** The token a request presents: the `Authorization: Bearer` header's, else the `token` query parameter's. */
export function presentedToken(authorization: string | null | undefined, queryToken: string | undefined): string | undefined {
  const bearer = /^Bearer\s+(.+)$/i.exec(authorization ?? "")?.[1]?.trim();
  return bearer ?? queryToken;
}

/** `"ok"`, 401 when a token is needed and none was presented, 403 when the one presented is wrong. */
export function checkToken(expected: string | undefined, presented: string | undefined): "ok" | 401 | 403 {
  if (expected === undefined) return "ok";
  if (presented === undefined || presented === "") return 401;
  return timingSafeEqual(digest(expected), digest(presented)) ? "ok" : 403;
}

/** Headers of a 401 answer. */
export const CHALLENGE = { "WWW-Authenticate": 'Bearer realm="statewire inspector"' } as const;
