/**
 * Listeners (Litestar's `@websocket_listener`): data in, value out.
 * `PORT=8000 node --conditions=statewire-source --import tsx examples/listeners.ts`
 */
import { Schema } from "effect";
import { createApp, websocketListener } from "statewire";
import { isMain, serve } from "./serve.js";

/** Text in, text out. */
export const listenerEcho = websocketListener("/listener/echo", (text) => `Echo: ${text}`);

/** JSON validated by an effect Schema (invalid JSON or shape → close 1007 naming the problem); the reply goes out as JSON. */
const ChatMessage = Schema.Struct({ user: Schema.String, content: Schema.String });
export const listenerChat = websocketListener("/listener/chat", {
  receive: ChatMessage,
  handler: (message) => ({ user: message.user, response: `Received: ${message.content}` }),
});

/** Binary mode: bytes in, the same bytes reversed out; a text frame closes 1003. */
export const listenerBinary = websocketListener("/listener/binary", {
  receive: "bytes",
  handler: (bytes) => Buffer.from(bytes).reverse(),
});

/** The socket in the context: greet the client by address once, then answer each message. */
export const listenerSocket = websocketListener("/listener/socket", {
  onAccept: ({ socket }) => socket.sendText(`Hello ${socket.client.host}`),
  handler: (text) => `Received: ${text}`,
});

export const app = createApp({ routes: [listenerEcho, listenerChat, listenerBinary, listenerSocket] });

if (isMain(import.meta.url)) await serve(app);
