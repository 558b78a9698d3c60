/**
 * The README's first command: `npm start` runs the demo, which serves its page and the echo.
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

test("npm start serves the demo page, its status route and the echo socket", async () => {
  const page = await fetch(`${demo.httpBase}/`);
  expect(page.headers.get("content-type")).toContain("text/html");
  expect(await page.text()).toContain("statewire echo");
  const reply = await new Promise<string>((resolve, reject) => {
    const ws = new WebSocket(`${demo.wsBase}/ws`);
    ws.on("open", () => ws.send("from the demo test"));
    ws.on("message", (data) => {
      resolve(String(data));
      ws.close();
    });
    ws.on("error", reject);
  });
  expect(reply).toBe("Echo: from the demo test");
  expect(await (await fetch(`${demo.httpBase}/status`)).json()).toEqual({ connections: expect.any(Number) });
});
