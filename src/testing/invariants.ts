/**
 * The invariants of docs/architecture.md §4 as checks over a run, usable on any app:
 *
 *  1. every connection that starts reaches `closed`, exactly once, in bounded time;
 *  2. every handler finishes exactly once; every dependency is released and every channel
 *     subscription ended exactly once, and never one that was not made; a user's ledger balances;
 *  3. no frame leaves after the close frame;
 *  4. every close code sent is valid (RFC 6455 §7.4) with a reason of at most 123 bytes;
 *  5. a handler error closes only its own connection (1011), and — unless expected — there is none;
 *  6. messages reach the server in the order sent.
 */
import { isValidCloseCode, MAX_CLOSE_REASON_BYTES } from "../wire/close-codes.js";
import type { ConnectionRecord, ResourceLedger } from "./probe.js";
import type { FlowOutcome, RunResult } from "./run.js";

export interface Violation {
  /** The invariant's name, e.g. `"closes-once"`. */
  readonly invariant: string;
  /** The connection it concerns (its request URL), when it concerns one. */
  readonly connection: string | undefined;
  readonly detail: string;
}

export interface InvariantOptions {
  /** Resources the app tracks itself; each kind must balance. */
  readonly ledger?: ResourceLedger;
  /** Handler errors are part of the app's contract (e.g. a route that throws on purpose); default false. */
  readonly allowHandlerErrors?: boolean;
}

const where = (record: ConnectionRecord): string => record.info.url;

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function isPrefix(prefix: readonly { size: number; isBinary: boolean }[], whole: readonly { size: number; isBinary: boolean }[]): boolean {
  return prefix.length <= whole.length && prefix.every((item, i) => item.size === whole[i]!.size && item.isBinary === whole[i]!.isBinary);
}

export function checkInvariants(result: RunResult, options: InvariantOptions = {}): Violation[] {
  const violations: Violation[] = [];
  const add = (invariant: string, connection: string | undefined, detail: string): void => void violations.push({ invariant, connection, detail });

  for (const record of result.probe.connections.values()) {
    const at = where(record);
    if (record.outcomes.length !== 1) {
      add("closes-once", at, `reached closed ${record.outcomes.length} times (state now ${record.state})`);
    }
    if (record.handlerFinishes !== record.handlerStarts) {
      add("handler-finishes", at, `handler started ${record.handlerStarts}×, finished ${record.handlerFinishes}× (still running after close?)`);
    }
    const acquired = [...record.acquired].sort();
    const released = [...record.released].sort();
    if (acquired.join("\n") !== released.join("\n")) {
      add("dependencies-released-once", at, `acquired [${acquired.join(", ")}], released [${released.join(", ")}]`);
    }
    const subscribed = [...record.subscribed].sort();
    const unsubscribed = [...record.unsubscribed].sort();
    if (subscribed.join("\n") !== unsubscribed.join("\n")) {
      add("unsubscribed-once", at, `subscribed to [${subscribed.join(", ")}], unsubscribed from [${unsubscribed.join(", ")}]`);
    }
    if (record.sentAfterClose > 0) {
      add("no-frame-after-close", at, `${record.sentAfterClose} frame(s) sent after the connection began closing`);
    }
    for (const outcome of record.outcomes) {
      const sentByServer = outcome.initiator === "server" && outcome.code !== 1006;
      if (sentByServer && !isValidCloseCode(outcome.code)) add("valid-close-code", at, `server closed with invalid code ${outcome.code}`);
      if (Buffer.byteLength(outcome.reason, "utf8") > MAX_CLOSE_REASON_BYTES) {
        add("valid-close-code", at, `close reason of ${Buffer.byteLength(outcome.reason, "utf8")} bytes`);
      }
      if (outcome.code === 1011 && outcome.initiator === "server" && record.handlerErrors.length === 0) {
        add("errors-isolated", at, "closed with 1011 although its own handler did not fail");
      }
    }
    if (options.allowHandlerErrors !== true) {
      for (const error of record.handlerErrors) add("no-handler-errors", at, `handler threw ${describeError(error)}`);
    }
  }

  for (const outcome of result.outcomes) checkClient(outcome, result, add);

  if (!result.settled) add("bounded-time", undefined, "connections did not all close, finish and release within the settle time");
  for (const { kind, outstanding } of options.ledger?.unbalanced() ?? []) {
    add("resources-balance", undefined, `${outstanding} "${kind}" ${outstanding > 0 ? "never released" : "released more than acquired"}`);
  }
  return violations;
}

function checkClient(outcome: FlowOutcome, result: RunResult, add: (invariant: string, connection: string | undefined, detail: string) => void): void {
  if (outcome.error !== undefined) add("client", outcome.flow.path, outcome.error);
  const closed = outcome.closed;
  if (closed !== undefined && !isValidCloseCode(closed.code) && closed.code !== 1005 && closed.code !== 1006) {
    add("valid-close-code", outcome.flow.path, `client saw close code ${closed.code}`);
  }
  const record = result.probe.byTag(outcome.tag);
  if (record !== undefined && !isPrefix(record.received, outcome.sent)) {
    add("order", where(record), `server received ${JSON.stringify(record.received)}, client sent ${JSON.stringify(outcome.sent)}`);
  }
}

/** An error listing every violation; thrown by `assertInvariants` so fast-check can shrink the flow that caused it. */
export class InvariantViolation extends Error {
  override readonly name = "InvariantViolation";
  constructor(readonly violations: readonly Violation[]) {
    super(
      `${violations.length} invariant violation(s):\n` +
        violations.map((v) => `  - ${v.invariant}${v.connection === undefined ? "" : ` at ${v.connection}`}: ${v.detail}`).join("\n"),
    );
  }
}

/** Throw an `InvariantViolation` when `result` breaks any invariant. */
export function assertInvariants(result: RunResult, options: InvariantOptions = {}): void {
  const violations = checkInvariants(result, options);
  if (violations.length > 0) throw new InvariantViolation(violations);
}
