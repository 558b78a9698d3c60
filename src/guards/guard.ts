/**
 * Guards and middleware: functions that run at the upgrade, before accept, on the app, group
 * and route layers (outermost first). Koa-style: `(context, next)`. A guard lets the connection
 * through by calling `next()`; it refuses by throwing (an error naming an HTTP status, or a
 * `WebSocketError` close code) or by calling `context.socket.reject()` / `close()`. A guard that
 * returns without either is a refusal (403): forgetting `next()` must not open a door.
 */
import type { IncomingHttpHeaders } from "node:http";
import { HandshakeDenied } from "../wire/errors.js";
import type { AnySocket, ClientAddress } from "../connection/socket.js";
import { SocketView } from "../connection/socket-view.js";

export interface GuardContext {
  /** The connection's socket, not yet accepted. */
  readonly socket: AnySocket;
  readonly params: object;
  readonly query: Readonly<Record<string, string>>;
  /** Request headers; read by any spelling of the name (`headers["Authorization"]`). */
  readonly headers: IncomingHttpHeaders;
  /** One request header by name, in any case; repeated values joined with `", "`. */
  header(name: string): string | undefined;
  readonly cookies: Readonly<Record<string, string>>;
  readonly client: ClientAddress;
  /** The connection's per-connection state (`socket.state`): what a guard learns, handlers read. */
  readonly state: Record<string, unknown>;
}

export type Guard = (context: GuardContext, next: () => Promise<void>) => unknown;

/** A guard sees more of the handshake than a handler context does: headers, cookies, client, state. */
class GuardView extends SocketView implements GuardContext {
  get headers(): IncomingHttpHeaders {
    return this.socket.headers;
  }
  header(name: string): string | undefined {
    return this.socket.header(name);
  }
  get cookies(): Readonly<Record<string, string>> {
    return this.socket.cookies;
  }
  get client(): ClientAddress {
    return this.socket.client;
  }
  get state(): Record<string, unknown> {
    return this.socket.state as Record<string, unknown>;
  }
}

/**
 * One function running `guards` in order. Resolves when every guard let the connection through;
 * rejects with the refusal otherwise. Stops quietly when a guard closed or rejected the socket.
 */
export function composeGuards(guards: readonly Guard[]): (socket: AnySocket) => Promise<void> {
  return async (socket) => {
    const context = new GuardView(socket);
    let reached = -1;
    const run = async (index: number): Promise<void> => {
      if (index <= reached) throw new Error("A guard called next() more than once");
      reached = index;
      const guard = guards[index];
      if (guard === undefined) return;
      let passed = false;
      await guard(context, () => {
        passed = true;
        return run(index + 1);
      });
      if (!passed && socket.lifecycle === "connecting") {
        throw new HandshakeDenied(403, `Forbidden: guard ${guard.name === "" ? `#${index + 1}` : `"${guard.name}"`} did not let the connection through`);
      }
    };
    await run(0);
  };
}
