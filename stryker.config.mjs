// @ts-check
/**
 * `npm run test:mutation`: StrykerJS over the core, with the suites listed in
 * vitest.mutation.config.ts. The HTML and JSON reports land in reports/mutation/.
 *
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  mutate: [
    "machines/connection.ts",
    "src/connection/lifecycle.ts",
    "src/connection/close-codes.ts",
    "src/codec/message-codec.ts",
    "src/connection/mailbox.ts",
    "src/handlers/pipeline.ts",
    "src/transport/handshake.ts",
  ],
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutation.config.ts", related: false },
  coverageAnalysis: "perTest",
  // TypeScript 7 has no JS API: no type checker, and Stryker must not parse the tsconfig
  // (its sandbox rewrite calls ts.parseConfigFileTextToJson). A tsconfig that does not exist
  // turns that rewrite off; vitest transpiles without it.
  checkers: [],
  tsconfigFile: "tsconfig.stryker-none.json",
  // This machine has 2 cores.
  concurrency: 2,
  timeoutMS: 10_000,
  reporters: ["html", "json", "clear-text", "progress"],
  htmlReporter: { fileName: "reports/mutation/index.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
};
