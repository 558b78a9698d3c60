/**
 * A vitest reporter (added after the default one): at the end of the run, lists again every
 * test skipped for a missing system tool (the lines support/system-tools.ts printed) or left to
 * the deep run, so that a green run says what it did not check.
 */
import type { UserConsoleLog } from "vitest";
import type { Reporter } from "vitest/node";

const MARK = "statewire: skipped";

export default class SkipSummary implements Reporter {
  readonly #lines = new Set<string>();

  onUserConsoleLog(log: UserConsoleLog): void {
    for (const line of log.content.split("\n")) if (line.startsWith(MARK)) this.#lines.add(line.slice(MARK.length).trim());
  }

  onTestRunEnd(): void {
    if (this.#lines.size === 0) return;
    const lines = [...this.#lines].sort();
    process.stdout.write(
      `\nSkipped in this run (${lines.length}; CI=true runs them all):\n` +
        lines.map((line) => `  - ${line}\n`).join(""),
    );
  }
}
