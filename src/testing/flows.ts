/**
 * fast-check arbitraries for what clients do: connect (with headers, query, subprotocols), send
 * text, bytes and JSON (valid or not against a schema), ping, pause, close with any valid code
 * and reason, or vanish without a close frame.
 */
import fc from "fast-check";
import { MAX_CLOSE_REASON_BYTES } from "../wire/close-codes.js";

export type FlowStep =
  | { readonly kind: "text"; readonly data: string }
  | { readonly kind: "binary"; readonly data: Uint8Array }
  | { readonly kind: "json"; readonly data: unknown }
  | { readonly kind: "ping" }
  | { readonly kind: "pause"; readonly ms: number }
  | { readonly kind: "close"; readonly code: number | undefined; readonly reason: string }
  | { readonly kind: "abort" };

export interface ClientFlow {
  /** Path and query, e.g. `/chat?room=a`. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly subprotocols: readonly string[];
  /** What the client does once connected; a flow that does not end with close or abort is closed with 1000. */
  readonly steps: readonly FlowStep[];
}

/** Close codes a client may send: 1000–1003, 1007–1014, 3000–4999. */
export function closeCode(): fc.Arbitrary<number> {
  return fc.oneof(fc.constantFrom(1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014), fc.integer({ min: 3000, max: 4999 }));
}

/** Close reasons that fit a close frame (≤ 123 bytes of UTF-8), non-ASCII included. */
export function closeReason(): fc.Arbitrary<string> {
  return fc.string({ unit: "grapheme", maxLength: 40 }).filter((reason) => Buffer.byteLength(reason, "utf8") <= MAX_CLOSE_REASON_BYTES);
}

export interface StepOptions {
  /** Text payloads. Default: any string up to 64 graphemes. */
  readonly text?: fc.Arbitrary<string>;
  /** JSON values the app accepts; and, optionally, ones it must refuse (sent as JSON too). */
  readonly json?: { readonly valid: fc.Arbitrary<unknown>; readonly invalid?: fc.Arbitrary<unknown> };
  /** Include text that is not JSON at all. Default false. */
  readonly malformedJson?: boolean;
  /** Binary frames. Default true. */
  readonly binary?: boolean;
  /** Longest pause, ms. Default 5 (0 disables pauses). */
  readonly maxPauseMs?: number;
}

/** One thing a connected client does, other than ending the connection. */
export function clientStep(options: StepOptions = {}): fc.Arbitrary<FlowStep> {
  const choices: fc.Arbitrary<FlowStep>[] = [
    (options.text ?? fc.string({ unit: "grapheme", maxLength: 64 })).map((data) => ({ kind: "text", data }) as const),
    fc.constant({ kind: "ping" } as const),
  ];
  if (options.binary ?? true) choices.push(fc.uint8Array({ maxLength: 64 }).map((data) => ({ kind: "binary", data }) as const));
  if (options.json !== undefined) {
    choices.push(options.json.valid.map((data) => ({ kind: "json", data }) as const));
    if (options.json.invalid !== undefined) choices.push(options.json.invalid.map((data) => ({ kind: "json", data }) as const));
  }
  if (options.malformedJson === true) choices.push(fc.constantFrom("{", "[1,", "nope", '{"a":}').map((data) => ({ kind: "text", data }) as const));
  const maxPause = options.maxPauseMs ?? 5;
  if (maxPause > 0) choices.push(fc.integer({ min: 0, max: maxPause }).map((ms) => ({ kind: "pause", ms }) as const));
  return fc.oneof(...choices);
}

/** How a flow ends: a close frame (any valid code, or none), an abrupt abort, or nothing (the runner closes with 1000). */
export function flowEnding(): fc.Arbitrary<FlowStep | undefined> {
  return fc.oneof(
    fc.record({ kind: fc.constant("close" as const), code: fc.option(closeCode(), { nil: undefined }), reason: closeReason() }).map(
      (step) => (step.code === undefined ? { ...step, reason: "" } : step) as FlowStep,
    ),
    fc.constant({ kind: "abort" } as const),
    fc.constant(undefined),
  );
}

export interface FlowOptions extends StepOptions {
  /** Paths to connect to (with query). */
  readonly paths: readonly string[] | fc.Arbitrary<string>;
  readonly headers?: fc.Arbitrary<Record<string, string>>;
  readonly subprotocols?: fc.Arbitrary<string[]>;
  /** Most steps before the ending. Default 8. */
  readonly maxSteps?: number;
  /** The steps before the ending, when not drawn one by one from `clientStep(options)` (e.g. a walk of a protocol machine). */
  readonly steps?: fc.Arbitrary<FlowStep[]>;
}

/** A client's whole flow: where it connects, what it sends, how it leaves. */
export function clientFlow(options: FlowOptions): fc.Arbitrary<ClientFlow> {
  const paths = Array.isArray(options.paths) ? fc.constantFrom(...(options.paths as readonly string[])) : (options.paths as fc.Arbitrary<string>);
  return fc
    .record({
      path: paths,
      headers: options.headers ?? fc.constant({}),
      subprotocols: options.subprotocols ?? fc.constant([]),
      steps: options.steps ?? fc.array(clientStep(options), { maxLength: options.maxSteps ?? 8 }),
      ending: flowEnding(),
    })
    .map(({ ending, steps, ...rest }) => ({ ...rest, steps: ending === undefined ? steps : [...steps, ending] }));
}

/** Several clients at once. */
export function clientFlows(options: FlowOptions & { readonly maxClients?: number }): fc.Arbitrary<ClientFlow[]> {
  return fc.array(clientFlow(options), { minLength: 1, maxLength: options.maxClients ?? 3 });
}
