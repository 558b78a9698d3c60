import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * The suites run against each mutant of the messages half of `npm run test:mutation`
 * (test/mutation/stryker.messages.config.mjs): the fastest ones that exercise its files.
 */
export default defineConfig({
  test: {
    root: fileURLToPath(new URL("../..", import.meta.url)),
    include: [
      "test/unit/codec.test.ts",
      "test/unit/mailbox.test.ts",
      "test/unit/pipeline.test.ts",
      "test/unit/inbound-queue.test.ts",
      "test/unit/query.test.ts",
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
