/**
 * What permessage-deflate costs: statewire's listener echo with compression off and on, the
 * same clients (compressing `ws` clients), 4 KiB of compressible JSON per message.
 * Reports server CPU per message and memory per connection (idle, then after traffic, when the
 * zlib contexts exist). `node --import tsx bench/deflate.ts`; bounded (~20 s), 127.0.0.1 only.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { WebSocket } from "ws";

const CONNECTIONS = 200;
const SECONDS = 3;
const MESSAGE = JSON.stringify(Array.from({ length: 80 }, (_, i) => ({ i, note: "compressible payload" }))).slice(0, 4096);

interface ServerStats {
  rss: number;
  heapUsed: number;
  cpuUs: number;
  open: number;
}

async function measure(deflate: boolean) {
  const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", "bench/servers/statewire-deflate.ts"], {
    env: { ...process.env, DEFLATE: deflate ? "1" : "0" },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! });
  const next = (): Promise<string> => new Promise((resolve) => lines.once("line", resolve));
  try {
    const { port } = JSON.parse(await next()) as { port: number };
    const stats = async (): Promise<ServerStats> => {
      child.stdin!.write("stats\n");
      return JSON.parse(await next()) as ServerStats;
    };
    const base = await stats();
    const sockets = await Promise.all(
      Array.from({ length: CONNECTIONS }, () => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate: true });
        return new Promise<WebSocket>((resolve, reject) => {
          ws.once("open", () => resolve(ws));
          ws.once("error", reject);
        });
      }),
    );
    const idle = await stats();
    let echoed = 0;
    const deadline = Date.now() + SECONDS * 1000;
    await Promise.all(
      sockets.map(
        (ws) =>
          new Promise<void>((resolve) => {
            ws.on("message", () => {
              echoed++;
              if (Date.now() < deadline) ws.send(MESSAGE);
              else resolve();
            });
            ws.send(MESSAGE);
          }),
      ),
    );
    const busy = await stats();
    for (const ws of sockets) ws.terminate();
    return {
      deflate,
      messagesPerSecond: Math.round(echoed / SECONDS),
      cpuUsPerMessage: (busy.cpuUs - idle.cpuUs) / echoed,
      idleKbPerConnection: { rss: (idle.rss - base.rss) / CONNECTIONS / 1024, heap: (idle.heapUsed - base.heapUsed) / CONNECTIONS / 1024 },
      activeKbPerConnection: { rss: (busy.rss - base.rss) / CONNECTIONS / 1024, heap: (busy.heapUsed - base.heapUsed) / CONNECTIONS / 1024 },
    };
  } finally {
    child.kill("SIGKILL");
  }
}

const off = await measure(false);
const on = await measure(true);
const kb = (n: number): string => n.toFixed(1).padStart(7);
console.log(`permessage-deflate cost: ${CONNECTIONS} compressing clients, 4 KiB JSON echo, ${SECONDS} s`);
console.log("                 msgs/s   CPU µs/msg   idle RSS KB/conn   active RSS KB/conn   active heap KB/conn");
for (const run of [off, on]) {
  console.log(
    `  deflate ${run.deflate ? "on " : "off"}  ${String(run.messagesPerSecond).padStart(8)}   ${run.cpuUsPerMessage.toFixed(1).padStart(10)}   ${kb(run.idleKbPerConnection.rss)}            ${kb(run.activeKbPerConnection.rss)}              ${kb(run.activeKbPerConnection.heap)}`,
  );
}
console.log(`  on/off: CPU per message ×${(on.cpuUsPerMessage / off.cpuUsPerMessage).toFixed(2)}, active RSS per connection +${(on.activeKbPerConnection.rss - off.activeKbPerConnection.rss).toFixed(0)} KB`);
