/**
 * The low-level echo: `PORT=8000 npx tsx examples/echo.ts`, then send text to ws://127.0.0.1:8000/ws.
 */
import { createApp, websocket } from "../src/index.js";

export const echo = websocket("/ws", async (socket) => {
  await socket.accept();
  for await (const message of socket) {
    if (typeof message === "string") await socket.sendText(`Echo: ${message}`);
    else await socket.sendBytes(message);
  }
});

export const app = createApp({ routes: [echo] });

// Started directly (not imported by a test): listen and shut down cleanly on Ctrl-C.
if (import.meta.url === `file://${process.argv[1]}`) {
  const address = await app.listen({ port: Number(process.env.PORT ?? 8000), host: process.env.HOST ?? "127.0.0.1" });
  console.log(`listening on ${address.url}`);
  const stop = (): void => void app.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
