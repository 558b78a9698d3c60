/**
 * A micro-measurement for the hot path that holds up on a busy machine: server CPU time per
 * echoed message (`process.cpuUsage()` inside the server, read over the bench's IPC control
 * channel), not throughput. Compares builds of statewire side by side, servers started once,
 * measurements interleaved (A B A B …), median per server.
 *
 *   node --import tsx bench/micro.ts name=path/to/index.js … [--handlers=websocket,listener,json] [--size=64] [--rounds=5] [--raw]
 *
 * Each measurement: 20 connections, each keeping 16 frames in flight (a new batch of 16 in one
 * write once the previous 16 echoes are back), 2,000 warm-up echoes, then 40,000 measured.
 * 127.0.0.1 only; every child is killed on the way out.
 */
import { cpuUs, guardChildren, killAll, median, serverStats, startNode, withTimeout, type StartedServer } from "./lib/procs.js";
import { echoPayload } from "./loadgen.js";
import { connectAll } from "./lib/echo-client.js";

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const builds = args.filter((a) => !a.startsWith("--")).map((a) => a.split("=") as [string, string]);
const handlers = flag("handlers", "websocket,listener,json").split(",");
const size = Number(flag("size", "64"));
const rounds = Number(flag("rounds", "5"));
const WARMUP = 2_000;
const MEASURED = 40_000;

guardChildren("micro", 20 * 60_000);

async function start(name: string, env: Record<string, string>, script: string): Promise<StartedServer> {
  const child = startNode(script, undefined, { env });
  const port = await withTimeout(
    new Promise<number>((resolve, reject) => {
      let text = "";
      child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
        text += chunk;
        const match = /"port":(\d+)/.exec(text);
        if (match) resolve(Number(match[1]));
      });
      child.once("exit", (code) => reject(new Error(`${name} exited (${code})`)));
    }),
    180_000,
    `${name} start`,
  );
  return { child, port };
}

interface Target {
  readonly label: string;
  readonly server: StartedServer;
}
const targets: Target[] = [];
try {
  // One at a time: on a loaded machine, many tsx starts at once time out.
  if (args.includes("--raw")) targets.push({ label: "raw ws", server: await start("raw", {}, "bench/servers/raw-ws.ts") });
  for (const [name, entry] of builds)
    for (const handler of handlers)
      targets.push({
        label: `${name} ${handler}`,
        server: await start(`${name} ${handler}`, { STATEWIRE_ENTRY: entry, HANDLER: handler }, "bench/servers/statewire-echo.ts"),
      });
  targets.sort((a, b) => a.label.localeCompare(b.label));
  const results = new Map<string, number[]>();
  const clients = new Map<string, Awaited<ReturnType<typeof connectAll>>>();
  for (const target of targets) {
    const json = target.label.endsWith("json");
    clients.set(target.label, await connectAll(target.server.port, echoPayload(size, json ? "json" : "text", "ws")));
  }
  for (let round = 0; round < rounds; round++) {
    for (const target of targets) {
      const client = clients.get(target.label)!;
      await client.run(WARMUP);
      const before = await serverStats(target.server.child);
      await client.run(MEASURED);
      const after = await serverStats(target.server.child);
      const us = (cpuUs(after.cpu) - cpuUs(before.cpu)) / MEASURED;
      (results.get(target.label) ?? results.set(target.label, []).get(target.label)!).push(us);
    }
  }
  console.log(`server CPU µs per echoed message, ${size} B, median of ${rounds} (all rounds)`);
  for (const [label, values] of results) console.log(`  ${label.padEnd(24)} ${median(values).toFixed(2).padStart(7)}   [${values.map((v) => v.toFixed(2)).join(" ")}]`);
  for (const client of clients.values()) client.close();
} finally {
  killAll();
}
process.exit(0);
