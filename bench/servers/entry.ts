/**
 * Which statewire a bench server runs: STATEWIRE_ENTRY names a compiled `index.js` (the harness
 * builds one with `tsc -p tsconfig.build.json`, the JavaScript the package ships); without it,
 * the TypeScript sources through tsx. The two differ: tsx (esbuild with keepNames) wraps every
 * named function it creates in `__name(fn, "name")`, which redefines `name` and leaves the
 * function with dictionary-mode properties (≈ 275 B each, per connection for closures made per
 * connection), and costs a call each time.
 */
import { pathToFileURL } from "node:url";
import type * as Statewire from "../../src/index.js";
import type * as StatewireMetrics from "../../src/metrics/index.js";
import type * as StatewireRedis from "../../src/redis.js";

export async function loadStatewire(): Promise<typeof Statewire> {
  const entry = process.env.STATEWIRE_ENTRY;
  if (entry === undefined || entry === "") return import("../../src/index.js");
  return (await import(pathToFileURL(entry).href)) as typeof Statewire;
}

/** `statewire/metrics` from the same place: `metrics/index.js` next to STATEWIRE_ENTRY, or the sources. */
export async function loadStatewireMetrics(): Promise<typeof StatewireMetrics> {
  const entry = process.env.STATEWIRE_ENTRY;
  if (entry === undefined || entry === "") return import("../../src/metrics/index.js");
  return (await import(new URL("metrics/index.js", pathToFileURL(entry)).href)) as typeof StatewireMetrics;
}

/** `statewire/redis` from the same place: `redis.js` next to STATEWIRE_ENTRY, or the sources. */
export async function loadStatewireRedis(): Promise<typeof StatewireRedis> {
  const entry = process.env.STATEWIRE_ENTRY;
  if (entry === undefined || entry === "") return import("../../src/redis.js");
  return (await import(new URL("redis.js", pathToFileURL(entry)).href)) as typeof StatewireRedis;
}
