/**
 * The inspector's previews are copies: after 10 connections × 100 echoed 100 kB messages have
 * closed, an inspector with `payloads: true` holds at most a few MiB (a 200-character preview per
 * timeline entry), not the messages a sliced string would keep alive. Measured in a child
 * process with `--expose-gc`, heap in use after a full GC.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, test } from "vitest";
import { previewOf, describeError } from "../src/inspector/redact.js";
import { ROOT } from "./support/process.js";

const run = promisify(execFile);

test("10 closed connections × 100 echoed 100 kB messages leave under 16 MiB behind", { timeout: 120_000 }, async () => {
  const { stdout } = await run(process.execPath, ["--expose-gc", "--import", "tsx", "test/support/inspector-retention.ts"], {
    cwd: ROOT,
    timeout: 110_000,
  });
  const { retainedBytes, trafficBytes } = JSON.parse(stdout.trim().split("\n").at(-1)!) as { retainedBytes: number; trafficBytes: number };
  expect(trafficBytes).toBe(100_000_000);
  expect(retainedBytes).toBeLessThan(16 * 1024 * 1024);
});

test("previews and error messages are bounded whatever their source's length", () => {
  const long = "x".repeat(1_000_000);
  expect(previewOf(long, false)).toHaveLength(201);
  expect(previewOf(Buffer.from(long), false)).toHaveLength(201);
  expect(previewOf(Buffer.alloc(1_000_000), true).length).toBeLessThan(200);
  expect(describeError(new Error(long), true)).toHaveLength("Error: ".length + 200);
});
