/** `socket.close()` resolves once the connection is closed, not when the close frame was queued (it read as if it waited). */
import { expect, test } from "vitest";
import { createApp, websocket } from "../src/index.js";
import { testClient } from "../src/testing/index.js";

test("await socket.close() returns once the connection is closed", async () => {
  let after: string | undefined;
  let outcome: unknown;
  const app = createApp({
    heartbeat: false,
    routes: [
      websocket("/bye", async (socket) => {
        await socket.accept();
        await socket.close(4000, "bye");
        after = socket.lifecycle;
        outcome = await socket.closed;
      }),
    ],
  });
  await using client = testClient(app);
  const ws = await client.connect("/bye");
  expect(await ws.closed).toMatchObject({ code: 4000, reason: "bye" });
  await expect.poll(() => after).toBe("closed");
  expect(outcome).toMatchObject({ code: 4000, reason: "bye", initiator: "server" });
});
