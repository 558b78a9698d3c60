/**
 * statewire's low-level echo (the route from the README / examples, without the "Echo: " prefix
 * so both servers answer the same bytes).
 * `node --import tsx bench/servers/statewire-echo.ts` (PORT=0 by default, 127.0.0.1 only).
 */
import { createApp, websocket, websocketListener } from "../../src/index.js";
import { serveControl } from "./control.js";

// HANDLER=listener serves the same echo as a listener (data in, value out).
const route =
  process.env.HANDLER === "listener"
    ? websocketListener("/ws", (text) => text)
    : websocket("/ws", async (socket) => {
        await socket.accept();
        for await (const m of socket) await socket.sendText(m as string);
      });

const app = createApp({ routes: [route] });

const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: "127.0.0.1" });
serveControl(address.port, () => app.connectionCount);
