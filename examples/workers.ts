/**
 * One app on several processes sharing one port, rooms shared through Redis:
 *
 *   WORKERS=4 REDIS_URL=redis://127.0.0.1:6379 PORT=8400 node --conditions=statewire-source --import tsx examples/workers.ts
 *
 * - WS `/live`: the client first receives `{"worker":<id>,"pid":<pid>}` (which process holds it),
 *   then every broadcast, from whichever worker it was sent.
 * - POST `/broadcast`: the body goes to every `/live` client on every worker.
 * - GET `/metrics` on METRICS_PORT (when set): every worker's metrics, labelled by worker.
 *
 * SIGTERM to the primary closes every client with 1001 and runs every cleanup; each worker
 * prints its final stats. A worker that crashes is replaced.
 */
import { runWorkers, workerId } from "statewire/cluster";
import { createApp, createChannels, memoryBackend, post, websocket } from "statewire";
import { redisPubSubBackend } from "statewire/redis";
import { metrics, serveClusterMetrics } from "statewire/metrics";

function start() {
  const url = process.env.REDIS_URL;
  // Without Redis each worker has its own rooms: a broadcast reaches only the worker that sent it.
  const backend = url === undefined || url === "" ? memoryBackend() : redisPubSubBackend({ url, keyPrefix: process.env.REDIS_PREFIX ?? "statewire:workers:" });
  const channels = createChannels({ backend, channels: ["live"] });
  const live = websocket(
    "/live",
    async (socket) => {
      await socket.accept();
      // Joined before the greeting: a client that has its greeting receives every later broadcast.
      await socket.join("live");
      await socket.sendJson({ worker: workerId, pid: process.pid });
      for await (const _message of socket) {
        // Listen only.
      }
    },
    // The plugin's socket class: `socket.join` is typed.
    { socketClass: channels.socketClass },
  );
  const broadcast = post("/broadcast", async (request) => {
    await channels.publish(await request.text(), "live");
    return { worker: workerId };
  });
  const app = createApp({
    routes: [live, broadcast],
    plugins: process.env.METRICS_PORT === undefined ? [channels] : [channels, metrics({ channels })],
    // Runs once every connection has closed and its cleanup ran: the final counts.
    onShutdown: () => console.log(`worker ${workerId} closed ${JSON.stringify(app.stats())}`),
  });
  return app;
}

const role = await runWorkers({ workers: Number(process.env.WORKERS ?? 2), start, close: { timeoutMs: Number(process.env.CLOSE_TIMEOUT_MS ?? 5000) } });
if (role.role === "primary") {
  if (process.env.METRICS_PORT !== undefined) {
    const served = await serveClusterMetrics({ port: Number(process.env.METRICS_PORT) });
    console.log(`metrics on ${served.url}`);
  }
  console.log(`listening on ${role.address.url}`);
}
