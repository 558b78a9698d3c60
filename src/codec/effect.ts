/**
 * effect, loaded only by an app that uses it. Its values are recognised without importing it, by
 * the type ids effect stamps on them (string keys, so they match across copies of the package);
 * the module itself is imported the first time such a value is seen. An app that passes an
 * effect Schema, Effect or Stream has imported effect already, so that import is a cache hit.
 */
type EffectModule = typeof import("effect");

const SCHEMA = "~effect/Schema/Schema";
const EFFECT = "~effect/Effect";
const STREAM = "~effect/Stream";

let loaded: EffectModule | undefined;
let loading: Promise<EffectModule> | undefined;

function hasKey(value: unknown, key: string): boolean {
  return (typeof value === "object" || typeof value === "function") && value !== null && key in value;
}

/** An effect Schema (what `Schema.isSchema` checks, without loading effect). */
export function isEffectSchema(value: unknown): boolean {
  return hasKey(value, SCHEMA) && (value as Record<string, unknown>)[SCHEMA] === SCHEMA;
}

/** An effect `Effect` value (what `Effect.isEffect` checks). */
export function isEffectValue(value: unknown): boolean {
  return hasKey(value, EFFECT);
}

/** An effect `Stream` (what `Stream.isStream` checks). */
export function isEffectStream(value: unknown): boolean {
  return hasKey(value, STREAM);
}

/** The effect module, importing it on the first call. */
export function loadEffect(): Promise<EffectModule> {
  return (loading ??= import("effect").then((module) => (loaded = module)));
}

/** Start importing effect now (a route was given an effect value), so it is there before the first message. */
export function preloadEffect(): void {
  // A failure (effect not installed) surfaces where the module is needed, with its own error.
  loadEffect().catch(() => undefined);
}

/** The effect module if it has been loaded; `undefined` before (then `loadEffect()`). */
export function effectIfLoaded(): EffectModule | undefined {
  return loaded;
}

/** Use an effect module the caller has already imported (the testing toolkit does), so encoders are synchronous from the start. */
export function adoptEffect(module: EffectModule): void {
  loaded ??= module;
  loading ??= Promise.resolve(module);
}
