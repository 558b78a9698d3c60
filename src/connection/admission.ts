/**
 * Admission, before the handler runs (docs/architecture.md §2): the route's guards, then its
 * dependencies; and what an error raised before accept means on the wire — the close code or
 * HTTP status it names, or a fault of the app's code. The connection applies the verdict.
 */
import { STATUS_CODES } from "node:http";
import type { ConnectionState } from "../../machines/connection.js";
import type { Dependencies } from "../dependencies/provide.js";
import { DependencyScope } from "../dependencies/scope.js";
import type { Interleaving } from "./interleaving.js";
import { isValidCloseCode, truncateReason } from "../wire/close-codes.js";
import { countDependencyAcquired, countDependencyReleased, type Counted } from "./counting.js";
import { statusOf } from "../wire/errors.js";
import type { DependencyEvents } from "../dependencies/scope.js";
import type { AnySocket, ClientAddress } from "./socket.js";
import type { DenialResponse } from "../transport/transport.js";

/** What admission needs of its connection. */
export interface Admitted extends Counted {
  readonly lifecycle: ConnectionState;
  readonly socket: AnySocket;
  readonly client: ClientAddress;
  readonly settings: Counted["settings"] & {
    readonly guards: ((socket: AnySocket) => Promise<void>) | undefined;
    readonly dependencies: Dependencies | undefined;
    readonly dependencyEvents: DependencyEvents;
    readonly interleaving: Interleaving;
  };
  /** Set once the dependencies resolved. */
  dependencies: Readonly<Record<string, unknown>>;
  /** The scope to release after close. */
  adoptScope(scope: DependencyScope): void;
  startHandler(): void;
  /** Answer an error raised before accept (see `refusalOf`). */
  refuse(error: unknown, what: string): void;
}

/** Guards, then dependencies; a refusal answers the handshake. Resolves once admission is decided. */
export async function admit(connection: Admitted): Promise<void> {
  const { guards, dependencies } = connection.settings;
  if (guards !== undefined) {
    try {
      await guards(connection.socket);
    } catch (error) {
      if (connection.lifecycle === "connecting") connection.refuse(error, "guard failed");
      return;
    }
    // A guard may have answered the handshake itself, or the client left meanwhile.
    if (connection.lifecycle !== "connecting") return;
  }
  if (dependencies === undefined) connection.startHandler();
  else resolveDependencies(connection, dependencies);
}

function resolveDependencies(connection: Admitted, dependencies: Dependencies): void {
  const socket = connection.socket;
  const { dependencyEvents } = connection.settings;
  const scope = new DependencyScope(
    dependencies,
    { params: socket.params as Record<string, string | undefined>, query: socket.query as Readonly<Record<string, string>>, headers: socket.headers, cookies: socket.cookies, client: connection.client, socket },
    {
      acquired: (name) => {
        countDependencyAcquired(connection, name);
        dependencyEvents.acquired(name);
      },
      released: (name, error) => {
        countDependencyReleased(connection, name, error);
        dependencyEvents.released(name, error);
      },
    },
    connection.settings.interleaving,
  );
  connection.adoptScope(scope);
  scope.resolveAll().then(
    (resolved) => {
      connection.dependencies = resolved;
      // The client may have left while providers ran; the scope is released at close.
      if (connection.lifecycle === "connecting") connection.startHandler();
    },
    (error: unknown) => {
      if (connection.lifecycle === "connecting") connection.refuse(error, "dependency provider failed");
    },
  );
}

/** The close code an error names (`closeCode`, valid on the wire), e.g. `WebSocketError` or `MessageError`. */
export function closeCodeOf(error: unknown): { code: number; reason: string } | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { closeCode, reason } = error as { closeCode?: unknown; reason?: unknown };
  if (typeof closeCode !== "number" || !isValidCloseCode(closeCode)) return undefined;
  return { code: closeCode, reason: typeof reason === "string" ? truncateReason(reason) : "" };
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** What an error raised before accept calls for. */
export type Refusal =
  | { readonly kind: "close"; readonly code: number; readonly reason: string }
  | { readonly kind: "deny"; readonly denial: DenialResponse }
  /** A fault, not a decision: logged, and answered 500 by the machine. */
  | { readonly kind: "fault" };

const FAULT: Refusal = Object.freeze({ kind: "fault" });

/** The close code or HTTP status `error` names; otherwise it is a fault of the app's code. */
export function refusalOf(error: unknown): Refusal {
  const close = closeCodeOf(error);
  if (close !== undefined) return { kind: "close", code: close.code, reason: close.reason };
  const status = statusOf(error);
  if (status === undefined) return FAULT;
  const { headers, body } = error as { headers?: unknown; body?: unknown };
  return {
    kind: "deny",
    denial: {
      status,
      headers: typeof headers === "object" && headers !== null ? (headers as Record<string, string>) : NO_HEADERS,
      body: typeof body === "string" && body !== "" ? body : (STATUS_CODES[status] ?? ""),
    },
  };
}
