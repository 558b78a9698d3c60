/**
 * Middleware around a connection's whole life (Nexios' `add_ws_middleware`, Velithon's scope
 * middleware): code before `next()` runs at the upgrade like a guard; `next()` resolves with the
 * connection's outcome once it has closed, so the code after it sees the end (timing, logging,
 * per-connection context torn down). It is a guard underneath: only routes that list it pay for
 * it, and the handshake goes on as soon as the inner guards pass — the middleware's wait for the
 * close runs beside the connection, never in front of it.
 */
import type { ConnectionOutcome } from "../../machines/connection.js";
import type { Guard, GuardContext } from "./guard.js";

/** `next()` lets the connection through and resolves when it has closed; it rejects when an inner guard refused it. */
export type ConnectionMiddleware = (context: GuardContext, next: () => Promise<ConnectionOutcome>) => unknown;

export interface AroundConnectionOptions {
  /**
   * An error the middleware throws after the connection was let through (the handshake is past
   * answering). Default: a process warning, so it is seen and never an unhandled rejection.
   */
  readonly onError?: (error: unknown, context: GuardContext) => void;
}

/** A guard that wraps the handshake and the whole connection: `(context, next) => { …; const outcome = await next(); … }`. */
export function aroundConnection(middleware: ConnectionMiddleware, options: AroundConnectionOptions = {}): Guard {
  const report =
    options.onError ??
    ((error: unknown) => process.emitWarning(`aroundConnection middleware failed after the handshake: ${error instanceof Error ? error.message : String(error)}`));
  return (context, next) =>
    new Promise<void>((resolve, reject) => {
      let admitted = false;
      const life = new Promise<unknown>((run) =>
        run(
          middleware(context, async () => {
            await next();
            admitted = true;
            resolve();
            return context.socket.closed;
          }),
        ),
      );
      life.then(
        // Returned without next(): the guard chain sees no next() and refuses (403), as for any guard.
        () => {
          if (!admitted) resolve();
        },
        (error: unknown) => {
          if (!admitted) reject(error);
          else {
            try {
              report(error, context);
            } catch {
              // A failing reporter must not turn into an unhandled rejection either.
            }
          }
        },
      );
    });
}
