/**
 * Metrics cost nothing when unused: `statewire` never loads prom-client; only
 * `statewire/metrics` does. Checked in a fresh Node process (prom-client is CommonJS, so a
 * loaded copy shows in the require cache whoever imported it).
 */
import { spawnSync } from "node:child_process";
import { expect, test } from "vitest";
import { ROOT } from "./support/process.js";

function loadsPromClient(entry: string): boolean {
  const script = `await import(${JSON.stringify(entry)}); const { createRequire } = await import("node:module"); const cache = createRequire(import.meta.url).cache; console.log(Object.keys(cache).some((file) => file.includes("/node_modules/prom-client/")));`;
  const result = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  expect(result.stderr).toBe("");
  return result.stdout.trim() === "true";
}

test("import of statewire does not load prom-client; statewire/metrics does", () => {
  expect(loadsPromClient("./src/index.ts")).toBe(false);
  expect(loadsPromClient("./src/metrics/index.ts")).toBe(true);
}, 120_000);
