/**
 * Which host names an inspector without a token answers. A same-origin check alone does not stop
 * DNS rebinding: a page of `attacker.example` whose name was made to resolve to 127.0.0.1 is
 * same-origin with `Host: attacker.example`. So without a token only names that cannot be
 * rebound are answered — loopback (127.0.0.0/8, ::1, localhost) — and the names the app lists.
 */
import { isIPv4, isIPv6 } from "node:net";

const HOST = /^(?:\[([^\]]*)\]|([^:[\]]*))(?::(\d{1,5}))?$/;

/** The host name of a `Host` header (lower case, IPv6 without brackets), or undefined when it is malformed. */
function hostName(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = HOST.exec(header);
  if (match === null) return undefined;
  const name = (match[1] ?? match[2] ?? "").toLowerCase();
  if (name === "") return undefined;
  if (match[1] !== undefined && !isIPv6(name)) return undefined;
  return name;
}

function isLoopback(name: string): boolean {
  if (name === "localhost") return true;
  if (isIPv4(name)) return name.startsWith("127.");
  return isIPv6(name) && (name === "::1" || name === "0:0:0:0:0:0:0:1");
}

/** Whether a `Host` header names loopback or one of `allowedHosts` (host names, any port, case-insensitive). */
export function hostAllowed(header: string | undefined, allowedHosts: readonly string[]): boolean {
  const name = hostName(header);
  if (name === undefined) return false;
  return isLoopback(name) || allowedHosts.some((allowed) => allowed.toLowerCase() === name);
}

/** Whether a browser's `Origin` names the host the request went to; a request without one (not a browser) passes. */
export function originMatchesHost(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  if (host === undefined) return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

/** The body of the 403 for a host name that is neither loopback nor allowed. */
export const REFUSED_HOST = "Forbidden: this inspector has no token, so it answers only loopback host names and its allowedHosts";
