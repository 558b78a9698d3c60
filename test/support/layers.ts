/**
 * The import graph of src/ and machines/, with each file's layer (docs/architecture.md §1):
 * what `test/unit/layers.test.ts` checks, and what `node --import tsx test/support/layers.ts`
 * prints (the upward imports and circles).
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Layer of each file, first match wins (docs/architecture.md §1). */
const LAYERS: readonly (readonly [RegExp, number, string])[] = [
  [/^machines\/index\.ts$/, 6, "entries"],
  [/^src\/(index|redis)\.ts$/, 6, "entries"],
  [/^src\/(channels|inspector|metrics|cluster|testing)\/index\.ts$/, 6, "entries"],
  [/^machines\//, 0, "vocabulary"],
  [/^src\/wire\//, 0, "vocabulary"],
  [/^src\/connection\/(close-codes|errors)\.ts$/, 0, "vocabulary"],
  [/^src\/(transport|codec)\//, 1, "wire"],
  [/^src\/(connection|limits|dependencies)\//, 2, "connection"],
  [/^src\/(handlers|guards)\//, 3, "handlers"],
  [/^src\/app\//, 4, "app"],
  [/^src\/(channels|inspector|metrics|cluster|testing)\//, 5, "plugins"],
];

export function layerOf(file: string): number {
  for (const [pattern, layer] of LAYERS) if (pattern.test(file)) return layer;
  throw new Error(`${file} has no layer: add its folder to test/support/layers.ts and docs/architecture.md §1`);
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|(?:^|\n)\s*import\s+["']([^"']+)["']/g;

export interface Edge {
  readonly from: string;
  readonly to: string;
  readonly typeOnly: boolean;
}

/** Every relative import between files of src/ and machines/. */
export function importGraph(): Edge[] {
  const edges: Edge[] = [];
  for (const file of [...sourceFiles("src"), ...sourceFiles("machines")]) {
    const text = readFileSync(join(ROOT, file), "utf8");
    for (const match of text.matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2] ?? match[3]!;
      if (!specifier.startsWith(".")) continue;
      const target = relative(ROOT, resolve(ROOT, dirname(file), specifier)).replace(/\.js$/, ".ts");
      edges.push({ from: file, to: target, typeOnly: /^\s*(?:import|export)\s+type\s/.test(match[0].replace(/^\n/, "")) });
    }
  }
  return edges;
}

/**
 * The upward imports kept on purpose (docs/architecture.md §1), each with why: `from -> to`.
 */
export const ALLOWED_UPWARD: Readonly<Record<string, string>> = {
  // The worker id is a leaf module without imports (it reads node:cluster lazily); observers and
  // app.stats() tag what they report with it.
  "src/connection/observer.ts -> src/cluster/worker-id.ts": "a leaf: the worker id, read without loading node:cluster",
  "src/app/stats.ts -> src/cluster/worker-id.ts": "a leaf: the worker id, read without loading node:cluster",
};

export function upwardImports(edges: readonly Edge[]): Edge[] {
  return edges.filter((edge) => layerOf(edge.to) > layerOf(edge.from));
}

/** Strongly connected components of more than one file (Tarjan): the import circles. */
export function circles(edges: readonly Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) {
    if (!next.has(from)) next.set(from, []);
    next.get(from)!.push(to);
  }
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    indices.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const target of next.get(node) ?? []) {
      if (!indices.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) low.set(node, Math.min(low.get(node)!, indices.get(target)!));
    }
    if (low.get(node) === indices.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of next.keys()) if (!indices.has(node)) visit(node);
  return found;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const edges = importGraph();
  const upward = upwardImports(edges);
  console.log(`${edges.length} imports, ${upward.length} upward (allowed: ${Object.keys(ALLOWED_UPWARD).length}):`);
  for (const edge of upward) {
    const allowed = `${edge.from} -> ${edge.to}` in ALLOWED_UPWARD ? " [allowed]" : "";
    console.log(`  ${edge.from} (${layerOf(edge.from)}) -> ${edge.to} (${layerOf(edge.to)})${edge.typeOnly ? " [type]" : ""}${allowed}`);
  }
  const found = circles(edges);
  console.log(`${found.length} circles`);
  for (const circle of found) console.log(`  ${circle.join(" <-> ")}`);
}
