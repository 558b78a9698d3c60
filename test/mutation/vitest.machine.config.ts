import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * The suites run against each mutant of the machine half of `npm run test:mutation`
 * (test/mutation/stryker.machine.config.mjs): the protocol-machine handler kind over the
 * in-memory transport. A half of its own because it loads xstate and the whole runtime, which
 * the other parts' suites do without.
 */
export default defineConfig({
  test: {
    root: fileURLToPath(new URL("../..", import.meta.url)),
    include: ["test/unit/machine-kind.test.ts", "test/unit/imports-machine.test.ts"],
    env: { STATEWIRE_MUTATION: "1" },
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // A fresh VM context per file re-evaluates each module (so a mutant in load-time code takes
    // effect) at a fraction of the cost of a new worker per file.
    pool: "vmThreads",
  },
});
