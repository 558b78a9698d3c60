/**
 * Deciding the handshake yourself (Starlette's and Nexios' `websocket.accept(subprotocol=…,
 * headers=…)` and `websocket.close(code)` before accept).
 * `PORT=8000 node --conditions=statewire-source --import tsx examples/accept.ts`
 */
import { createApp, websocket } from "statewire";
import { isMain, serve } from "./serve.js";

/** A response header on the 101, and the subprotocol `chat-v1` when the client offers it (none otherwise); then an echo. */
export const customAccept = websocket("/custom-accept", async (socket) => {
  const offered = socket.subprotocols.includes("chat-v1");
  await socket.accept({ headers: { "X-Custom": "value" }, ...(offered ? { subprotocol: "chat-v1" } : {}) });
  for await (const message of socket) if (typeof message === "string") await socket.sendText(message);
});

/**
 * Refusing before accept with a close code: the handshake completes, then close 4001
 * `Invalid token`, which a browser can read (it never sees an HTTP status). `?token=good-token` passes.
 */
export const secure = websocket("/secure", async (socket) => {
  if (socket.query.token !== "good-token") return socket.close(4001, "Invalid token");
  await socket.accept();
  for await (const message of socket) if (typeof message === "string") await socket.sendText(message);
});

export const app = createApp({ routes: [customAccept, secure] });

if (isMain(import.meta.url)) await serve(app);
