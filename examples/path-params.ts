/**
 * Path parameters, checked before accept (Velithon's and Nexios' `/stream/{data_type}`): an
 * unknown data type closes with 1008 `Invalid data type`; a known one is subscribed, pushes
 * nothing by itself, and answers `ping` with `pong`.
 * `PORT=8000 node --conditions=statewire-source --import tsx examples/path-params.ts`
 */
import { createApp, websocket } from "statewire";
import { isMain, serve } from "./serve.js";

const DATA_TYPES: readonly string[] = ["stocks", "weather", "news"];

export const dataStream = websocket("/stream/:dataType", async (socket) => {
  const { dataType } = socket.params; // typed from the path: { dataType: string }
  if (!DATA_TYPES.includes(dataType)) return socket.close(1008, "Invalid data type");
  await socket.accept();
  for await (const message of socket) if (message === "ping") await socket.sendText("pong");
});

export const app = createApp({ routes: [dataStream] });

if (isMain(import.meta.url)) await serve(app);
