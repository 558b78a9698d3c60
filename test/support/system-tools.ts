/**
 * Tests that need something npm does not install: Chromium, Python's `websockets`, a Redis.
 *
 * Outside CI, a test whose tool is missing is skipped with one line naming the tool and its
 * install command (`statewire: skipped …`), and test/support/skip-summary.ts lists every such
 * skip again at the end of the run. Under CI=true nothing is skipped: a missing tool fails the
 * test file at once with the same message (.ci/run installs them all first).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { ROOT } from "./process.js";
import { redisAnswers } from "./redis-server.js";

export interface SystemTool {
  /** What is missing, as a user would look for it. */
  readonly name: string;
  /** The command that installs it on Debian. */
  readonly install: string;
  readonly available: () => boolean | Promise<boolean>;
}

/** Prefix of the skip line; skip-summary.ts collects the lines that start with it. */
export const SKIP_MARK = "statewire: skipped";

const onPath = (command: string, ...args: string[]): boolean => spawnSync(command, args, { stdio: "ignore", timeout: 10_000 }).status === 0;

export const CHROMIUM: SystemTool = {
  name: "Chromium at /usr/bin/chromium",
  install: "apt-get install -y chromium",
  available: () => existsSync("/usr/bin/chromium"),
};

export const PYTHON_WEBSOCKETS: SystemTool = {
  name: "Python's websockets for /usr/bin/python3",
  install: "apt-get install -y python3-websockets",
  available: () => onPath("/usr/bin/python3", "-c", "import websockets"),
};

/** The `redis-server` program itself (a test that kills and restarts its own Redis). */
export const REDIS_SERVER: SystemTool = {
  name: "redis-server",
  install: "apt-get install -y redis-server",
  available: () => onPath("redis-server", "--version"),
};

/** A Redis: one answering at 127.0.0.1:6379, or `redis-server` to start a private one (support/redis-server.ts). */
export const REDIS: SystemTool = {
  name: "a Redis at 127.0.0.1:6379 or redis-server",
  install: "apt-get install -y redis-server",
  available: async () => (await redisAnswers(6379)) || REDIS_SERVER.available(),
};

export const PROMETHEUS: SystemTool = {
  name: "prometheus",
  install: "apt-get install -y prometheus",
  available: () => onPath("prometheus", "--version"),
};

const underCi = (): boolean => process.env.CI === "true" || process.env.CI === "1";

/**
 * Whether the tests described by `what` (in the file `moduleUrl`) must be skipped for lack of
 * `tool`. Outside CI: prints the skip line and answers true when it is missing. Under CI:
 * throws when it is missing, so the file fails naming the tool.
 *
 * ```ts
 * const noChromium = await skipWithout(CHROMIUM, "the page in headless Chromium", import.meta.url);
 * describe.skipIf(noChromium)("the page in headless Chromium", () => { … });
 * ```
 */
export async function skipWithout(tool: SystemTool, what: string, moduleUrl: string): Promise<boolean> {
  if (await tool.available()) return false;
  const file = relative(ROOT, fileURLToPath(moduleUrl));
  if (underCi()) {
    throw new Error(`${file}: ${what} needs ${tool.name}, which is missing. Install it with: ${tool.install} (under CI=true such tests run, never skip)`);
  }
  console.log(`${SKIP_MARK} ${file}: ${what} — needs ${tool.name}; install it with: ${tool.install}`);
  return true;
}
