/**
 * A fast WebSocket client in its own process, for `test/inbound-bound.test.ts`:
 * `FLOOD_URL=ws://… FLOOD_COUNT=50000 FLOOD_SIZE=1024 tsx test/support/flood-client.ts`.
 *
 * It runs out of the server's process so that what it buffers (up to the whole flood) never
 * counts in the server's memory measurement. Protocol, one JSON object per stdout line:
 * - `{"type":"open"}` once connected; it then waits for a line `go` on stdin;
 * - it then writes FLOOD_COUNT text messages of FLOOD_SIZE bytes as fast as `ws` takes them
 *   (one synchronous loop: nothing waits for the network), message i starting with i as eight
 *   decimal digits;
 * - `{"type":"status","sent","bufferedAmount"}` every 50 ms: `bufferedAmount` is what this
 *   client's socket still holds because the network (the server) has not taken it;
 * - `{"type":"closed","code"}` when the connection ends, and then it exits 0.
 */
import { createInterface } from "node:readline";
import { WebSocket } from "ws";

const url = process.env.FLOOD_URL;
const count = Number(process.env.FLOOD_COUNT ?? 50_000);
const size = Number(process.env.FLOOD_SIZE ?? 1024);
if (url === undefined) throw new Error("FLOOD_URL is required");

function report(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

const padding = "x".repeat(size - 8);
let sent = 0;
const ws = new WebSocket(url, { perMessageDeflate: false });
ws.on("error", (error) => report({ type: "error", message: error.message }));
const status = setInterval(() => report({ type: "status", sent, bufferedAmount: ws.bufferedAmount }), 50);

ws.once("open", () => {
  report({ type: "open" });
  const input = createInterface({ input: process.stdin });
  input.on("line", (line) => {
    if (line.trim() !== "go") return;
    input.close();
    for (let i = 0; i < count; i++) {
      ws.send(i.toString().padStart(8, "0") + padding);
      sent++;
    }
    report({ type: "status", sent, bufferedAmount: ws.bufferedAmount });
  });
});

ws.once("close", (code) => {
  clearInterval(status);
  report({ type: "closed", code, sent, bufferedAmount: ws.bufferedAmount });
  process.stdin.destroy();
});
