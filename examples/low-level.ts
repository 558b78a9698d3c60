/**
 * More low-level handlers (Starlette's, Velithon's and Nexios' `websocket.receive_json()` /
 * `receive_bytes()` loops): the function owns the conversation, and decides when it ends.
 * `PORT=8000 node --conditions=statewire-source --import tsx examples/low-level.ts`
 */
import { createApp, websocket } from "statewire";
import { isMain, serve } from "./serve.js";

/** Each JSON message J comes back as `{"received": J}`; a message that is not JSON closes with 1007. */
export const json = websocket("/json", async (socket) => {
  await socket.accept();
  for (;;) {
    const data = await socket.receiveJson(); // throws WebSocketDisconnect when the client leaves: a normal end
    await socket.sendJson({ received: data });
  }
});

/** Each binary message comes back as it is; a text frame closes with 1003. */
export const bytes = websocket("/bytes", async (socket) => {
  await socket.accept();
  for (;;) await socket.sendBytes(await socket.receiveBytes());
});

/** The server ends the conversation: `quit` closes with 1000 "User requested disconnect"; anything else is echoed. */
export const quit = websocket("/quit", async (socket) => {
  await socket.accept();
  for await (const message of socket) {
    if (message === "quit") {
      await socket.close(1000, "User requested disconnect");
      return;
    }
    await socket.sendText(`Echo: ${String(message)}`);
  }
});

export const app = createApp({ routes: [json, bytes, quit] });

if (isMain(import.meta.url)) await serve(app);
