/**
 * `npm start` runs the demo with the inspector on, and prints its URL next to the demo's.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { WebSocket } from "ws";
import { type EchoProcess, startServer } from "./support/process.js";

let demo: EchoProcess;
beforeAll(async () => {
  demo = await startServer({ command: "npm", args: ["start", "--silent"], env: { NODE_ENV: "development" } }, 30_000);
}, 40_000);
afterAll(async () => {
  await demo?.stop();
});

test("npm start prints the inspector's URL, and the inspector serves its page and feed there", async () => {
  await expect.poll(() => demo.stdout()).toContain(`inspector: ${demo.httpBase}/_statewire`);
  const page = await fetch(`${demo.httpBase}/_statewire`);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain("statewire inspector");
  const hello = await new Promise<unknown>((resolve, reject) => {
    const ws = new WebSocket(`${demo.wsBase}/_statewire/feed`);
    ws.once("message", (data) => {
      resolve(JSON.parse(String(data)));
      ws.close();
    });
    ws.once("error", reject);
  });
  expect(hello).toMatchObject({ type: "hello", payloads: false });
});

test("examples/tour.ts serves the inspector at /_statewire with INSPECTOR=1, and not without", async () => {
  const on = await startServer({ args: ["examples/tour.ts"], env: { INSPECTOR: "1", NODE_ENV: "development" } }, 30_000);
  try {
    const page = await fetch(`${on.httpBase}/_statewire`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<svg[^>]+class="machine"/);
  } finally {
    await on.stop();
  }
  const off = await startServer({ args: ["examples/tour.ts"], env: { INSPECTOR: "0", NODE_ENV: "development" } }, 30_000);
  try {
    expect((await fetch(`${off.httpBase}/_statewire`)).status).toBe(404);
  } finally {
    await off.stop();
  }
}, 70_000);
