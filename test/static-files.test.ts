/**
 * `staticFiles()`: content types, 404s, and no way out of the directory — `..` raw or encoded,
 * backslashes, NUL, symlinks — checked over raw TCP so nothing normalises the request first.
 */
import { mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { app as chatApp, staticDirectory } from "../examples/static-chat.js";
import { createApp, type Logger, staticFiles } from "../src/index.js";
import { testClient } from "../src/testing/index.js";

const runs = process.env.STATEWIRE_DEEP === "1" ? 2000 : 200;
const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

let outside: string;
let served: string;
let base: { host: string; port: number };
const app = createApp({ logger: quiet, routes: [] });
let secretApp: ReturnType<typeof createApp>;

beforeAll(async () => {
  outside = await mkdtemp(join(tmpdir(), "statewire-static-"));
  served = join(outside, "public");
  await import("node:fs/promises").then((fs) => fs.mkdir(served));
  await writeFile(join(outside, "secret.txt"), "SECRET");
  await writeFile(join(served, "a.json"), '{"a":1}');
  await writeFile(join(served, "inner.txt"), "inner");
  await symlink(join(outside, "secret.txt"), join(served, "leak.txt"));
  await symlink(join(served, "inner.txt"), join(served, "alias.txt"));
  secretApp = createApp({ logger: quiet, routes: [staticFiles("/files", served)] });
  const address = await secretApp.listen({ port: 0, host: "127.0.0.1" });
  base = { host: address.host, port: address.port };
});
afterAll(async () => {
  await secretApp.close({ timeoutMs: 1000 });
  await app.close({ timeoutMs: 1000 });
  await chatApp.close({ timeoutMs: 1000 });
  await rm(outside, { recursive: true, force: true });
});

/** One raw HTTP/1.1 request; the status and the body as the server sent them. */
function raw(target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(base.port, base.host, () => socket.write(`GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`));
    const chunks: Buffer[] = [];
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("end", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      resolve({ status: Number(text.slice(9, 12)), body: text.slice(text.indexOf("\r\n\r\n") + 4) });
    });
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer for ${target}`)));
  });
}

describe("staticFiles", () => {
  test("Responder's chat page from static/: HTML, script and stylesheet with their content types; the page's socket works", async () => {
    const client = testClient(chatApp);
    const page = await client.fetch("/static/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await page.text()).toBe(await readFile(join(staticDirectory, "index.html"), "utf8"));
    const script = await client.fetch("/static/chat.js");
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(await script.text()).toContain("/rooms/lobby");
    expect((await client.fetch("/static/chat.css")).headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect((await client.fetch("/static/missing.png")).status).toBe(404);
    const ws = await client.connect("/rooms/lobby");
    ws.sendText("hi");
    expect(await ws.receiveText()).toBe("hi");
    await ws.close();
  });

  test("a file, JSON typed; a symlink inside the directory is served; one leading out is 404", async () => {
    expect(await raw("/files/a.json")).toMatchObject({ status: 200, body: '{"a":1}' });
    expect(await raw("/files/alias.txt")).toMatchObject({ status: 200, body: "inner" });
    expect((await raw("/files/leak.txt")).status).toBe(404);
  });

  test.each([
    "/files/../secret.txt",
    "/files/..%2fsecret.txt",
    "/files/%2e%2e/secret.txt",
    "/files/%2E%2E%2Fsecret.txt",
    "/files/..%5csecret.txt",
    "/files/a.json%00",
    "/files/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/files//etc/passwd",
    "/files/",
  ])("%s never leaves the directory", async (target) => {
    const { status, body } = await raw(target);
    expect([400, 404]).toContain(status);
    expect(body).not.toContain("SECRET");
  });

  test("property: any target built of dots, slashes, encodings and names gets a served file's exact bytes or 400/404", async () => {
    const files = new Map([["a.json", '{"a":1}'], ["inner.txt", "inner"], ["alias.txt", "inner"]]);
    const piece = fc.constantFrom("..", ".", "/", "%2e", "%2E", "%2f", "%5c", "\\\\", "%00", "a.json", "inner.txt", "leak.txt", "secret.txt", "public", "%252e");
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { minLength: 1, maxLength: 8 }), async (pieces) => {
        const { status, body } = await raw(`/files/${pieces.join("")}`);
        expect(body).not.toContain("SECRET");
        if (status === 200) expect([...files.values()]).toContain(body);
        else expect([400, 404]).toContain(status);
      }),
      { numRuns: runs },
    );
  });
});
