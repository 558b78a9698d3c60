/**
 * The inspector in a real browser: headless Chromium (Debian's, at /usr/bin/chromium; .ci/run
 * installs it when missing; skipped without it outside CI) driven by playwright-core. The app runs in this process on
 * 127.0.0.1; connections are opened from the test with the `ws` client; the page must list them
 * with their route and state, move one closed with 4000 to the closed list with its meaning,
 * filter, draw the machine with the current state highlighted, and refuse requests without the
 * token. The page may not reach any other address. It saves docs/inspector.png, the picture
 * the README shows.
 */
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { WebSocket } from "ws";
import { createApp, websocket, websocketListener, WebSocketDisconnect, type App } from "../src/index.js";
import { protocol } from "../examples/protocol.js";
import { CHROMIUM as CHROMIUM_TOOL, skipWithout } from "./support/system-tools.js";
import { createInspector } from "../src/inspector/index.js";

const CHROMIUM = "/usr/bin/chromium";
const TOKEN = "browser-test-token";
// The README's picture is rewritten only when asked (UPDATE_SCREENSHOT=1); otherwise the shot goes to test/artifacts.
const SCREENSHOT = fileURLToPath(
  new URL(process.env.UPDATE_SCREENSHOT === "1" ? "../docs/inspector.png" : "./artifacts/inspector.png", import.meta.url),
);
const noChromium = await skipWithout(CHROMIUM_TOOL, "the inspector in headless Chromium", import.meta.url);

let releaseSlow: () => void = () => {};
const slowGate = new Promise<void>((resolve) => (releaseSlow = resolve));

const routes = [
  websocket("/ws", async (socket) => {
    await socket.accept();
    try {
      for (;;) {
        const message = await socket.receiveText();
        if (message === "boom") throw new Error("handler failure");
        await socket.sendText(`Echo: ${message}`);
      }
    } catch (error) {
      if (!(error instanceof WebSocketDisconnect)) throw error;
    }
  }),
  websocketListener("/rooms/:room", (text: string) => ({ said: text, at: "lobby" })),
  // Accepts only when the test lets it: a connection that stays in `connecting`.
  websocket("/slow", async (socket) => {
    await slowGate;
    await socket.accept();
    for await (const _ of socket);
  }),
  protocol,
];

let app: App;
let base: string;
let browser: Browser;
let page: Page;
const clients: WebSocket[] = [];
const pageErrors: string[] = [];
const foreignRequests: string[] = [];

function open(path: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(base.replace(/^http/, "ws") + path);
    clients.push(ws);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}
function reply(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve) => {
    ws.once("message", (data) => resolve(String(data)));
    ws.send(text);
  });
}
function closed(ws: WebSocket, code?: number, reason?: string): Promise<number> {
  return new Promise((resolve) => {
    ws.once("close", (closeCode) => resolve(closeCode));
    if (code !== undefined) ws.close(code, reason);
  });
}
/** The status of a WebSocket handshake the server refuses. */
function refusedWith(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once("unexpected-response", (_request, response) => {
      resolve(response.statusCode ?? 0);
      ws.terminate();
    });
    ws.once("open", () => reject(new Error("the handshake was accepted")));
    ws.once("error", () => {});
  });
}

const liveRow = (id: string): string => `#live tbody tr[data-id="${id}"]`;
const texts = (selector: string): Promise<string[]> => page.locator(selector).allTextContents();

describe.skipIf(noChromium)("the inspector in headless Chromium", () => {
  beforeAll(async () => {
    app = createApp({ routes, heartbeat: false, logger: { error() {}, warn() {}, info() {}, debug() {} } as never, plugins: [createInspector({ token: TOKEN, intervalMs: 50 })] });
    base = (await app.listen()).url;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    page.on("pageerror", (error) => pageErrors.push(String(error)));
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(message.text());
    });
    page.on("request", (request) => {
      const url = request.url();
      if (!url.startsWith(base) && !url.startsWith(base.replace(/^http/, "ws")) && !url.startsWith("data:")) foreignRequests.push(url);
    });
  }, 30_000);

  afterAll(async () => {
    for (const ws of clients) ws.terminate();
    await browser?.close();
    releaseSlow();
    await app?.close({ timeoutMs: 2000 });
  });

  test("without the token the page and its feed refuse (401, 403)", async () => {
    expect((await fetch(`${base}/_statewire`)).status).toBe(401);
    expect((await fetch(`${base}/_statewire?token=wrong`)).status).toBe(403);
    expect((await fetch(`${base}/_statewire`, { headers: { authorization: "Bearer wrong" } })).status).toBe(403);
    const ws = base.replace(/^http/, "ws");
    expect(await refusedWith(`${ws}/_statewire/feed`)).toBe(401);
    expect(await refusedWith(`${ws}/_statewire/feed?token=wrong`)).toBe(403);
    // What a browser shows for the refused page.
    const answer = await page.goto(`${base}/_statewire`);
    expect(answer?.status()).toBe(401);
    expect(await page.locator("svg.machine").count()).toBe(0);
  });

  test("lists connections with route and state, moves one closed with 4000 to the closed list, filters, draws the machine", async () => {
    // The refused page above logged its 401 (and a favicon 404): from here on, no error at all.
    pageErrors.length = 0;
    const answer = await page.goto(`${base}/_statewire?token=${TOKEN}`);
    expect(answer?.status()).toBe(200);
    await page.waitForSelector("#status.live", { timeout: 10_000 });
    // No connection yet: the page's own feed is not listed.
    await expect.poll(() => page.locator("#live tbody tr").count()).toBe(0);
    await expect.poll(() => page.locator("#viewers").textContent()).toBe("1 viewer");

    const a = await open("/ws");
    const b = await open("/ws?user=ada");
    const room = await open("/rooms/lobby");
    expect(await reply(a, "hello")).toBe("Echo: hello");
    expect(await reply(room, "hi all")).toBe('{"said":"hi all","at":"lobby"}');
    expect(await reply(room, "again")).toContain("again");
    void open("/slow").catch(() => {});

    await expect.poll(() => page.locator("#live tbody tr").count(), { timeout: 5000 }).toBe(4);
    const rows = await page.locator("#live tbody tr").evaluateAll((trs) =>
      trs.map((tr) => ({
        id: tr.getAttribute("data-id"),
        route: tr.querySelector('[data-role="route"]')?.firstChild?.textContent,
        state: tr.querySelector('[data-role="state"]')?.textContent,
        client: tr.querySelector('[data-role="client"]')?.textContent,
      })),
    );
    expect(rows.map((row) => `${row.route} ${row.state}`)).toEqual(["/ws open", "/ws open", "/rooms/:room open", "/slow connecting"]);
    for (const row of rows) expect(row.client).toMatch(/^127\.0\.0\.1:\d+$/);
    await expect.poll(() => texts("#counts .count b")).toEqual(["1", "3", "0", "0"]);
    const [aId, bId, roomId, slowId] = rows.map((row) => row.id!);

    // Close one from the client with 4000: it leaves the live list and shows in the closed list.
    expect(await closed(b, 4000, "test done")).toBe(4000);
    await page.waitForSelector(`#closed tbody tr[data-id="${bId}"]`, { timeout: 5000 });
    expect(await page.locator(liveRow(bId!)).count()).toBe(0);
    const closedRow = page.locator(`#closed tbody tr[data-id="${bId}"]`);
    expect(await closedRow.locator('[data-role="code"]').textContent()).toBe("4000PRIVATE_USE");
    expect(await closedRow.locator('[data-role="meaning"]').textContent()).toBe("private use: a code the application defines");
    expect(await closedRow.locator('[data-role="reason"]').textContent()).toBe("test done");
    expect(await closedRow.locator('[data-role="initiator"]').textContent()).toBe("client");
    await expect.poll(() => texts("#counts .count b")).toEqual(["1", "2", "0", "1"]);

    // A handler failure: 1011, initiated by the server.
    a.send("boom");
    await page.waitForSelector(`#closed tbody tr[data-id="${aId}"]`, { timeout: 5000 });
    expect(await page.locator(`#closed tbody tr[data-id="${aId}"] [data-role="code"]`).textContent()).toBe("1011INTERNAL_ERROR");
    expect(await page.locator(`#closed tbody tr[data-id="${aId}"] [data-role="initiator"]`).textContent()).toBe("server");

    // Filters: by route, by state.
    await page.selectOption("#filter-route", "/rooms/:room");
    await expect.poll(() => page.locator("#live tbody tr").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-id")))).toEqual([roomId]);
    expect(await page.locator("#closed tbody tr").count()).toBe(0);
    await page.selectOption("#filter-route", "/ws");
    expect(await page.locator("#live tbody tr").count()).toBe(0);
    expect(await page.locator("#closed tbody tr").count()).toBe(2);
    await page.selectOption("#filter-route", "");
    await page.selectOption("#filter-state", "connecting");
    await expect.poll(() => page.locator("#live tbody tr").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-id")))).toEqual([slowId]);
    expect(await page.locator("#closed tbody tr").count()).toBe(0);
    await page.selectOption("#filter-state", "closed");
    expect(await page.locator("#live tbody tr").count()).toBe(0);
    expect(await page.locator("#closed tbody tr").count()).toBe(2);
    await page.selectOption("#filter-state", "");
    expect(await page.locator("#live tbody tr").count()).toBe(2);

    // The slow one is accepted: its row turns open.
    releaseSlow();
    await expect.poll(() => page.locator(`${liveRow(slowId!)} [data-role="state"]`).textContent(), { timeout: 5000 }).toBe("open");

    // The diagram, generated from the machine: four states, the selected connection's current one highlighted.
    await page.click(liveRow(roomId!));
    await expect.poll(() => page.locator("svg.machine .state.current").getAttribute("data-state")).toBe("open");
    expect(await page.locator("svg.machine .state").evaluateAll((gs) => gs.map((g) => g.getAttribute("data-state")))).toEqual(["connecting", "open", "closing", "closed"]);
    expect(await page.locator("svg.machine .state.current").count()).toBe(1);
    expect(await page.locator('svg.machine .edge.taken[data-from="connecting"][data-to="open"]').count()).toBe(1);
    expect(await page.locator('svg.machine .event.taken[data-event="accept"]').count()).toBe(1);
    // Its timeline: the accept, messages in and out with sizes (redacted: no payload).
    await expect.poll(() => texts("#timeline li"), { timeout: 5000 }).toEqual(
      expect.arrayContaining([expect.stringContaining("accept: connecting → open"), expect.stringContaining("← text 6 B"), expect.stringContaining("→ text 30 B")]),
    );
    expect((await texts("#timeline li")).join("\n")).not.toContain("hi all");

    // The closed one: the machine at `closed`, and its close line with code, meaning and initiator.
    await page.click(`#closed tbody tr[data-id="${bId}"]`);
    await expect.poll(() => page.locator("svg.machine .state.current").getAttribute("data-state")).toBe("closed");
    await expect.poll(() => texts("#timeline li")).toEqual(
      expect.arrayContaining([expect.stringMatching(/close 4000 PRIVATE_USE — private use: a code the application defines · reason "test done" · initiated by client/)]),
    );
    expect(await page.locator('svg.machine .edge.taken[data-from="open"][data-to="closing"]').count()).toBe(1);
    expect(await page.locator('svg.machine .event.taken[data-event="peerClose"]').count()).toBe(1);

    // A little more traffic, and back to a live one with some history, for the picture the README shows.
    for (const path of ["/rooms/kitchen", "/rooms/garden", "/ws?user=grace"]) {
      const ws = await open(path);
      await reply(ws, path.startsWith("/ws") ? "how are you?" : "hello room");
    }
    expect(await reply(room, "bye for now")).toContain("bye");
    await expect.poll(() => page.locator("#live tbody tr").count(), { timeout: 5000 }).toBe(5);
    await page.click(liveRow(roomId!));
    await expect.poll(() => page.locator("svg.machine .state.current").getAttribute("data-state")).toBe("open");
    await expect.poll(() => page.locator("#timeline li").count()).toBeGreaterThan(4);
    mkdirSync(fileURLToPath(new URL(".", `file://${SCREENSHOT}`)), { recursive: true });
    await page.setViewportSize({ width: 1440, height: 800 });
    await page.screenshot({ path: SCREENSHOT });

    expect(pageErrors).toEqual([]);
    expect(foreignRequests).toEqual([]);
    room.close();
  });

  test("a machine route: its handler machine beside the connection machine, current state highlighted, transitions in the timeline", async () => {
    const ws = await open("/protocol");
    expect(JSON.parse(await reply(ws, JSON.stringify({ type: "hello", name: "ada" })))).toEqual({ type: "welcome", name: "ada" });
    expect(JSON.parse(await reply(ws, JSON.stringify({ type: "subscribe", topic: "news" })))).toEqual({ type: "subscribed", topic: "news" });
    const row = page.locator('#live tbody tr:has-text("/protocol")');
    await expect.poll(() => row.count(), { timeout: 5000 }).toBe(1);
    await row.click();
    const drawing = page.locator("#handler-diagram svg.handler-machine");
    await expect.poll(() => drawing.count(), { timeout: 5000 }).toBe(1);
    expect(await page.locator("#handler-diagram").isHidden()).toBe(false);
    // Drawn from the definition: every state, the connection machine still beside it.
    expect(await drawing.locator(".hstate").evaluateAll((gs) => gs.map((g) => g.getAttribute("data-path")))).toEqual(["", "greeting", "ready", "done"]);
    expect(await page.locator("svg.machine .state.current").getAttribute("data-state")).toBe("open");
    await expect.poll(() => drawing.locator('.hstate.current:not([data-path=""])').getAttribute("data-path")).toBe("ready");
    expect(await drawing.locator('.hstate[data-path="greeting"] > .htransition.taken[data-event="hello"]').count()).toBe(1);
    expect(await drawing.locator('.hstate[data-path="ready"] > .htransition.taken[data-event="subscribe"]').count()).toBe(1);
    await expect.poll(() => texts("#timeline li"), { timeout: 5000 }).toEqual(
      expect.arrayContaining([expect.stringContaining("handler machine hello: greeting → ready"), expect.stringContaining("handler machine subscribe: ready → ready")]),
    );
    // bye: the machine reaches `done`, the connection closes 1000 "bye".
    ws.send(JSON.stringify({ type: "bye" }));
    expect(await closed(ws)).toBe(1000);
    const closedRow = page.locator('#closed tbody tr:has-text("/protocol")');
    await expect.poll(() => closedRow.count(), { timeout: 5000 }).toBe(1);
    await closedRow.click();
    await expect.poll(() => drawing.locator('.hstate.current:not([data-path=""])').getAttribute("data-path")).toBe("done");
    // A connection on another kind of route shows no handler machine.
    await page.locator(`#closed tbody tr:not(:has-text("/protocol"))`).first().click();
    await expect.poll(() => page.locator("#handler-diagram").isHidden()).toBe(true);
    expect(pageErrors).toEqual([]);
  });
});
