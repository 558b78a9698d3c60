/**
 * The server under test for `test/budget.test.ts` and `test/soak.test.ts`: production defaults
 * (nothing raised or lowered unless `BUDGET_OPTIONS` says so), in its own process so that its
 * memory is measured without the test's own allocations:
 *
 *   node --expose-gc --import tsx test/support/budget-server.ts
 *
 * Same IPC protocol as `fault-server.ts` (`ready`, then `stats` on request), plus the count of
 * active handles. `BUDGET_OPTIONS` (JSON) is spread into `createApp`'s options.
 *
 * Routes:
 * - `/echo`: low-level echo, every message sent back as it came (empty ones too);
 * - `/listener`: the same as a listener;
 * - `/room`: every message is published to every other member of one room, awaiting each
 *   member's send (the rooms example's publisher), and answered `ok` to its sender.
 */
import { type AnySocket, createApp, websocket, websocketListener } from "../../src/index.js";
import { serveOverIpc } from "./ipc-server.js";

const echo = websocket("/echo", async (socket) => {
  await socket.accept();
  for await (const message of socket) {
    if (typeof message === "string") await socket.sendText(message);
    else await socket.sendBytes(message);
  }
});

const listener = websocketListener("/listener", (text: string) => text);

const members = new Set<AnySocket>();
const room = websocket("/room", async (socket) => {
  await socket.accept();
  members.add(socket);
  try {
    for await (const message of socket) {
      const text = typeof message === "string" ? message : message.toString("utf8");
      for (const member of [...members]) {
        if (member !== socket) await member.sendText(text).catch(() => {});
      }
      await socket.sendText("ok");
    }
  } finally {
    members.delete(socket);
  }
});

const overrides = JSON.parse(process.env.BUDGET_OPTIONS ?? "{}") as Record<string, unknown>;
await serveOverIpc("budget-server", createApp({ routes: [echo, listener, room], ...overrides }));
