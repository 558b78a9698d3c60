/**
 * Metrics and workers cost nothing when unused: `statewire` never loads prom-client (only
 * `statewire/metrics` does) nor node:cluster outside a cluster worker. Checked in a fresh Node process (prom-client is CommonJS, so a
 * loaded copy shows in the require cache whoever imported it).
 */
import { spawnSync } from "node:child_process";
import { expect, test } from "vitest";
import { ROOT } from "./support/process.js";

/** What importing `entry` in a fresh process loads: prom-client, and node:cluster (tens of ms of startup). */
function loads(entry: string): { promClient: boolean; cluster: boolean } {
  const script = `await import(${JSON.stringify(entry)}); const { createRequire } = await import("node:module"); const cache = createRequire(import.meta.url).cache; console.log(JSON.stringify({ promClient: Object.keys(cache).some((file) => file.includes("/node_modules/prom-client/")), cluster: process.moduleLoadList.some((m) => m.includes("cluster")) }));`;
  const result = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  expect(result.stderr).toBe("");
  return JSON.parse(result.stdout) as { promClient: boolean; cluster: boolean };
}

test("import of statewire loads neither prom-client nor node:cluster; statewire/metrics loads prom-client", () => {
  expect(loads("./src/index.ts")).toEqual({ promClient: false, cluster: false });
  expect(loads("./src/metrics/index.ts").promClient).toBe(true);
}, 120_000);

test("with a token, the metrics route answers only Authorization: Bearer <token>", async () => {
  const { createApp } = await import("../src/index.js");
  const { metrics } = await import("../src/metrics/index.js");
  const app = createApp({ routes: [], plugins: [metrics({ token: "s3cret" })] });
  const ask = (authorization?: string) =>
    app.fetch(new Request("http://127.0.0.1/metrics", authorization === undefined ? {} : { headers: { authorization } }));
  const missing = await ask();
  expect([missing.status, missing.headers.get("www-authenticate")]).toEqual([401, 'Bearer realm="statewire metrics"']);
  expect((await ask("Bearer wrong")).status).toBe(403);
  const ok = await ask("Bearer s3cret");
  expect(ok.status).toBe(200);
  expect(await ok.text()).toContain("statewire_messages_total");
  await app.close();
});
