/**
 * A real Prometheus (Debian's `prometheus` package) started by a test: on a free port, with a
 * generated config scraping the given targets every `intervalMs`, its data in a temporary
 * directory removed at stop. Queried through its HTTP API.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "./process.js";

/** Whether a `prometheus` binary is on PATH. */
export function prometheusInstalled(): boolean {
  return spawnSync("prometheus", ["--version"], { stdio: "ignore", timeout: 10_000 }).status === 0;
}

export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Prometheus {
  readonly url: string;
  /** An instant query (`/api/v1/query`); each series' labels and value. */
  query(expression: string): Promise<Sample[]>;
  /** Poll `expression` until `accept` holds for its samples; throws with the last answer after `timeoutMs`. */
  until(expression: string, accept: (samples: Sample[]) => boolean, timeoutMs?: number): Promise<Sample[]>;
  stop(): Promise<void>;
}

export async function startPrometheus(targets: readonly { url: string; job: string }[], intervalMs = 500): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), "statewire-prometheus-"));
  const jobs = targets.map(({ url, job }) => {
    const target = new URL(url);
    return [
      `  - job_name: ${JSON.stringify(job)}`,
      `    scrape_interval: ${intervalMs}ms`,
      `    scrape_timeout: ${intervalMs}ms`,
      `    metrics_path: ${JSON.stringify(target.pathname)}`,
      `    static_configs:`,
      `      - targets: [${JSON.stringify(target.host)}]`,
    ].join("\n");
  });
  writeFileSync(join(dir, "prometheus.yml"), `global:\n  scrape_interval: ${intervalMs}ms\nscrape_configs:\n${jobs.join("\n")}\n`);
  const port = await freePort();
  const child: ChildProcess = spawn(
    "prometheus",
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited with ${child.exitCode}: ${stderr}`);
    }
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not become ready on ${url}: ${stderr}`);
    }
    await sleep(100);
  }

  const query = async (expression: string): Promise<Sample[]> => {
    const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expression)}`);
    const body = (await response.json()) as { status: string; error?: string; data?: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    if (body.status !== "success" || body.data === undefined) throw new Error(`query ${expression} failed: ${body.error ?? response.status}`);
    return body.data.result.map((series) => ({ labels: series.metric, value: Number(series.value[1]) }));
  };

  const until = async (expression: string, accept: (samples: Sample[]) => boolean, timeoutMs = 20_000): Promise<Sample[]> => {
    const end = Date.now() + timeoutMs;
    let last: Sample[] = [];
    for (;;) {
      last = await query(expression);
      if (accept(last)) return last;
      if (Date.now() > end) throw new Error(`${expression}: still ${JSON.stringify(last)} after ${timeoutMs} ms`);
      await sleep(200);
    }
  };

  return { url, query, until, stop };
}
