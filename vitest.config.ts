import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Examples import `statewire` as a user's app would; in this repository that resolves to the
// sources (the `statewire-source` export condition, as for `node --conditions=statewire-source`).
const manifest = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as {
  readonly exports: Record<string, string | Record<string, string>>;
};
const alias = Object.entries(manifest.exports).flatMap(([subpath, target]) =>
  typeof target === "object" && target["statewire-source"] !== undefined
    ? [{ find: new RegExp(`^statewire${subpath.slice(1).replace(/[/.]/g, "\\$&")}$`), replacement: fileURLToPath(new URL(target["statewire-source"], import.meta.url)) }]
    : [],
);

export default defineConfig({
  resolve: { alias },
  test: {
    include: ["test/**/*.test.ts", "examples/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: "forks",
    // After the default summary: what was skipped for a missing system tool (support/system-tools.ts).
    reporters: ["default", "./test/support/skip-summary.ts"],
  },
});
