/**
 * The seed tour: every pattern of the examples mounted on one server.
 * `PORT=8123 node --conditions=statewire-source --import tsx examples/tour.ts` prints `listening on http://127.0.0.1:8123` when ready
 * (`HOST` chooses the interface, default 127.0.0.1; `INSPECTOR=1` serves the inspector at
 * `/_statewire`). README.md's "Seed tour" lists each route next to the Python original it answers.
 */
import { createApp, get, group } from "statewire";
import { createInspector } from "statewire/inspector";
import { ChatRoom } from "./class-based.js";
import { chatRooms } from "./chat-rooms.js";
import { producerStatus, startProducer, stopProducer, stream as topicStream } from "./data-streamer.js";
import { customAccept, secure } from "./accept.js";
import { ChatEndpoint } from "./class-chat.js";
import { chat } from "./controller.js";
import { db, secured } from "./dependencies.js";
import { echo, exactEcho } from "./echo.js";
import { crash, errors } from "./errors.js";
import { listenerBinary, listenerChat, listenerEcho, listenerSocket } from "./listeners.js";
import { bytes, json, quit } from "./low-level.js";
import { dataStream } from "./path-params.js";
import { lobbyPage, room } from "./rooms.js";
import { middlewareRoutes } from "./middleware.js";
import { protocol } from "./protocol.js";
import { isMain, serve } from "./serve.js";
import { countdown, notifications, progress, streamStats, time } from "./streams.js";

/** The channels example's rooms, with a channels plugin of the tour's own (memory backend unless REDIS_URL). */
const channelRooms = chatRooms();

/** The runtime's own counters over the tour's connections, and the streams' (counted in their generators). */
const stats = get("/stats", () => {
  const { open, accepted, closed, dependencies, errors } = app.stats();
  return { open, accepted, closed, dependencies, streams: { ...streamStats }, errors };
});

export const app = createApp({
  plugins: [channelRooms.channels, ...(process.env.INSPECTOR === "1" ? [createInspector({ path: "/_statewire" })] : [])],
  onStartup: startProducer,
  onShutdown: stopProducer,
  routes: [
    echo, exactEcho, json, bytes, quit, errors, crash, customAccept, secure, // low level
    listenerEcho, listenerChat, listenerBinary, listenerSocket, // listeners
    secured, db, // dependencies
    time, progress, notifications, countdown, // streams
    ChatEndpoint, ChatRoom, // class-based
    group("/streamer", [topicStream, producerStatus]), // the data streamer: its producer runs with the app's lifecycle
    group("/channels", [channelRooms.rooms, channelRooms.history]), // chat rooms over the channels plugin
    dataStream, room, chat, // path parameters, rooms, one controller for WS and HTTP
    protocol, // a protocol as a statechart (websocketMachine)
    middlewareRoutes, // middleware around HTTP requests, connections and messages
    stats, lobbyPage,
  ],
});

if (isMain(import.meta.url)) await serve(app);
