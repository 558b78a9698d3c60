/**
 * A per-client-address limit on new connections: at most `max` handshakes per `windowMs` from
 * one address, the rest refused with 429 and `Retry-After`.
 */
import { HandshakeDenied } from "../wire/errors.js";
import type { Guard } from "./guard.js";

export interface ConnectionRateOptions {
  readonly max: number;
  readonly windowMs: number;
}

export function connectionRate(options: ConnectionRateOptions): Guard {
  const { max, windowMs } = options;
  if (!(max >= 1) || !(windowMs > 0)) throw new RangeError("connectionRate needs max ≥ 1 and windowMs > 0");
  const windows = new Map<string, { count: number; resetAt: number }>();
  let nextSweep = 0;
  return function rateLimitedConnections(context, next) {
    const now = Date.now();
    if (now >= nextSweep) {
      // Forget addresses whose window is over, so the map stays as small as the active set.
      for (const [address, window] of windows) if (window.resetAt <= now) windows.delete(address);
      nextSweep = now + windowMs;
    }
    const address = context.client.host;
    let window = windows.get(address);
    if (window === undefined || window.resetAt <= now) {
      window = { count: 0, resetAt: now + windowMs };
      windows.set(address, window);
    }
    window.count++;
    if (window.count > max) {
      const retryAfter = Math.max(1, Math.ceil((window.resetAt - now) / 1000));
      throw new HandshakeDenied(429, "Too many connections", { "Retry-After": String(retryAfter) });
    }
    return next();
  };
}
