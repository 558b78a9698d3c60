/**
 * statewire as a package: what its entries load, and (under `npm run test:deep` and CI, it takes
 * a while) the packed tarball installed into an empty project, used from there as a user would:
 * `statewire/testing` importable (fast-check is an optional peer dependency), and an example
 * copied as it is, compiled with tsc and run with `node dist/…`.
 */
import { execFile, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, test } from "vitest";
import { WebSocket } from "ws";
import { NODE_TS, ROOT, startServer } from "./support/process.js";

const run = promisify(execFile);
const LOADED = join(ROOT, "test/support/loaded-packages.mjs");

/** The npm packages `node … -e 'await import(specifier)'` loads. */
async function packagesLoadedBy(specifier: string, args: readonly string[] = NODE_TS, cwd = ROOT): Promise<Set<string>> {
  const { stderr } = await run(process.execPath, [...args, "--import", LOADED, "--input-type=module", "-e", `await import(${JSON.stringify(specifier)})`], {
    cwd,
    timeout: 30_000,
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  return new Set([...stderr.matchAll(/^loaded-package (.+)$/gm)].map((match) => match[1]!));
}

describe("what each entry loads (from the sources)", () => {
  test("`statewire` loads neither effect nor ioredis; `statewire/redis` loads ioredis", async () => {
    const [root, redis] = await Promise.all([packagesLoadedBy("statewire"), packagesLoadedBy("statewire/redis")]);
    expect(root.has("ws"), [...root].join(", ")).toBe(true);
    expect(root.has("effect"), [...root].join(", ")).toBe(false);
    expect(root.has("ioredis"), [...root].join(", ")).toBe(false);
    expect(redis.has("ioredis"), [...redis].join(", ")).toBe(true);
  }, 40_000);
});

const deep = process.env.STATEWIRE_DEEP === "1" || process.env.CI === "true";
if (!deep) console.log("statewire: skipped test/package.test.ts: the packed tarball installed into an empty project — runs under npm run test:deep and CI=true (npm pack + npm install take ~30 s)");

describe.skipIf(!deep)("the packed tarball, installed into an empty project", () => {
  const dir = mkdtempSync(join(tmpdir(), "statewire-package-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("installs with fast-check, imports statewire/testing, and runs a copied example compiled with tsc", async () => {
    const pack = spawnSync("npm", ["pack", "--silent", "--pack-destination", dir], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
    expect(pack.status, pack.stderr).toBe(0);
    const tarball = join(dir, pack.stdout.trim().split("\n").at(-1)!);
    const app = join(dir, "app");
    cpSync(join(ROOT, "examples/echo.ts"), join(app, "src/echo.ts"));
    cpSync(join(ROOT, "examples/serve.ts"), join(app, "src/serve.ts"));
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, types: ["node"], outDir: "dist", rootDir: "src", skipLibCheck: true }, include: ["src"] }),
    );
    const install = spawnSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball, "fast-check@^4", "@types/node@^20"], { cwd: app, encoding: "utf8", timeout: 180_000 });
    expect(install.status, install.stderr).toBe(0);

    const script = `
      import { createApp, websocketListener } from "statewire";
      import { clientFlows, testClient } from "statewire/testing";
      const app = createApp({ routes: [websocketListener("/ws", (text) => "Echo: " + text)] });
      const ws = await testClient(app).connect("/ws");
      ws.sendText("hi");
      console.log(JSON.stringify({ reply: await ws.receiveText(), flows: typeof clientFlows }));
      await app.close();`;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], { cwd: app, timeout: 30_000 });
    expect(JSON.parse(stdout.trim())).toEqual({ reply: "Echo: hi", flows: "function" });
    const loaded = await packagesLoadedBy("statewire", [], app);
    expect(loaded.has("effect") || loaded.has("ioredis"), [...loaded].join(", ")).toBe(false);

    const tsc = spawnSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], { cwd: app, encoding: "utf8", timeout: 120_000 });
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
    const server = await startServer({ command: process.execPath, args: [join(app, "dist/echo.js")] });
    try {
      const reply = await new Promise<string>((resolve, reject) => {
        const ws = new WebSocket(`${server.wsBase}/ws`);
        ws.once("open", () => ws.send("compiled"));
        ws.once("message", (data) => {
          resolve(String(data));
          ws.close();
        });
        ws.once("error", reject);
      });
      expect(reply).toBe("Echo: compiled");
    } finally {
      const exit = await server.stop();
      expect(exit.code, server.stderr()).toBe(0);
    }
  }, 400_000);
});
