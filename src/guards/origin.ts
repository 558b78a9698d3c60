/**
 * Cross-site WebSocket hijacking protection: browsers send `Origin` with every handshake and
 * carry the user's cookies along, so a page on another site could otherwise open an
 * authenticated socket. Requests without `Origin` are not from a browser page and pass.
 */
import { HandshakeDenied } from "../wire/errors.js";
import type { Guard } from "./guard.js";

export type OriginPolicy = readonly string[] | ((origin: string) => boolean);

/** A guard refusing (403) handshakes whose `Origin` is not allowed. Origins compare exactly, e.g. `"https://app.example.com"`. */
export function allowOrigins(policy: OriginPolicy): Guard {
  const allowed = typeof policy === "function" ? policy : ((set) => (origin: string) => set.has(origin))(new Set(policy));
  return function allowedOrigin(context, next) {
    const origin = context.headers.origin;
    if (origin !== undefined && !allowed(origin)) throw new HandshakeDenied(403, "Origin not allowed");
    return next();
  };
}
