/**
 * statewire's listener echo with permessage-deflate on (DEFLATE=1) or off, for bench/deflate.ts.
 * Reports its port on stdout, then answers "stats" on stdin with CPU, RSS and heap.
 */
import { createApp, websocketListener } from "../../src/index.js";

const app = createApp({
  maxPayload: 4 * 1024 * 1024,
  ...(process.env.DEFLATE === "1" ? { perMessageDeflate: { threshold: 256 } } : {}),
  routes: [websocketListener("/ws", (text) => text)],
});
const { port } = await app.listen({ port: 0, host: "127.0.0.1" });
console.log(JSON.stringify({ port }));
process.stdin.setEncoding("utf8").on("data", () => {
  globalThis.gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  const { user, system } = process.cpuUsage();
  console.log(JSON.stringify({ rss, heapUsed, cpuUs: user + system, open: app.connectionCount }));
});
