/**
 * The one place where what a client says about its request — the request target and the
 * `Host` header — is parsed, for HTTP requests and upgrades alike. It never throws: a request
 * that does not parse is answered 400 by the caller, before any route or handler sees it.
 *
 * Paths are normalised once, the same way for both protocols: runs of `/` are one `/`; a `.` or
 * `..` segment (also percent-encoded) and a backslash are refused rather than resolved, so no
 * two spellings of a path reach different routes, and no route sees a path it was not written for.
 */

/** A request whose metadata parsed. */
export interface RequestMeta {
  /** The normalised path and query (`/chat/lobby?x=1`): what routes match, and what handlers see. */
  readonly target: string;
  /** The `Host` header, checked to be a URL authority; `localhost` when the request had none. */
  readonly host: string;
}

/** Why a request's metadata did not parse: the 400 response's body. */
export interface RequestMetaProblem {
  readonly problem: string;
}

/** Dot segments, doubled slashes, backslashes: anything that sends a path to the slow path. */
const NEEDS_NORMALISING = /\/\/|\/\.|%2e|\\/i;
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;
/** Controls and spaces: node's parser refuses them, but other transports may not, and the URL parser silently drops tabs and newlines (`/\t/x` would become `//x`, another host). */
const CONTROL = /[\x00-\x20\x7f]/;

/** Hosts seen valid lately: nearly every request repeats one of a few. Bounded. */
const validHosts = new Set<string>();
const MAX_REMEMBERED_HOSTS = 64;

/**
 * The request target and `Host` of one request, parsed; a problem when the target is not a
 * path (`*`, absolute-form, dot segments) or the host is not a URL authority.
 */
export function parseRequestMeta(rawTarget: string | undefined, rawHost: string | undefined): RequestMeta | RequestMetaProblem {
  const target = normaliseTarget(rawTarget ?? "/");
  if (target === undefined) return { problem: "Invalid request target" };
  if (rawHost === undefined) return { target, host: "localhost" };
  if (!validHosts.has(rawHost)) {
    if (!isAuthority(rawHost)) return { problem: "Invalid Host header" };
    if (validHosts.size >= MAX_REMEMBERED_HOSTS) validHosts.clear();
    validHosts.add(rawHost);
  }
  return { target, host: rawHost };
}

export function isProblem(meta: RequestMeta | RequestMetaProblem): meta is RequestMetaProblem {
  return (meta as RequestMetaProblem).problem !== undefined;
}

/** `/path?query` with the path normalised, or `undefined` when it is not an origin-form target. */
export function normaliseTarget(raw: string): string | undefined {
  if (raw.charCodeAt(0) !== 0x2f /* / */ || CONTROL.test(raw)) return undefined;
  const queryAt = raw.indexOf("?");
  const fragmentAt = raw.indexOf("#");
  const pathEnd = Math.min(queryAt < 0 ? raw.length : queryAt, fragmentAt < 0 ? raw.length : fragmentAt);
  // A fragment is never sent by a conforming client; drop it as the URL parser would.
  const query = queryAt < 0 || (fragmentAt >= 0 && fragmentAt < queryAt) ? "" : raw.slice(queryAt, fragmentAt < 0 ? raw.length : fragmentAt);
  const path = raw.slice(0, pathEnd);
  if (!NEEDS_NORMALISING.test(path)) return pathEnd === raw.length ? raw : path + query;
  if (path.includes("\\")) return undefined;
  const segments: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "") continue;
    if (DOT_SEGMENT.test(segment)) return undefined;
    segments.push(segment);
  }
  const trailing = segments.length > 0 && path.endsWith("/") ? "/" : "";
  return `/${segments.join("/")}${trailing}${query}`;
}

/** Whether `host` is what a URL's authority may be (`name`, `name:port`, `[v6]:port`), as the URL parser decides. */
function isAuthority(host: string): boolean {
  // The URL parser would take these as the end of the authority or as credentials.
  if (host === "" || /[\s/\\?#@]/.test(host)) return false;
  try {
    const url = new URL(`http://${host}/`);
    // The parser accepts what it can repair; an authority must come back as it was sent (case aside).
    const port = url.port === "" ? "" : `:${url.port}`;
    return url.username === "" && url.password === "" && `${url.hostname}${port}`.toLowerCase() === withoutDefaultPort(host).toLowerCase();
  } catch {
    return false;
  }
}

function withoutDefaultPort(host: string): string {
  return host.endsWith(":80") ? host.slice(0, -3) : host;
}
