/**
 * One load generator of bench/scale.ts (a child with IPC): opens `count` idle WebSocket
 * connections to `url` from source addresses 127.<g>.x.y (a new address every `perAddress`
 * connections, so no address runs out of ephemeral ports), waits for the greeting on each, then
 * reports when the broadcast marker reached its last client and which codes the closes carried.
 */
import { WebSocket } from "ws";

export type ScaleCommand =
  | { type: "open"; url: string; count: number; generator: number; perAddress: number; concurrency: number }
  | { type: "expect"; marker: string }
  /** Report how far the broadcast got, whether or not it reached every client. */
  | { type: "report" };
export type ScaleReply =
  | { type: "opened"; opened: number; failed: number; firstError?: string }
  | { type: "received"; received: number; lastAt: number; closedEarly: Record<string, number> }
  | { type: "closed"; codes: Record<string, number> };

const send = (reply: ScaleReply): void => void process.send?.(reply);
const sockets: WebSocket[] = [];
const codes: Record<string, number> = {};
let closed = 0;
let shuttingDown = false;
let marker: string | undefined;
let received = 0;
let lastAt = 0;
/** Closes of greeted connections before shutdown began: each is a connection the broadcast cannot reach. */
const closedEarly: Record<string, number> = {};

function sourceAddress(generator: number, index: number, perAddress: number): string {
  const n = Math.floor(index / perAddress) + 1;
  return `127.${generator + 1}.${Math.floor(n / 250)}.${(n % 250) + 1}`;
}

function openOne(url: string, localAddress: string, total: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { localAddress, perMessageDeflate: false, handshakeTimeout: 60_000 });
    let greeted = false;
    ws.on("message", (data) => {
      if (!greeted) {
        greeted = true;
        sockets.push(ws);
        resolve();
        return;
      }
      if (marker !== undefined && String(data) === marker) {
        received++;
        lastAt = Date.now();
        if (received === sockets.length) send({ type: "received", received, lastAt, closedEarly });
      }
    });
    ws.once("close", (code) => {
      codes[code] = (codes[code] ?? 0) + 1;
      if (greeted && !shuttingDown) closedEarly[code] = (closedEarly[code] ?? 0) + 1;
      if (++closed === total) send({ type: "closed", codes });
      if (!greeted) reject(new Error(`closed with ${code} before the greeting`));
    });
    ws.once("error", (error) => {
      if (!greeted) reject(error);
    });
  });
}

process.on("message", (command: ScaleCommand) => {
  if (command.type === "expect") {
    marker = command.marker;
    return;
  }
  if (command.type === "report") {
    shuttingDown = true;
    send({ type: "received", received, lastAt, closedEarly });
    return;
  }
  void (async () => {
    let next = 0;
    let failed = 0;
    let firstError: string | undefined;
    const lane = async (): Promise<void> => {
      while (next < command.count) {
        const index = next++;
        await openOne(command.url, sourceAddress(command.generator, index, command.perAddress), command.count).catch((error: unknown) => {
          failed++;
          firstError ??= error instanceof Error ? error.message : String(error);
        });
      }
    };
    await Promise.all(Array.from({ length: command.concurrency }, lane));
    send(firstError === undefined ? { type: "opened", opened: sockets.length, failed } : { type: "opened", opened: sockets.length, failed, firstError });
  })();
});
// The harness going away ends this generator.
process.on("disconnect", () => process.exit(0));
