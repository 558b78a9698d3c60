/**
 * `examples/chat-rooms.ts` in process (memory backend), over memory and TCP: the room socket,
 * the history route and the page. Its Redis side is tested with two real processes in
 * channels-processes.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { App } from "../src/index.js";
import { testClient, type TestSocket } from "../src/testing/index.js";

let app: App;
beforeAll(async () => {
  // The example picks its backend from the environment when it is loaded: here, memory.
  delete process.env.REDIS_URL;
  ({ app } = await import("../examples/chat-rooms.js"));
});
afterAll(async () => {
  await app.close({ timeoutMs: 1000 });
});

async function texts(socket: TestSocket, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await socket.receiveText());
  return out;
}

describe.each(["memory", "tcp"] as const)("chat-rooms example over %s", (transport) => {
  let client: ReturnType<typeof testClient>;
  beforeAll(() => {
    client = testClient(app, { transport });
  });
  afterAll(async () => {
    await client.close();
  });

  test("GET / is a self-contained HTML page that chats over /rooms/:room", async () => {
    const response = await client.fetch("/");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    const page = await response.text();
    expect(page).toMatch(/^<!doctype html>/i);
    expect(page).toContain("<script>");
    expect(page).toContain("new WebSocket(");
    expect(page).toContain('"/rooms/"');
    // Vanilla JS, no CDN: no external script, stylesheet or import.
    expect(page).not.toMatch(/<script[^>]+src=/i);
    expect(page).not.toMatch(/<link[^>]+href=/i);
    expect(page).not.toMatch(/\bimport\s*\(|https?:\/\//i);
  });

  test("each message reaches every member, the sender included, in order; history is the last 50 texts", async () => {
    const room = `room-${transport}`;
    expect(await (await client.fetch(`/rooms/${room}/history`)).json()).toEqual([]);
    const alice = await client.connect(`/rooms/${room}`);
    const bob = await client.connect(`/rooms/${room}`);
    // Both have joined once their own first message comes back.
    alice.sendText("alice: hi");
    expect(await alice.receiveText()).toBe("alice: hi");
    expect(await bob.receiveText()).toBe("alice: hi");
    for (let i = 0; i < 59; i++) bob.sendText(`bob: ${i}`);
    const sent = Array.from({ length: 59 }, (_, i) => `bob: ${i}`);
    expect(await texts(alice, 59)).toEqual(sent);
    expect(await texts(bob, 59)).toEqual(sent);

    const history = await client.fetch(`/rooms/${room}/history`);
    expect(history.headers.get("content-type")).toMatch(/application\/json/);
    const all = ["alice: hi", ...sent];
    expect(await history.json()).toEqual(all.slice(-50));

    // A new member: the last 20 first, then live ones.
    const carol = await client.connect(`/rooms/${room}`);
    expect(await texts(carol, 20)).toEqual(all.slice(-20));
    alice.sendText("alice: welcome carol");
    expect(await carol.receiveText()).toBe("alice: welcome carol");
    await Promise.all([alice.close(), bob.close(), carol.close()]);
  });

  test("an invalid room name is refused: close 1008 on the socket, 400 on the history route", async () => {
    const socket = await client.connect("/rooms/not%20valid");
    expect((await socket.closed).code).toBe(1008);
    expect((await client.fetch("/rooms/not%20valid/history")).status).toBe(400);
  });
});
