/**
 * The inspector as an app serves it: the page (self-contained, with its diagram), the live feed
 * (JSON updates and timelines), the token that protects both, the same-origin check on the
 * feed, and the default of staying off in production. Over the memory transport; the real
 * browser test is test/inspector-browser.test.ts.
 */
import { afterEach, describe, expect, test } from "vitest";
import { createApp, websocket, type App } from "../src/index.js";
import type { FeedMessage } from "../src/inspector/protocol.js";
import { HandshakeRejected, testClient, type TestSocket } from "../src/testing/index.js";
import { createInspector, type InspectorOptions } from "../src/inspector/index.js";

const echo = websocket("/echo", async (socket) => {
  await socket.accept();
  for await (const message of socket) await socket.sendText(String(message));
});

const apps: App[] = [];
function app(inspector: InspectorOptions | undefined): App {
  const created = createApp({ routes: [echo], heartbeat: false, ...(inspector === undefined ? {} : { plugins: [createInspector(inspector)] }) });
  apps.push(created);
  return created;
}
afterEach(async () => {
  await Promise.all(apps.splice(0).map((created) => created.close()));
});

/** Read feed messages until one satisfies `match`. */
async function until<T extends FeedMessage>(feed: TestSocket, match: (message: FeedMessage) => message is T): Promise<T>;
async function until(feed: TestSocket, match: (message: FeedMessage) => boolean): Promise<FeedMessage>;
async function until(feed: TestSocket, match: (message: FeedMessage) => boolean): Promise<FeedMessage> {
  for (;;) {
    const message = (await feed.receiveJson()) as FeedMessage;
    if (match(message)) return message;
  }
}
type Update = Extract<FeedMessage, { type: "update" }>;
type Timeline = Extract<FeedMessage, { type: "timeline" }>;
const isUpdate = (message: FeedMessage): message is Update => message.type === "update";

describe("the feed", () => {
  test("says hello, then a full update, then what changes: new rows, states, closes with their code", async () => {
    const client = testClient(app({ intervalMs: 5 }));
    const feed = await client.connect("/_statewire/feed");
    expect(await feed.receiveJson()).toMatchObject({ type: "hello", payloads: false, limits: { timeline: 200, closed: 100 } });
    const first = await until(feed, isUpdate);
    expect(first).toMatchObject({ full: true, live: [], closed: [], viewers: 1, counts: { open: 0 } });

    const ws = await client.connect("/echo?secret=1");
    const seen = await until(feed, (message): message is Update => isUpdate(message) && message.live.some((row) => row.state === "open"));
    expect(seen.full).toBe(false);
    expect(seen.live[0]).toMatchObject({ route: "/echo", path: "/echo", state: "open", client: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    expect(seen.counts.open).toBe(1);
    const id = seen.live[0]!.id;

    // Select it: its timeline so far, then what follows.
    feed.sendJson({ type: "select", id });
    const timeline = (await until(feed, (message) => message.type === "timeline")) as Timeline;
    expect(timeline).toMatchObject({ id, reset: true, known: true, evicted: 0 });
    expect(timeline.entries.map((entry) => entry.kind)).toEqual(expect.arrayContaining(["start", "transition"]));
    ws.sendText("hello");
    await ws.receiveText();
    const more = (await until(feed, (message) => message.type === "timeline" && message.entries.some((entry) => entry.kind === "out"))) as Timeline;
    expect(more.reset).toBe(false);
    expect(more.entries.find((entry) => entry.kind === "in")).toMatchObject({ size: 5, binary: false });
    expect(JSON.stringify(more)).not.toContain("hello");

    await ws.close(4000, "done");
    const closed = await until(feed, (message): message is Update => isUpdate(message) && message.closed.length > 0);
    expect(closed.gone).toContain(id);
    expect(closed.closed[0]).toMatchObject({ id, state: "closed", close: { code: 4000, codeName: "PRIVATE_USE", reason: "done", initiator: "client" } });
    expect(closed.counts).toMatchObject({ open: 0, closed: 1 });
    const closeLine = (await until(feed, (message) => message.type === "timeline" && message.entries.some((entry) => entry.kind === "close"))) as Timeline;
    expect(closeLine.entries.find((entry) => entry.kind === "close")).toMatchObject({ code: 4000, initiator: "client" });
    await feed.close();
  });

  test("the feed's own connections are not listed; a second page counts as a viewer", async () => {
    const client = testClient(app({ intervalMs: 5 }));
    const one = await client.connect("/_statewire/feed");
    await until(one, isUpdate);
    const two = await client.connect("/_statewire/feed");
    const update = await until(one, (message): message is Update => isUpdate(message) && message.viewers === 2);
    expect(update.live).toEqual([]);
    expect((await until(two, isUpdate)).live).toEqual([]);
    await two.close();
    const after = await until(one, (message): message is Update => isUpdate(message) && message.viewers === 1);
    expect(after.closed).toEqual([]);
    await one.close();
  });

  test("selecting an unknown connection says so; nonsense from the page is ignored", async () => {
    const client = testClient(app({ intervalMs: 5 }));
    const feed = await client.connect("/_statewire/feed");
    await until(feed, isUpdate);
    feed.sendText("not json");
    feed.sendJson({ type: "select", id: "1; drop table" });
    feed.sendJson({ type: "select", id: 987654 });
    expect(await until(feed, (message) => message.type === "timeline")).toMatchObject({ id: 987654, known: false, entries: [] });
    await feed.close();
  });
});

describe("the page", () => {
  test("is one self-contained document: inline code by nonce, the diagram, no external address", async () => {
    const client = testClient(app({}));
    for (const path of ["/_statewire", "/_statewire/"]) {
      const response = await client.fetch(path);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toContain("text/html");
      expect(response.headers.get("cache-control")).toBe("no-store");
      const csp = response.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("connect-src 'self'");
      const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
      expect(nonce).toBeDefined();
      const page = await response.text();
      expect(page).toContain(`<script nonce="${nonce}">`);
      expect(page).toMatch(/<svg[^>]+class="machine"/);
      for (const state of ["connecting", "open", "closing", "closed"]) expect(page).toContain(`data-state="${state}"`);
      // The only absolute URL is the SVG namespace: no CDN, no fonts, no analytics.
      expect(page.match(/https?:\/\/[^\s"'<>)]+/g)?.filter((url) => url !== "http://www.w3.org/2000/svg") ?? []).toEqual([]);
      expect(page).toContain('"feed":"/_statewire/feed"');
    }
  });

  test("a custom path moves page and feed", async () => {
    const client = testClient(app({ path: "/ops/inspect/" }));
    expect((await client.fetch("/ops/inspect")).status).toBe(200);
    expect((await client.fetch("/_statewire")).status).toBe(404);
    const feed = await client.connect("/ops/inspect/feed");
    expect(await feed.receiveJson()).toMatchObject({ type: "hello" });
    await feed.close();
    expect(() => createApp({ routes: [], plugins: [createInspector({ path: "/" })] })).toThrow(TypeError);
  });
});

describe("the token", () => {
  const token = "t0ken-with-some-length";

  test("the page refuses requests without it (401) or with a wrong one (403)", async () => {
    const client = testClient(app({ token }));
    const missing = await client.fetch("/_statewire");
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(await missing.text()).not.toContain("<svg");
    expect((await client.fetch("/_statewire?token=wrong")).status).toBe(403);
    expect((await client.fetch("/_statewire", { headers: { authorization: "Bearer wrong" } })).status).toBe(403);
    const byQuery = await client.fetch(`/_statewire?token=${token}`);
    expect(byQuery.status).toBe(200);
    // The page hands its token to its feed (a browser cannot set headers on a WebSocket).
    expect(await byQuery.text()).toContain(`"token":"${token}"`);
    expect((await client.fetch("/_statewire", { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  test("the feed refuses handshakes without it (401) or with a wrong one (403)", async () => {
    const client = testClient(app({ token }));
    const refused = async (path: string, headers: Record<string, string> = {}): Promise<number | undefined> => {
      try {
        const socket = await client.connect(path, { headers });
        await socket.close();
        return undefined;
      } catch (error) {
        return error instanceof HandshakeRejected ? error.status : -1;
      }
    };
    expect(await refused("/_statewire/feed")).toBe(401);
    expect(await refused("/_statewire/feed?token=wrong")).toBe(403);
    expect(await refused("/_statewire/feed", { authorization: "Bearer wrong" })).toBe(403);
    expect(await refused(`/_statewire/feed?token=${token}`)).toBeUndefined();
    expect(await refused("/_statewire/feed", { authorization: `Bearer ${token}` })).toBeUndefined();
  });

  test("the feed refuses a page of another origin, even without a token set", async () => {
    const client = testClient(app({}));
    await expect(client.connect("/_statewire/feed", { headers: { origin: "http://evil.example" } })).rejects.toMatchObject({ status: 403 });
    const same = await client.connect("/_statewire/feed", { headers: { origin: "http://localhost" } });
    expect(await same.receiveJson()).toMatchObject({ type: "hello" });
    await same.close();
  });
});

describe("production", () => {
  const saved = process.env.NODE_ENV;
  afterEach(() => {
    if (saved === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = saved;
  });

  test("off when NODE_ENV=production unless enabled explicitly", async () => {
    process.env.NODE_ENV = "production";
    const off = testClient(app({ token: "x" }));
    expect((await off.fetch("/_statewire?token=x")).status).toBe(404);
    await expect(off.connect("/_statewire/feed?token=x")).rejects.toMatchObject({ status: 404 });

    const on = testClient(app({ token: "x", enabled: true }));
    expect((await on.fetch("/_statewire?token=x")).status).toBe(200);
    expect((await on.fetch("/_statewire")).status).toBe(401);
  });
});
