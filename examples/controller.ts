/**
 * One controller, both protocols (Litestar's `Controller` and Nexios' routers holding a socket and
 * its HTTP views): `WS /chat/live` stores each text message and echoes it; `GET /chat/history`
 * returns the last 50 as a JSON array of strings.
 * `PORT=8000 node --conditions=statewire-source --import tsx examples/controller.ts`
 */
import { createApp, get, group, websocket } from "statewire";
import { isMain, serve } from "./serve.js";

const history: string[] = [];

export const chat = group("/chat", [
  websocket("/live", async (socket) => {
    await socket.accept();
    for await (const message of socket) {
      if (typeof message !== "string") continue;
      history.push(message);
      if (history.length > 50) history.shift();
      await socket.sendText(message);
    }
  }),
  get("/history", () => history.slice(-50)),
]);

export const app = createApp({ routes: [chat] });

if (isMain(import.meta.url)) await serve(app);
