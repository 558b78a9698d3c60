/**
 * DNS rebinding against an inspector without a token: a page of `attacker.example` whose name
 * now resolves to 127.0.0.1 sends `Host: attacker.example:PORT` and a matching `Origin`, so a
 * same-origin check alone passes. Over real TCP with forged headers: without a token, the page
 * and its feed answer only loopback host names (127.0.0.0/8, ::1, localhost) and the names in
 * `allowedHosts`, and a browser's `Origin` must name the same host.
 */
import { request } from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { WebSocket } from "ws";
import { type App, createApp, websocket } from "../src/index.js";
import { hostAllowed } from "../src/inspector/host.js";
import { createInspector } from "../src/inspector/index.js";

const RUNS = process.env.STATEWIRE_DEEP === "1" ? 20_000 : 1_000;
const quiet = { error() {}, warn() {}, info() {}, debug() {} };
const echo = websocket("/echo", async (socket) => {
  await socket.accept();
  for await (const message of socket) await socket.sendText(String(message));
});

/** The feed's answer to a handshake with these headers: 101, or the refusal's status. */
function feedStatus(port: number, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/_statewire/feed`, { headers });
    ws.on("open", () => {
      ws.close();
      resolve(101);
    });
    ws.on("unexpected-response", (_request, response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
      ws.terminate();
    });
    ws.on("error", reject);
  });
}

/** The page's status for a GET with these headers. */
function pageStatus(port: number, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/_statewire", headers }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

describe("an inspector without a token, over TCP", () => {
  let app: App;
  let port: number;
  beforeAll(async () => {
    app = createApp({ routes: [echo], heartbeat: false, logger: quiet, plugins: [createInspector({ allowedHosts: ["inspector.internal"] })] });
    port = (await app.listen({ port: 0, host: "127.0.0.1" })).port;
  });
  afterAll(() => app.close());

  test("refuses a rebound name, with the Origin to match (403 for the feed and the page)", async () => {
    const attacker = { host: `attacker.example:${port}`, origin: `http://attacker.example:${port}` };
    expect(await feedStatus(port, attacker)).toBe(403);
    expect(await pageStatus(port, attacker)).toBe(403);
    expect(await feedStatus(port, { host: `attacker.example:${port}` })).toBe(403);
  });

  test("answers loopback names and allowed hosts with their own origin", async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `127.8.9.10:${port}`, `inspector.internal:${port}`, `INSPECTOR.internal`]) {
      expect(await feedStatus(port, { host, origin: `http://${host}` }), host).toBe(101);
      expect(await pageStatus(port, { host }), host).toBe(200);
    }
    expect(await feedStatus(port, { host: `127.0.0.1:${port}` })).toBe(101);
  });

  test("refuses a loopback host with another site's Origin", async () => {
    expect(await feedStatus(port, { host: `127.0.0.1:${port}`, origin: "http://attacker.example" })).toBe(403);
    expect(await feedStatus(port, { host: `localhost:${port}`, origin: `http://localhost:${port + 1}` })).toBe(403);
  });
});

describe("an inspector with a token", () => {
  test("answers any host name that presents the token (the token is the protection)", async () => {
    const app = createApp({ routes: [echo], heartbeat: false, logger: quiet, plugins: [createInspector({ token: "s3cret" })] });
    const { port } = await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      const host = `inspector.example.com:${port}`;
      expect(await feedStatus(port, { host, origin: `https://${host}`, authorization: "Bearer s3cret" })).toBe(101);
      expect(await feedStatus(port, { host, origin: `https://${host}` })).toBe(401);
    } finally {
      await app.close();
    }
  });
});

describe("hostAllowed", () => {
  const loopback = fc.oneof(
    fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255)).map(([a, b, c]) => `127.${a}.${b}.${c}`),
    fc.constantFrom("localhost", "LOCALHOST", "[::1]"),
  );
  const port = fc.option(fc.integer({ min: 1, max: 65535 }).map((p) => `:${p}`), { nil: "" });

  test("property: loopback names with any port are allowed", () => {
    fc.assert(fc.property(loopback, port, (host, suffix) => hostAllowed(`${host}${suffix}`, [])), { numRuns: RUNS });
  });

  test("property: any other host name is refused unless allowed", () => {
    const other = fc
      .oneof(
        fc.domain(),
        fc.ipV4().filter((ip) => !ip.startsWith("127.")),
        fc.constantFrom("127.0.0.1.attacker.example", "localhost.attacker.example", "127.0.0.256", "0x7f.0.0.1", "[::2]", "[::ffff:7f00:1]x", "", "a b"),
        fc.string(),
      )
      .filter((host) => !/^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/i.test(host));
    fc.assert(
      fc.property(other, port, (host, suffix) => {
        expect(hostAllowed(`${host}${suffix}`, [])).toBe(false);
        expect(hostAllowed(`${host}${suffix}`, ["inspector.internal"])).toBe(false);
      }),
      { numRuns: RUNS },
    );
    expect(hostAllowed(undefined, [])).toBe(false);
  });
});
