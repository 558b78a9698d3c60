/**
 * Bearer-token authentication at the handshake: the token from `Authorization: Bearer …` or
 * from a query parameter (browsers cannot set headers on a WebSocket), verified by the app, the
 * result stored in `socket.state`.
 */
import { HandshakeDenied, WebSocketError } from "../wire/errors.js";
import type { Guard, GuardContext } from "./guard.js";

export interface BearerTokenOptions<User, Key extends string = "user"> {
  /** The user for a token, or `undefined` when it is not valid. */
  readonly verify: (token: string, context: GuardContext) => User | undefined | Promise<User | undefined>;
  /** A query parameter that may carry the token, e.g. `"token"`. Default: header only. */
  readonly queryParameter?: string;
  /** Where in `socket.state` the user goes. Default `"user"`. */
  readonly stateKey?: Key;
  /**
   * How to refuse: `"http"` (default: 401 with `WWW-Authenticate: Bearer`) or a close code
   * (the handshake completes, then closes with it: what browsers can read), e.g. 4001.
   */
  readonly refuseWith?: "http" | number;
}

/** A guard storing the verified user in `socket.state[stateKey]`: handlers of its route see it typed. */
export function bearerToken<User, Key extends string = "user">(options: BearerTokenOptions<User, Key>): Guard<{ readonly [K in Key]: User }> {
  const { verify, queryParameter, stateKey = "user", refuseWith = "http" } = options;
  const refuse = (reason: string): Error =>
    refuseWith === "http"
      ? new HandshakeDenied(401, reason, { "WWW-Authenticate": "Bearer" })
      : new WebSocketError(refuseWith, reason);
  return async function bearer(context, next) {
    const header = context.headers.authorization;
    const fromHeader = header === undefined ? undefined : bearerCredentials(header);
    const token = fromHeader ?? (queryParameter === undefined ? undefined : context.query[queryParameter]);
    if (token === undefined || token === "") throw refuse("Missing token");
    const user = await verify(token, context);
    if (user === undefined) throw refuse("Invalid token");
    context.state[stateKey] = user;
    await next();
  };
}

/** The token of an `Authorization: Bearer <token>` header; the scheme is case-insensitive (RFC 7235 §2.1). */
function bearerCredentials(header: string): string | undefined {
  const match = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match === null ? undefined : match[1];
}
