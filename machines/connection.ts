/**
 * The lifecycle every statewire connection follows (docs/architecture.md §2, §4).
 *
 *   connecting ──accept──▶ open ──close / peerClose / handlerDone / handlerError / protocolError──▶ closing ──▶ closed
 *        │                   └──────────── heartbeatTimeout / transportClosed ──────────────────────────────▶ │
 *        └──────────── reject / transportClosed / handshakeTimeout ──────────────────────────────────────────▶ │
 *
 * The machine is pure: no timers, no invoked actors, no I/O. Timeouts arrive as events sent by
 * runtime timers, and every side effect is a named action whose implementation the runtime
 * supplies once per app with `connectionMachine.provide(...)`. Data frames never pass through
 * here (they go straight to the handler actor); the machine only sees what changes the lifecycle.
 */
import { assign, setup } from "xstate";
import { CloseCode } from "../src/wire/close-codes.js";

/** Who started the end of a connection. */
export type CloseInitiator = "server" | "client" | "transport";

/** What a connection ended with: the machine's output, and what `onDisconnect` hooks receive. */
export interface ConnectionOutcome {
  /** The close code: sent or received in a close frame, 1005 when the peer's frame had none, 1006 when there was no close frame. */
  readonly code: number;
  /** The close reason (empty when there was none). */
  readonly reason: string;
  /** True when both close frames were exchanged before the transport ended. */
  readonly wasClean: boolean;
  readonly initiator: CloseInitiator;
  /** The HTTP status when the handshake was refused; the connection then never opened. */
  readonly rejectedStatus?: number;
}

/** The outcome a context describes; the machine's output, and what `releaseResources` is given. */
export function outcomeOf(context: ConnectionContext): ConnectionOutcome {
  const { code, reason, wasClean, initiator, rejectedStatus } = context;
  return rejectedStatus === undefined
    ? { code, reason, wasClean, initiator }
    : { code, reason, wasClean, initiator, rejectedStatus };
}

export interface ConnectionContext {
  code: number;
  reason: string;
  initiator: CloseInitiator;
  wasClean: boolean;
  rejectedStatus: number | undefined;
}

/** Lifecycle events; frames are not among them. */
export type ConnectionEvent =
  /** The server accepts the handshake (the 101 response goes out). */
  | { type: "accept" }
  /** The server refuses the handshake with an HTTP status; no WebSocket is ever opened. */
  | { type: "reject"; status: number }
  /** The server closes; before accept this completes the handshake first, so browsers see the code. */
  | { type: "close"; code: number; reason: string }
  /** A close frame came from the peer (code 1005 when it carried none). */
  | { type: "peerClose"; code: number; reason: string }
  /** The handler's work ended normally without closing. */
  | { type: "handlerDone" }
  /** The app's code for this connection (handler, guard, provider) failed; the error is logged, never put on the wire. */
  | { type: "handlerError" }
  /** The transport failed the connection (1002, 1007, 1009) and sent that close frame itself. */
  | { type: "protocolError"; code: number; reason: string }
  /** The underlying transport ended; `wasClean` when the close handshake completed. */
  | { type: "transportClosed"; code: number; reason: string; wasClean: boolean }
  /** Runtime timer: the handshake took too long. */
  | { type: "handshakeTimeout" }
  /** Runtime timer: the peer did not answer a ping in time. */
  | { type: "heartbeatTimeout" }
  /** Runtime timer: the peer did not complete the close handshake in time. */
  | { type: "closeTimeout" }
  /** The server gives up on a closing connection (shutdown drain timeout): destroy the transport. */
  | { type: "terminate" };

export type ConnectionEventType = ConnectionEvent["type"];

/** The statechart's states, in the order a connection moves through them. */
export const connectionStates = ["connecting", "open", "closing", "closed"] as const;
export type ConnectionState = (typeof connectionStates)[number];

const { NORMAL_CLOSURE, ABNORMAL_CLOSURE, INTERNAL_ERROR } = CloseCode;

/**
 * The machine's context updates as plain functions of their params: the `record*` actions
 * below are these, wrapped in `assign`. Exported so a compiled runner of this same definition
 * (the compiled table in src/connection/lifecycle.ts) applies exactly the same updates.
 */
export const contextUpdates = {
  recordServerClose: (params: { code: number; reason: string }): Partial<ConnectionContext> => ({
    code: params.code,
    reason: params.reason,
    initiator: "server",
  }),
  recordPeerClose: (params: { code: number; reason: string }): Partial<ConnectionContext> => ({
    code: params.code,
    reason: params.reason,
    initiator: "client",
  }),
  recordRejection: (params: { status: number }): Partial<ConnectionContext> => ({
    rejectedStatus: params.status,
    initiator: "server",
  }),
  recordAbnormalEnd: (params: { initiator: CloseInitiator }): Partial<ConnectionContext> => ({
    code: ABNORMAL_CLOSURE,
    reason: "",
    wasClean: false,
    initiator: params.initiator,
  }),
  recordTransportEnd: (params: { wasClean: boolean }): Partial<ConnectionContext> => ({ wasClean: params.wasClean }),
};

/** The initial context of every connection. */
export const initialContext: ConnectionContext = {
  code: ABNORMAL_CLOSURE,
  reason: "",
  initiator: "transport",
  wasClean: false,
  rejectedStatus: undefined,
};

export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
    output: {} as ConnectionOutcome,
  },
  actions: {
    // Side effects: the runtime provides the implementations (src/connection/lifecycle.ts).
    /** Write the 101 Switching Protocols response. */
    completeHandshake: () => {},
    /** Write the HTTP denial response and end the transport. */
    sendHttpDenial: (_, _params: { status: number }) => {},
    /** Send a close frame with the recorded code and reason. */
    sendCloseFrame: (_, _params: { code: number; reason: string }) => {},
    /** Destroy the transport without a close handshake. */
    terminateTransport: () => {},
    /** Tell the handler its peer is gone: pending receives end, stream signals abort. */
    signalDisconnect: () => {},
    /** Start the clock on the close handshake: whoever began it, the peer gets `closeTimeout` to finish it. */
    armCloseTimeout: () => {},
    /** Run cleanup (hooks, dependencies, subscriptions); reached exactly once, on entering `closed`. */
    releaseResources: () => {},

    recordServerClose: assign((_, params: { code: number; reason: string }) => contextUpdates.recordServerClose(params)),
    recordPeerClose: assign((_, params: { code: number; reason: string }) => contextUpdates.recordPeerClose(params)),
    recordRejection: assign((_, params: { status: number }) => contextUpdates.recordRejection(params)),
    recordAbnormalEnd: assign((_, params: { initiator: CloseInitiator }) => contextUpdates.recordAbnormalEnd(params)),
    recordTransportEnd: assign((_, params: { wasClean: boolean }) => contextUpdates.recordTransportEnd(params)),
  },
}).createMachine({
  id: "connection",
  initial: "connecting",
  context: { ...initialContext },
  output: ({ context }) => outcomeOf(context),
  states: {
    connecting: {
      on: {
        accept: { target: "open", actions: "completeHandshake" },
        reject: {
          target: "closed",
          actions: [
            { type: "recordRejection", params: ({ event }) => ({ status: event.status }) },
            { type: "sendHttpDenial", params: ({ event }) => ({ status: event.status }) },
          ],
        },
        // A close before accept completes the handshake first: browsers can see close codes but never handshake statuses.
        close: {
          target: "closing",
          actions: [
            { type: "recordServerClose", params: ({ event }) => event },
            "completeHandshake",
            { type: "sendCloseFrame", params: ({ event }) => event },
          ],
        },
        // The handler ended without accepting: nobody will ever accept this handshake.
        handlerDone: {
          target: "closed",
          actions: [
            { type: "recordRejection", params: { status: 403 } },
            { type: "sendHttpDenial", params: { status: 403 } },
          ],
        },
        handlerError: {
          target: "closed",
          actions: [
            { type: "recordRejection", params: { status: 500 } },
            { type: "sendHttpDenial", params: { status: 500 } },
          ],
        },
        transportClosed: {
          target: "closed",
          actions: { type: "recordAbnormalEnd", params: { initiator: "transport" } },
        },
        handshakeTimeout: {
          target: "closed",
          actions: [{ type: "recordAbnormalEnd", params: { initiator: "server" } }, "terminateTransport"],
        },
      },
    },
    open: {
      on: {
        close: {
          target: "closing",
          actions: [
            { type: "recordServerClose", params: ({ event }) => event },
            { type: "sendCloseFrame", params: ({ event }) => event },
          ],
        },
        handlerDone: {
          target: "closing",
          actions: [
            { type: "recordServerClose", params: { code: NORMAL_CLOSURE, reason: "" } },
            { type: "sendCloseFrame", params: { code: NORMAL_CLOSURE, reason: "" } },
          ],
        },
        handlerError: {
          target: "closing",
          actions: [
            { type: "recordServerClose", params: { code: INTERNAL_ERROR, reason: "Internal error" } },
            { type: "sendCloseFrame", params: { code: INTERNAL_ERROR, reason: "Internal error" } },
          ],
        },
        // The transport answers the peer's close frame itself (RFC 6455 §5.5.1).
        peerClose: {
          target: "closing",
          actions: { type: "recordPeerClose", params: ({ event }) => event },
        },
        // The transport already sent the close frame when it failed the connection.
        protocolError: {
          target: "closing",
          actions: { type: "recordServerClose", params: ({ event }) => event },
        },
        heartbeatTimeout: {
          target: "closed",
          actions: [{ type: "recordAbnormalEnd", params: { initiator: "server" } }, "terminateTransport"],
        },
        transportClosed: {
          target: "closed",
          actions: { type: "recordAbnormalEnd", params: { initiator: "transport" } },
        },
      },
    },
    closing: {
      entry: ["signalDisconnect", "armCloseTimeout"],
      on: {
        transportClosed: {
          target: "closed",
          actions: { type: "recordTransportEnd", params: ({ event }) => ({ wasClean: event.wasClean }) },
        },
        closeTimeout: {
          target: "closed",
          actions: [{ type: "recordTransportEnd", params: { wasClean: false } }, "terminateTransport"],
        },
        terminate: {
          target: "closed",
          actions: [{ type: "recordTransportEnd", params: { wasClean: false } }, "terminateTransport"],
        },
        // Further closes, handler endings and the peer's answering close frame change nothing now.
      },
    },
    closed: {
      type: "final",
      entry: ["signalDisconnect", "releaseResources"],
    },
  },
});

export type ConnectionMachine = typeof connectionMachine;
