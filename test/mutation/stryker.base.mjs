// @ts-check
/**
 * What the three parts of `npm run test:mutation` share. The run is split because of
 * Stryker's static mutants: a mutant in code that runs when a module loads (the connection
 * machine's definition, the compiled lifecycle table, the close-code names) is tested against
 * every test of its run, so each part keeps only the suites of its own files — the lifecycle part
 * never loads effect, the messages part never loads xstate, and only the machine part loads the
 * whole runtime (its suite drives the machine kind over the in-memory transport).
 *
 * @param {"lifecycle" | "messages" | "machine"} part
 * @param {string[]} mutate
 * @returns {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export function strykerOptions(part, mutate) {
  return {
    mutate,
    testRunner: "vitest",
    vitest: { configFile: `test/mutation/vitest.${part}.config.ts`, related: false },
    coverageAnalysis: "perTest",
    // TypeScript 7 has no JS API: no type checker, and Stryker must not parse the tsconfig
    // (its sandbox rewrite calls ts.parseConfigFileTextToJson). Naming a tsconfig that does not
    // exist turns that rewrite off; vitest transpiles without one.
    checkers: [],
    tsconfigFile: "tsconfig.stryker-none.json",
    // At most 2: the machine this runs on has 2 cores.
    concurrency: 2,
    timeoutMS: 10_000,
    reporters: ["html", "json", "clear-text", "progress"],
    htmlReporter: { fileName: `reports/mutation/${part}/index.html` },
    jsonReporter: { fileName: `reports/mutation/${part}/mutation.json` },
    tempDirName: ".stryker-tmp",
    cleanTempDir: "always",
  };
}
