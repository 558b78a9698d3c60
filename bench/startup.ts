/**
 * Startup costs, measured the way a user meets them (`node --import tsx bench/startup.ts`):
 *
 * - `import("statewire")`: wall time of `node -e 'import("statewire")'` (the compiled package,
 *   through its own `exports`; run `npm run build` first), and of the same import from the
 *   TypeScript sources (`node --conditions=statewire-source --import tsx`), minus nothing: the
 *   whole process, start to exit, as a user's `time` would show.
 * - `npm start`: from spawning the command to its `listening on …` line.
 *
 * Each is run `--runs=N` times (default 9), one after another; the median and the range are printed.
 * `--only=baseline,dist,source,start` picks cases; `--root=DIR` measures another checkout.
 * 127.0.0.1 only; every server started is stopped with SIGTERM.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** `--root=DIR`: measure another checkout (e.g. an older commit, built) instead of this one. */
const ROOT = process.argv.find((arg) => arg.startsWith("--root="))?.slice("--root=".length) ?? fileURLToPath(new URL("../", import.meta.url));
const runs = Number(process.argv.find((arg) => arg.startsWith("--runs="))?.slice("--runs=".length) ?? 9);

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Milliseconds from spawn until `done(stdout)` is true (then SIGTERM), or until exit when `done` is absent. */
function timeRun(command: string, args: readonly string[], env: Record<string, string>, done?: (out: string) => boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    // Its own process group: `npm start` runs the server as a child of npm, and both must go.
    const child = spawn(command, [...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const killGroup = (signal: NodeJS.Signals): void => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // already gone
      }
    };
    let out = "";
    let err = "";
    let elapsed: number | undefined;
    const timer = setTimeout(() => {
      killGroup("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")}: nothing within 30 s\n${out}\n${err}`));
    }, 30_000);
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      if (elapsed === undefined && done?.(out) === true) {
        elapsed = performance.now() - started;
        killGroup("SIGTERM");
      }
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (done === undefined) {
        if (code !== 0) reject(new Error(`${command} ${args.join(" ")} exited ${code}\n${err}`));
        else resolve(performance.now() - started);
      } else if (elapsed === undefined) reject(new Error(`${command} ${args.join(" ")} exited ${code} before its line\n${out}\n${err}`));
      else resolve(elapsed);
    });
  });
}

async function measure(name: string, run: () => Promise<number>): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await run());
  const fmt = (ms: number): string => `${Math.round(ms)} ms`;
  console.log(`${name.padEnd(58)} median ${fmt(median(times))}  (min ${fmt(Math.min(...times))}, max ${fmt(Math.max(...times))}, ${runs} runs)`);
}

const node = process.execPath;
const only = process.argv.find((arg) => arg.startsWith("--only="))?.slice("--only=".length);
const cases: Record<string, [string, () => Promise<number>]> = {
  baseline: ["node -e '0' (Node itself)", () => timeRun(node, ["-e", "0"], {})],
  dist: ['node -e \'import("statewire")\' (compiled, dist/)', () => timeRun(node, ["-e", 'import("statewire")'], {})],
  source: [
    "node --conditions=statewire-source --import tsx -e (sources)",
    () => timeRun(node, ["--conditions=statewire-source", "--import", "tsx", "-e", 'import("statewire")'], {}),
  ],
  start: [
    "npm start until `listening on …`",
    () => timeRun("npm", ["start", "--silent"], { PORT: "0", HOST: "127.0.0.1" }, (out) => /^listening on /m.test(out)),
  ],
};
for (const [key, [name, run]] of Object.entries(cases)) {
  if (only !== undefined && !only.split(",").includes(key)) continue;
  await measure(name, run);
}
process.exit(0); // the esbuild service tsx started can keep the loop alive
