/**
 * The low-level echo (Starlette's `websocket_route`): `PORT=8000 node --conditions=statewire-source --import tsx examples/echo.ts`, then
 * send text to ws://127.0.0.1:8000/ws (`Echo: …`) or anything to ws://127.0.0.1:8000/echo.
 */
import { createApp, websocket } from "statewire";
import { isMain, serve } from "./serve.js";

/** Each text message M comes back as `Echo: M`; binary comes back as it is. */
export const echo = websocket("/ws", async (socket) => {
  await socket.accept();
  for await (const message of socket) {
    if (typeof message === "string") await socket.sendText(`Echo: ${message}`);
    else await socket.sendBytes(message);
  }
});

/**
 * The exact echo protocol-conformance suites (Autobahn and friends) drive: text as text, binary
 * as binary, unchanged. They send messages of up to 16 MiB, so this route alone raises
 * `maxPayload` from the 1 MiB default; every other route keeps it.
 */
export const exactEcho = websocket(
  "/echo",
  async (socket) => {
    await socket.accept();
    for await (const message of socket) {
      if (typeof message === "string") await socket.sendText(message);
      else await socket.sendBytes(message);
    }
  },
  { maxPayload: 16 * 1024 * 1024 },
);

export const app = createApp({ routes: [echo, exactEcho] });

if (isMain(import.meta.url)) await serve(app);
