/**
 * What the inspector's feed sends to its page, as JSON: the types here are the whole protocol.
 * Payloads appear only when the inspector was created with `payloads: true`; otherwise messages
 * are sizes only, and handler errors only their class name.
 */
import type { StatsSnapshot } from "../app/stats.js";
import type { CloseInitiator, ConnectionState } from "../../machines/connection.js";
import type { HandlerMachineDiagram } from "./handler-diagram.js";

/** One line of a connection's timeline; `seq` orders every entry of the hub, `at` is `Date.now()`. */
export type TimelineEntry = { readonly seq: number; readonly at: number } & (
  | { readonly kind: "start"; readonly url: string }
  /** A transition of the connection machine, as the runtime reported it. */
  | { readonly kind: "transition"; readonly event: string; readonly from: ConnectionState; readonly to: ConnectionState }
  | { readonly kind: "in" | "out"; readonly size: number; readonly binary: boolean; readonly preview?: string }
  | { readonly kind: "dropped"; readonly size: number }
  | { readonly kind: "handler"; readonly what: "started" | "finished" }
  | { readonly kind: "handlerError"; readonly error: string }
  | { readonly kind: "dependency"; readonly what: "acquired" | "released"; readonly name: string; readonly failed?: boolean }
  | { readonly kind: "channel"; readonly what: "subscribed" | "unsubscribed"; readonly channel: string }
  /** A transition of the route's handler machine (`websocketMachine`); `from` is "" when it started. */
  | { readonly kind: "machine"; readonly event: string; readonly from: string; readonly to: string }
  | ({ readonly kind: "close" } & CloseSummary)
);

export interface CloseSummary {
  readonly code: number;
  /** `closeCodeName(code)`, e.g. `NORMAL_CLOSURE`, `PRIVATE_USE`. */
  readonly codeName: string;
  /** What the code means, in words. */
  readonly meaning: string;
  readonly reason: string;
  readonly initiator: CloseInitiator;
  readonly wasClean: boolean;
  /** The HTTP status when the handshake was refused. */
  readonly rejectedStatus?: number;
}

/** A connection as a row of the page's tables. */
export interface ConnectionRow {
  readonly id: number;
  /** The route's path pattern, e.g. `/rooms/:room`. */
  readonly route: string;
  /** The request target, query string removed (it may carry secrets). */
  readonly path: string;
  /** `host:port` of the client. */
  readonly client: string;
  readonly state: ConnectionState;
  readonly startedAt: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly dropped: number;
  readonly errors: number;
  /** On a machine route: the key of its handler machine's diagram (sent in a `machines` message) and its current state. */
  readonly machine?: string;
  readonly machineState?: string;
  /** The node:cluster worker holding it; absent outside a cluster worker. */
  readonly worker?: number;
  /** Set once the connection has closed. */
  readonly closedAt?: number;
  readonly close?: CloseSummary;
}

export type StateCounts = Readonly<Record<ConnectionState, number>>;

/** Server → page. */
export type FeedMessage =
  | {
      readonly type: "hello";
      readonly now: number;
      readonly payloads: boolean;
      readonly limits: { readonly timeline: number; readonly closed: number };
    }
  | {
      readonly type: "update";
      readonly now: number;
      /** Whether this replaces everything the page had (the first update) or changes it. */
      readonly full: boolean;
      /** Live connections that are new or changed. */
      readonly live: readonly ConnectionRow[];
      /** Ids no longer live (closed, or never listed because they closed first). */
      readonly gone: readonly number[];
      /** Recently closed connections that are new to the page, newest last. */
      readonly closed: readonly ConnectionRow[];
      /** Ids that fell out of the bounded closed list. */
      readonly forgotten: readonly number[];
      /** Live connections by state; `closed` counts every connection closed since the app started. */
      readonly counts: StateCounts;
      /** Pages watching right now (their feed connections are not listed). */
      readonly viewers: number;
      /** The app's health (`app.stats().health`): a plugin's backend that is down (Redis) shows here. */
      readonly health?: StatsSnapshot["health"];
    }
  | { readonly type: "machines"; readonly machines: readonly MachineDrawing[] }
  | {
      readonly type: "timeline";
      readonly id: number;
      /** True when `entries` replace the page's timeline for `id` (a new selection). */
      readonly reset: boolean;
      readonly entries: readonly TimelineEntry[];
      /** Entries of this connection the bounded timeline no longer holds. */
      readonly evicted: number;
      /** False when the hub no longer knows the connection. */
      readonly known: boolean;
    };

/** A handler machine's diagram, sent once per viewer before the first row that refers to it. */
export interface MachineDrawing {
  readonly key: string;
  readonly id: string;
  /** Drawn on the server from the machine's definition. */
  readonly svg: string;
  readonly diagram: HandlerMachineDiagram;
}

/** Page → server. */
export type ViewerMessage = { readonly type: "select"; readonly id: number | null };
