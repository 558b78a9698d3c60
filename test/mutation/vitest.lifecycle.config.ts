import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * The suites run against each mutant of the lifecycle half of `npm run test:mutation`
 * (test/mutation/stryker.lifecycle.config.mjs): the fastest ones that exercise its files.
 * test/unit/lifecycle.test.ts drives every row of the lifecycle through both runners (the xstate
 * actor and the compiled table) with exact effects and outcomes, so test/connection-machine.test.ts
 * and test/compiled-lifecycle.test.ts would only add cost here.
 */
export default defineConfig({
  test: {
    root: fileURLToPath(new URL("../..", import.meta.url)),
    include: [
      "test/unit/lifecycle.test.ts",
      "test/unit/lifecycle-compile.test.ts",
      "test/unit/close-codes.test.ts",
      "test/unit/handshake.test.ts",
      "test/unit/imports.test.ts",
    ],
    // Property tests run fewer cases per mutant (see each test's RUNS).
    env: { STATEWIRE_MUTATION: "1" },
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // A fresh VM context per file re-evaluates each module (so a mutant in load-time code takes
    // effect) at a fraction of the cost of a new worker per file.
    pool: "vmThreads",
  },
});
