/**
 * Random client flows for one route, generated from what the route receives: for a JSON route
 * with an effect Schema, mostly values of that schema (so flows reach the protocol rather than
 * dying on junk text), plus values that must be refused and text that is not JSON at all.
 */
import { Arbitrary, Effect, Schema } from "effect";
import fc from "fast-check";
import type { ReceiveKind } from "../codec/message-codec.js";
import { machineRouteOf } from "../handlers/machine.js";
import type { WebSocketRoute } from "../handlers/websocket.js";
import { type ClientFlow, clientFlows, clientStep, type FlowOptions, type FlowStep } from "./flows.js";
import { machineModel } from "./machine-model.js";
import { machineScript } from "./machine-property.js";

/** What a route receives: listeners and machine routes say; other kinds read the socket themselves (text). */
export function receiveOf(route: WebSocketRoute): ReceiveKind {
  return machineRouteOf(route)?.receive ?? route.logic.receive ?? "text";
}

/**
 * A fast-check arbitrary of an effect Schema's values in their JSON (encoded) form: a pool drawn
 * with effect's own `Arbitrary.schema`, picked from by fast-check (so it shrinks toward the
 * pool's first, simplest values). Undefined for schemas effect cannot draw from.
 */
export function schemaValues(schema: unknown, options: { readonly pool?: number; readonly seed?: number } = {}): fc.Arbitrary<unknown> | undefined {
  if (!Schema.isSchema(schema)) return undefined;
  try {
    const encode = Schema.encodeUnknownSync(schema as unknown as Schema.Codec<unknown, unknown>);
    const pool = Effect.runSync(Arbitrary.sampleEffect(Arbitrary.schema(schema as never), { count: options.pool ?? 200, seed: options.seed ?? 1 })).map(
      (value) => encode(value),
    );
    return pool.length === 0 ? undefined : fc.constantFrom(...pool);
  } catch {
    return undefined;
  }
}

/**
 * Flows for `route` (connecting to `path`, default the route's): JSON routes get the schema's
 * values as valid JSON and near misses as invalid; text routes text; bytes routes binary frames.
 */
export function routeFlows(route: WebSocketRoute, options: Partial<FlowOptions> & { readonly path?: string; readonly maxClients?: number } = {}): fc.Arbitrary<ClientFlow[]> {
  const receive = receiveOf(route);
  if (machineRouteOf(route) !== undefined && options.steps === undefined) {
    // A protocol machine: walk it, so flows get past the first state.
    const model = machineModel(route);
    return clientFlows({ paths: [options.path ?? route.path], maxPauseMs: 0, ...options, steps: machineScript(model, { maxSteps: options.maxSteps ?? 8 }) } as FlowOptions & {
      readonly maxClients?: number;
    });
  }
  const valid = schemaValues(receive);
  const json =
    valid !== undefined
      ? {
          valid,
          // Near misses: a field dropped, or a value of the wrong kind.
          invalid: fc.oneof(
            valid.map((value) => (typeof value === "object" && value !== null && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).slice(1)) : null)),
            fc.constantFrom(null, 0, "", [], {}),
          ),
        }
      : receive === "json"
        ? { valid: fc.jsonValue({ maxDepth: 2 }) }
        : undefined;
  // Mostly values the route accepts; the odd invalid one, junk text and binary frame.
  const steps =
    valid === undefined || json === undefined
      ? undefined
      : fc.array(
          fc.oneof(
            { arbitrary: valid.map((data): FlowStep => ({ kind: "json", data })), weight: 8 },
            { arbitrary: (json.invalid ?? fc.constant(null)).map((data): FlowStep => ({ kind: "json", data })), weight: 1 },
            { arbitrary: clientStep({ malformedJson: true, maxPauseMs: options.maxPauseMs ?? 5 }), weight: 1 },
          ),
          { maxLength: options.maxSteps ?? 8 },
        );
  return clientFlows({
    paths: [options.path ?? route.path],
    ...(json === undefined ? {} : { json, malformedJson: true }),
    ...(steps === undefined ? {} : { steps }),
    binary: receive === "bytes" || receive === "msgpack" || json !== undefined,
    ...options,
  } as FlowOptions & { readonly maxClients?: number });
}
