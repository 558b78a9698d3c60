/**
 * docs/cookbook.md only links what runs: every example it names exists, starts alone (as
 * test/examples.test.ts checks for every file in examples/), and every test file it names exists.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { ROOT } from "./support/process.js";

const cookbook = readFileSync(`${ROOT}/docs/cookbook.md`, "utf8");
const links = [...cookbook.matchAll(/\]\(\.\.\/([^)]+)\)/g)].map((match) => match[1]!);

test("the cookbook links runnable examples and real tests, for each of the four guides", () => {
  for (const guide of ["## Litestar", "## Velithon", "## Nexios", "## Responder"]) expect(cookbook).toContain(guide);
  expect(links.length).toBeGreaterThan(30);
  const examples = new Set(readdirSync(`${ROOT}/examples`));
  for (const link of links) {
    expect(existsSync(`${ROOT}/${link}`), link).toBe(true);
    if (link.startsWith("examples/")) expect(examples.has(link.slice("examples/".length)), link).toBe(true);
    else expect(link, "a cookbook link is an example or a test").toMatch(/^test\/.+\.test\.ts$/);
  }
});
