/**
 * Responder's chat page served from a `static/` directory: `staticFiles("/static", dir)` serves
 * the HTML, script and stylesheet, and the page chats in `/rooms/lobby` (the rooms example).
 * `PORT=8000 node --conditions=statewire-source --import tsx examples/static-chat.ts`, then open http://127.0.0.1:8000/static/ in two tabs.
 */
import { fileURLToPath } from "node:url";
import { createApp, staticFiles } from "statewire";
import { room } from "./rooms.js";
import { isMain, serve } from "./serve.js";

export const staticDirectory = fileURLToPath(new URL("./static/", import.meta.url));
export const assets = staticFiles("/static", staticDirectory);

export const app = createApp({ routes: [room, assets] });

if (isMain(import.meta.url)) await serve(app);
