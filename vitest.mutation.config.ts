import { defineConfig } from "vitest/config";

/**
 * The suites `npm run test:mutation` runs against each mutant: the fastest ones that exercise the
 * mutated core files (see stryker.config.mjs). Listed by name so Stryker never runs the slow
 * process, Redis or browser suites.
 */
export default defineConfig({
  test: {
    include: [
      "test/connection-machine.test.ts",
      "test/compiled-lifecycle.test.ts",
    ],
    // Property tests run fewer cases per mutant (see each test's RUNS).
    env: { STATEWIRE_MUTATION: "1" },
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: "forks",
  },
});
