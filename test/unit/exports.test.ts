/**
 * No dead exports: every function, class or constant a module of src/ or machines/ exports is
 * used by another file (source, test, bench or example) — otherwise it should not be exported,
 * or not exist. Types are left out: they name what exported signatures take and return.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { ROOT } from "../support/layers.js";

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules" && entry.name !== "results") out.push(...filesUnder(path));
    } else if (/\.(ts|mts)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

const EXPORTED_VALUE = /^export\s+(?:async\s+)?(?:abstract\s+)?(?:function\*?|class|const|let)\s+([A-Za-z_$][\w$]*)/gm;

describe("exports", () => {
  test("every exported value of src/ and machines/ is used by some other file", () => {
    const modules = [...filesUnder("src"), ...filesUnder("machines")];
    const everything = [...modules, ...filesUnder("test"), ...filesUnder("bench"), ...filesUnder("examples")];
    const text = new Map(everything.map((file) => [file, readFileSync(join(ROOT, file), "utf8")]));
    const unused: string[] = [];
    for (const file of modules) {
      for (const match of text.get(file)!.matchAll(EXPORTED_VALUE)) {
        const name = match[1]!;
        const word = new RegExp(`\\b${name.replace(/\$/g, "\\$")}\\b`);
        if (![...text].some(([other, body]) => other !== file && word.test(body))) unused.push(`${file}: ${name}`);
      }
    }
    expect(unused).toStrictEqual([]);
  });
});
