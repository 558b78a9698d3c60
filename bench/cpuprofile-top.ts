/**
 * Self time per function from a V8 `.cpuprofile` (as written by `node --cpu-prof`), grouped by
 * who owns the code: statewire (src/, machines/), xstate, ws, node internals, V8 pseudo-frames.
 * `node --import tsx bench/cpuprofile-top.ts file.cpuprofile` prints the tables.
 */
import { existsSync, readFileSync } from "node:fs";
import { SourceMap, type SourceMapPayload } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}

/** Source maps by module URL, as `servers/control.ts` dumps them. */
export type SourceMaps = ReadonlyMap<string, SourceMap>;

export function loadSourceMaps(file: string): SourceMaps {
  const maps = new Map<string, SourceMap>();
  if (!existsSync(file)) return maps;
  const payloads = JSON.parse(readFileSync(file, "utf8")) as Record<string, SourceMapPayload>;
  for (const [url, payload] of Object.entries(payloads)) maps.set(url, new SourceMap(payload));
  return maps;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** Only samples stamped inside [fromUs, toUs] (V8's monotonic µs, = process.hrtime on Linux). */
export interface TimeWindow {
  readonly fromUs: number;
  readonly toUs: number;
}

export type Owner = "statewire" | "xstate" | "ws" | "bufferutil" | "node" | "v8" | "other";

export interface FunctionCost {
  readonly owner: Owner;
  readonly name: string;
  readonly location: string;
  readonly selfUs: number;
  /** Share of all busy (non-idle) samples. */
  readonly share: number;
}

export interface ProfileSummary {
  readonly busyUs: number;
  /** Wall time covered by the samples counted. */
  readonly spanUs: number;
  readonly byOwner: ReadonlyMap<Owner, number>;
  readonly functions: readonly FunctionCost[];
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function ownerOf(frame: CallFrame): Owner {
  const url = frame.url;
  if (url === "") return frame.functionName.startsWith("(") ? "v8" : "node";
  if (url.startsWith("node:")) return "node";
  if (url.includes("/node_modules/xstate/")) return "xstate";
  if (url.includes("/node_modules/ws/")) return "ws";
  if (url.includes("/node_modules/bufferutil/")) return "bufferutil";
  const file = url.startsWith("file://") ? fileURLToPath(url) : url;
  for (const dir of ["src", "machines", "bench/.build/src", "bench/.build/machines"]) if (file.startsWith(path.join(ROOT, dir) + path.sep)) return "statewire";
  return "other";
}

/** A source map's `originalSource` (a URL, or a path relative to the compiled file) as a path relative to the repository. */
function sourcePath(source: string, compiled: string): string {
  const absolute = source.startsWith("file://") ? fileURLToPath(source) : path.resolve(path.dirname(compiled), source);
  return absolute.startsWith(ROOT) ? path.relative(ROOT, absolute) : absolute;
}

function shortLocation(frame: CallFrame, maps: SourceMaps | undefined): string {
  if (frame.url === "") return "";
  const file = frame.url.startsWith("file://") ? fileURLToPath(frame.url) : frame.url;
  const shown = file.startsWith(ROOT) ? path.relative(ROOT, file) : file;
  const map = maps?.get(frame.url);
  if (map !== undefined) {
    const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as { originalLine?: number; originalSource?: string };
    if (entry.originalLine !== undefined) {
      // Compiled JavaScript (bench/.build): name the TypeScript source the map points at.
      const source = entry.originalSource === undefined || entry.originalSource === "" ? shown : sourcePath(entry.originalSource, file);
      return `${source}:${entry.originalLine + 1}`;
    }
  }
  return `${shown}:${frame.lineNumber + 1}:${frame.columnNumber + 1}`;
}

/** `window`: one, or several (samples inside any of them count). */
export function summarize(profile: CpuProfile, window?: TimeWindow | readonly TimeWindow[], maps?: SourceMaps): ProfileSummary {
  const windows: readonly TimeWindow[] | undefined = window === undefined ? undefined : "fromUs" in window ? [window] : window;
  const inside = (stamp: number): boolean => windows === undefined || windows.some((w) => stamp >= w.fromUs && stamp <= w.toUs);
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  const self = new Map<string, { frame: CallFrame; us: number }>();
  const byOwner = new Map<Owner, number>();
  let busyUs = 0;
  let spanUs = 0;
  const { samples, timeDeltas } = profile;
  if (windows !== undefined && windows.some((w) => w.fromUs < profile.startTime || w.toUs > profile.endTime)) {
    throw new Error("the time window is not inside the profile: clocks differ?");
  }
  let stamp = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    stamp += timeDeltas[i] ?? 0;
    if (!inside(stamp)) continue;
    const node = byId.get(samples[i]!);
    if (node === undefined) continue;
    // A sample stands for the time until the next one.
    const us = timeDeltas[i + 1] ?? 0;
    spanUs += us;
    const frame = node.callFrame;
    if (frame.functionName === "(idle)") continue;
    busyUs += us;
    const key = `${frame.functionName}\u0000${frame.url}\u0000${frame.lineNumber}\u0000${frame.columnNumber}`;
    const entry = self.get(key);
    if (entry === undefined) self.set(key, { frame, us });
    else entry.us += us;
    const owner = ownerOf(frame);
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + us);
  }
  const functions = [...self.values()]
    .map(({ frame, us }) => ({
      owner: ownerOf(frame),
      name: frame.functionName === "" ? "(anonymous)" : frame.functionName,
      location: shortLocation(frame, maps),
      selfUs: us,
      share: busyUs === 0 ? 0 : us / busyUs,
    }))
    .sort((a, b) => b.selfUs - a.selfUs);
  return { busyUs, spanUs, byOwner, functions };
}

export function loadProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
}

const pct = (share: number): string => `${(share * 100).toFixed(1).padStart(5)}%`;

/** Print the owner shares, the overall top and the top statewire / xstate functions. */
export function printSummary(summary: ProfileSummary, top = 12): void {
  const { busyUs, spanUs, byOwner, functions } = summary;
  console.log(`busy CPU in the samples counted: ${(busyUs / 1000).toFixed(0)} ms of ${(spanUs / 1000).toFixed(0)} ms`);
  console.log("self time by owner:");
  for (const [owner, us] of [...byOwner].sort((a, b) => b[1] - a[1])) {
    console.log(`  ${owner.padEnd(10)} ${pct(us / busyUs)}`);
  }
  const row = (f: FunctionCost): string => `  ${pct(f.share)}  ${f.owner.padEnd(10)} ${f.name}  ${f.location}`;
  console.log(`top ${top} functions by self time (all owners):`);
  for (const f of functions.slice(0, top)) console.log(row(f));
  console.log(`top ${top} statewire / xstate functions by self time:`);
  for (const f of functions.filter((f) => f.owner === "statewire" || f.owner === "xstate").slice(0, top)) console.log(row(f));
}

const fmt = (value: number, digits = 0): string => value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/**
 * Two profiles of the same work side by side, in µs of server CPU per unit (message or
 * handshake): by owner, and the functions whose cost grew most from `base` to `test`.
 */
export function printComparison(
  unit: string,
  base: { summary: ProfileSummary; units: number },
  test: { summary: ProfileSummary; units: number },
  top = 14,
  names: readonly [string, string] = ["raw ws", "statewire"],
): void {
  const per = (us: number, units: number): number => us / units;
  const owners = new Set([...base.summary.byOwner.keys(), ...test.summary.byOwner.keys()]);
  console.log(`  µs of server CPU per ${unit} by owner     ${names[0].padStart(8)}   ${names[1].padStart(9)}   difference`);
  const rows = [...owners].map((owner) => ({
    owner,
    a: per(base.summary.byOwner.get(owner) ?? 0, base.units),
    b: per(test.summary.byOwner.get(owner) ?? 0, test.units),
  }));
  rows.sort((x, y) => y.b - y.a - (x.b - x.a));
  for (const { owner, a, b } of rows) {
    console.log(`    ${owner.padEnd(34)} ${fmt(a, 2).padStart(8)}   ${fmt(b, 2).padStart(9)}   ${fmt(b - a, 2).padStart(9)}`);
  }
  const ta = per(base.summary.busyUs, base.units);
  const tb = per(test.summary.busyUs, test.units);
  console.log(`    ${"total".padEnd(34)} ${fmt(ta, 2).padStart(8)}   ${fmt(tb, 2).padStart(9)}   ${fmt(tb - ta, 2).padStart(9)}`);
  const key = (f: FunctionCost): string => `${f.owner} ${f.name} ${f.location}`;
  const baseBy = new Map(base.summary.functions.map((f) => [key(f), f.selfUs] as const));
  const testBy = new Map(test.summary.functions.map((f) => [key(f), f.selfUs] as const));
  const grown = [...new Set([...baseBy.keys(), ...testBy.keys()])]
    .map((k) => ({ k, a: per(baseBy.get(k) ?? 0, base.units), b: per(testBy.get(k) ?? 0, test.units) }))
    .sort((x, y) => y.b - y.a - (x.b - x.a))
    .slice(0, top);
  console.log(`  functions whose self time per ${unit} grew most (${names[0]} → ${names[1]}, µs):`);
  for (const { k, a, b } of grown) console.log(`    ${fmt(a, 3).padStart(6)} → ${fmt(b, 3).padStart(6)}  (+${fmt(b - a, 3)})  ${k}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error("usage: node --import tsx bench/cpuprofile-top.ts <file.cpuprofile> [source-maps.json]");
    process.exit(1);
  }
  const mapsFile = process.argv[3];
  printSummary(summarize(loadProfile(file), undefined, mapsFile === undefined ? undefined : loadSourceMaps(mapsFile)), 20);
}
