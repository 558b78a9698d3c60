/**
 * The low-level echo: `PORT=8000 npx tsx examples/echo.ts`, then send text to ws://127.0.0.1:8000/ws.
 */
import { createApp, websocket } from "../src/index.js";
import { isMain, serve } from "./serve.js";

export const echo = websocket("/ws", async (socket) => {
  await socket.accept();
  for await (const message of socket) {
    if (typeof message === "string") await socket.sendText(`Echo: ${message}`);
    else await socket.sendBytes(message);
  }
});

export const app = createApp({ routes: [echo] });

if (isMain(import.meta.url)) await serve(app);
