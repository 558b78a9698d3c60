/**
 * The README's first command: `npm start` runs the demo, which serves its page (the echo, a
 * stream and a room chat, with a link to the inspector) and the routes the page uses.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { WebSocket } from "ws";
import { type EchoProcess, startServer } from "./support/process.js";

let demo: EchoProcess;
beforeAll(async () => {
  demo = await startServer({ command: "npm", args: ["start", "--silent"] }, 30_000);
}, 40_000);
afterAll(async () => {
  await demo?.stop();
  // npm itself reports the forwarded SIGTERM as its exit signal; what matters is that the demo
  // shut down on its own, without the SIGKILL fallback.
  expect(demo?.killed()).toBe(false);
});

/** The first `count` messages a socket at `path` receives after sending `send` (if any). */
function firstMessages(path: string, count: number, send?: string): Promise<string[]> {
  return new Promise<string[]>((resolve, reject) => {
    const ws = new WebSocket(`${demo.wsBase}${path}`);
    const received: string[] = [];
    const timer = setTimeout(() => reject(new Error(`${path}: ${received.length} of ${count} messages within 10 s`)), 10_000);
    ws.on("open", () => send !== undefined && ws.send(send));
    ws.on("message", (data) => {
      if (received.push(String(data)) < count) return;
      clearTimeout(timer);
      resolve(received);
      ws.close();
    });
    ws.on("error", reject);
  });
}

test("npm start serves the demo page: the echo, a stream and a room chat, and a link to the inspector", async () => {
  const page = await fetch(`${demo.httpBase}/`);
  expect(page.headers.get("content-type")).toContain("text/html");
  const text = await page.text();
  for (const section of ['<section id="echo">', '<section id="stream">', '<section id="room">']) expect(text).toContain(section);
  expect(text).toMatch(/<a id="inspector" href="\/_statewire">/);
  expect(await (await fetch(`${demo.httpBase}/status`)).json()).toEqual({ connections: expect.any(Number) });
});

test("the page's sockets answer: the echo, the stream's timestamps, the room", async () => {
  expect(await firstMessages("/ws", 1, "from the demo test")).toEqual(["Echo: from the demo test"]);
  const stamps = await firstMessages("/time?interval=1000", 2);
  for (const stamp of stamps) expect(Number.isNaN(Date.parse(stamp)), stamp).toBe(false);
  expect(await firstMessages("/rooms/lobby", 1, "hello lobby")).toEqual(["hello lobby"]);
});
