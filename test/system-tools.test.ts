/**
 * The rule for tests that need a system tool: skipped with one line naming the tool and its
 * install command outside CI, never skipped under CI=true (the file fails, naming it).
 */
import { afterEach, expect, test, vi } from "vitest";
import { skipWithout, type SystemTool } from "./support/system-tools.js";

const missing: SystemTool = { name: "frobnicator", install: "apt-get install -y frobnicator", available: () => false };
const present: SystemTool = { name: "node", install: "-", available: async () => true };
const ci = process.env.CI;
afterEach(() => {
  if (ci === undefined) delete process.env.CI;
  else process.env.CI = ci;
  vi.restoreAllMocks();
});

test("outside CI a missing tool skips, with one line naming the tool and its install command", async () => {
  delete process.env.CI;
  const log = vi.spyOn(console, "log").mockImplementation(() => {});
  expect(await skipWithout(missing, "the frobnication tests", import.meta.url)).toBe(true);
  expect(log).toHaveBeenCalledTimes(1);
  expect(log.mock.calls[0]?.[0]).toBe(
    "statewire: skipped test/system-tools.test.ts: the frobnication tests — needs frobnicator; install it with: apt-get install -y frobnicator",
  );
});

test("under CI=true a missing tool is an error that names it; a present tool never skips", async () => {
  process.env.CI = "true";
  await expect(skipWithout(missing, "the frobnication tests", import.meta.url)).rejects.toThrow(
    /frobnication tests needs frobnicator, which is missing\. Install it with: apt-get install -y frobnicator/,
  );
  expect(await skipWithout(present, "x", import.meta.url)).toBe(false);
  delete process.env.CI;
  expect(await skipWithout(present, "x", import.meta.url)).toBe(false);
});
