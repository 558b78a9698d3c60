/**
 * What a V8 heap snapshot holds, counted by constructor (objects, closures) or by kind (strings,
 * arrays, code…): the census of two snapshots taken before and after opening N connections,
 * divided by N, is what one idle connection keeps alive.
 */
import { readFileSync } from "node:fs";

interface SnapshotFile {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: readonly string[];
      readonly node_types: readonly [readonly string[], ...unknown[]];
      readonly edge_fields: readonly string[];
    };
  };
  readonly nodes: readonly number[];
  readonly edges: readonly number[];
  readonly strings: readonly string[];
}

function keyOf(type: string, name: string): string {
  return type === "object" ? name : type === "closure" ? `${name}() closure` : type === "array" || type === "hidden" ? `(${type}) ${name}` : `(${type})`;
}

export interface CensusEntry {
  count: number;
  bytes: number;
}

export type Census = Map<string, CensusEntry>;

/** Count and self size per constructor / kind in a `.heapsnapshot` file. */
export function heapCensus(file: string): Census {
  const data = JSON.parse(readFileSync(file, "utf8")) as SnapshotFile;
  const fields = data.snapshot.meta.node_fields;
  const types = data.snapshot.meta.node_types[0];
  const stride = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const census: Census = new Map();
  for (let i = 0; i < data.nodes.length; i += stride) {
    const type = types[data.nodes[i + typeAt]!] ?? "?";
    const name = data.strings[data.nodes[i + nameAt]!] ?? "?";
    const key = keyOf(type, name);
    const entry = census.get(key);
    const bytes = data.nodes[i + sizeAt]!;
    if (entry === undefined) census.set(key, { count: 1, bytes });
    else {
      entry.count++;
      entry.bytes += bytes;
    }
  }
  return census;
}

export interface CensusDiff {
  readonly key: string;
  /** Per unit (connection). */
  readonly count: number;
  readonly bytes: number;
}

/** `after - before`, per unit, largest first. */
export function diffCensus(before: Census, after: Census, units: number): CensusDiff[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys]
    .map((key) => ({
      key,
      count: ((after.get(key)?.count ?? 0) - (before.get(key)?.count ?? 0)) / units,
      bytes: ((after.get(key)?.bytes ?? 0) - (before.get(key)?.bytes ?? 0)) / units,
    }))
    .sort((a, b) => b.bytes - a.bytes);
}

/** Who holds the nodes counted under `key` (by the holder's own key): the direct retainers. */
export function holdersOf(file: string, key: string): Map<string, number> {
  const data = JSON.parse(readFileSync(file, "utf8")) as SnapshotFile;
  const { node_fields: fields, edge_fields: edgeFields } = data.snapshot.meta;
  const types = data.snapshot.meta.node_types[0];
  const stride = fields.length;
  const edgeStride = edgeFields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const edgeCountAt = fields.indexOf("edge_count");
  const toAt = edgeFields.indexOf("to_node");
  const nodeKey = (index: number): string => keyOf(types[data.nodes[index + typeAt]!] ?? "?", data.strings[data.nodes[index + nameAt]!] ?? "?");
  const holders = new Map<string, number>();
  let edge = 0;
  for (let i = 0; i < data.nodes.length; i += stride) {
    const edges = data.nodes[i + edgeCountAt]!;
    for (let e = 0; e < edges; e++, edge += edgeStride) {
      const to = data.edges[edge + toAt]!;
      if (nodeKey(to) !== key) continue;
      const holder = nodeKey(i);
      holders.set(holder, (holders.get(holder) ?? 0) + 1);
    }
  }
  return holders;
}
