/**
 * The scale run, small: 10 000 idle connections over 2 workers (bench/scale.ts, the script the
 * 100 000-connection run uses), one broadcast reaching all, then SIGTERM closing all with 1001
 * and every cleanup run. Only under STATEWIRE_DEEP=1 (`npm run test:deep`): it takes minutes.
 */
import { spawn } from "node:child_process";
import { describe, expect, test } from "vitest";
import { ROOT } from "./support/process.js";
import { redisUrl } from "./support/redis-server.js";

const DEEP = process.env.STATEWIRE_DEEP === "1";
const N = 10_000;

describe.skipIf(!DEEP)("scale (STATEWIRE_DEEP=1)", () => {
  test(`${N} idle connections over 2 workers: one broadcast reaches all, shutdown closes all with 1001`, async () => {
    const url = await redisUrl();
    const child = spawn(process.execPath, ["--import", "tsx", "bench/scale.ts", "--connections", String(N), "--workers", "2", "--generators", "2", "--timeout-s", "540"], {
      cwd: ROOT,
      env: { ...process.env, REDIS_URL: url },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    const line = out.split("\n").find((l) => l.startsWith("scale: {"));
    expect(line, `no summary; stderr:\n${err}`).toBeDefined();
    console.log(line);
    const summary = JSON.parse(line!.slice("scale: ".length)) as {
      connections: number;
      broadcast: { reached: number };
      shutdown: { codes: Record<string, number>; serverExit: number; started: number; cleanups: number; handlersUnfinished: number };
    };
    expect(summary.connections).toBe(N);
    expect(summary.broadcast.reached).toBe(N);
    expect(summary.shutdown.codes).toEqual({ 1001: N });
    expect(summary.shutdown.serverExit).toBe(0);
    expect(summary.shutdown.cleanups).toBe(summary.shutdown.started);
    expect(summary.shutdown.handlersUnfinished).toBe(0);
    expect(code).toBe(0);
  }, 600_000);
});
