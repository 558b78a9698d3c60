/**
 * Validating decoded data against a user's schema: effect's Schema first-class (decoded by its
 * own parser, about 4× faster than through `~standard`), any Standard Schema v1 otherwise
 * (zod, valibot, arktype, …).
 */
import type { Result, Schema, SchemaIssue } from "effect";
import { effectIfLoaded, isEffectSchema, loadEffect } from "./effect.js";

/** The Standard Schema v1 interface (standardschema.dev), declared here so no package is needed for it. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly "~standard": {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardSchemaResult<Output> | Promise<StandardSchemaResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

export type StandardSchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardSchemaIssue> };

export interface StandardSchemaIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/** An effect Schema that decodes without services. */
export type EffectSchema<T = unknown> = Schema.ConstraintDecoder<T>;

/** Anything statewire accepts to type and validate a message. */
export type MessageSchema = EffectSchema | StandardSchemaV1;

/** The type a schema decodes to. */
export type SchemaOutput<S> =
  S extends StandardSchemaV1<unknown, infer Output> ? Output : S extends EffectSchema<infer T> ? T : never;

/** The outcome of validating one value; `problem` is short and safe to put in a close reason. */
export type Validated<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

type EffectDecoder = (input: unknown) => Validated<unknown>;
const effectDecoders = new WeakMap<object, EffectDecoder>();

/** The schema's decoder: synchronous once effect is loaded (see effect.ts), a promise for it before. */
function effectDecoder(schema: EffectSchema): EffectDecoder | Promise<EffectDecoder> {
  const decoder = effectDecoders.get(schema);
  if (decoder !== undefined) return decoder;
  const effect = effectIfLoaded();
  if (effect === undefined) return loadEffect().then(() => effectDecoder(schema));
  const { Result, Schema, SchemaIssue } = effect;
  const format = (formatter ??= SchemaIssue.makeFormatterStandardSchemaV1());
  const decode = Schema.decodeUnknownResult(schema) as (input: unknown) => Result.Result<unknown, Schema.SchemaError>;
  const made: EffectDecoder = (input) => {
    const result = decode(input);
    return Result.isSuccess(result)
      ? { ok: true, value: result.success }
      : { ok: false, problem: describeIssues(format(result.failure.issue).issues) };
  };
  effectDecoders.set(schema, made);
  return made;
}
let formatter: ReturnType<typeof SchemaIssue.makeFormatterStandardSchemaV1> | undefined;

/** Validate `value`; synchronous for effect schemas and for Standard Schemas that answer synchronously. */
export function validate<S extends MessageSchema>(
  schema: S,
  value: unknown,
): Validated<SchemaOutput<S>> | Promise<Validated<SchemaOutput<S>>> {
  if (isEffectSchema(schema)) {
    const decoder = effectDecoder(schema as EffectSchema);
    return (decoder instanceof Promise ? decoder.then((ready) => ready(value)) : decoder(value)) as
      | Validated<SchemaOutput<S>>
      | Promise<Validated<SchemaOutput<S>>>;
  }
  const outcome = (schema as StandardSchemaV1)["~standard"].validate(value);
  return outcome instanceof Promise ? outcome.then(fromStandard<SchemaOutput<S>>) : fromStandard<SchemaOutput<S>>(outcome);
}

export type Validator<T> = (value: unknown) => Validated<T> | Promise<Validated<T>>;

/**
 * `validate` with the schema resolved once: what kind it is and, for effect, its compiled
 * parser (a promise of it only for the messages that arrive while effect is still loading).
 * A route's decoder calls this per message, so the per-message path is one call.
 */
export function validator<S extends MessageSchema>(schema: S): Validator<SchemaOutput<S>> {
  if (isEffectSchema(schema)) {
    let decode: EffectDecoder | undefined;
    return (value) => {
      if (decode !== undefined) return decode(value) as Validated<SchemaOutput<S>>;
      const ready = effectDecoder(schema as EffectSchema);
      if (ready instanceof Promise) return ready.then((made) => (decode = made)(value) as Validated<SchemaOutput<S>>);
      decode = ready;
      return ready(value) as Validated<SchemaOutput<S>>;
    };
  }
  const standard = (schema as StandardSchemaV1)["~standard"];
  return (value) => {
    const outcome = standard.validate(value);
    return outcome instanceof Promise ? outcome.then(fromStandard<SchemaOutput<S>>) : fromStandard<SchemaOutput<S>>(outcome);
  };
}

function fromStandard<T>(result: StandardSchemaResult<unknown>): Validated<T> {
  return result.issues === undefined
    ? { ok: true, value: result.value as T }
    : { ok: false, problem: describeIssues(result.issues) };
}

/** Whether `value` is a schema statewire can validate with. */
export function isMessageSchema(value: unknown): value is MessageSchema {
  return (
    isEffectSchema(value) ||
    (typeof value === "object" && value !== null && "~standard" in value) ||
    (typeof value === "function" && "~standard" in value)
  );
}

/** `content: expected string`, or `expected object` at the root; the first issue, plus a count of the rest. */
function describeIssues(issues: ReadonlyArray<StandardSchemaIssue>): string {
  const first = issues[0];
  if (first === undefined) return "invalid value";
  const path = (first.path ?? []).map((segment) => String(typeof segment === "object" ? segment.key : segment)).join(".");
  const message = first.message.charAt(0).toLowerCase() + first.message.slice(1);
  const more = issues.length > 1 ? ` (+${issues.length - 1} more)` : "";
  return `${path === "" ? "" : `${path}: `}${message}${more}`;
}
