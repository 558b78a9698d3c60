/**
 * The server under test for `test/cork.test.ts`: it counts, per client port, the reads node
 * delivered (`push` of a socket) and the writes it issued (`_write` / `_writev`, one system call
 * each when the socket is writable), so that a test can check that the replies to the frames of
 * one read leave in one write. Counting is done by wrapping `net.Socket`'s own methods, in this
 * process only.
 *
 *   node --import tsx test/support/cork-server.ts     (IPC: `ready`, then `counts` on request)
 *
 * Routes: `/echo` low-level (`for await` + `sendText`/`sendBytes`), `/listener` a synchronous
 * listener, `/async` a listener that answers after a few promise turns, `/bye` a listener that
 * answers and then closes the connection on the message `bye`.
 */
import net from "node:net";
import { Readable } from "node:stream";
import { createApp, websocket, websocketListener } from "../../src/index.js";

export interface Counts {
  readonly reads: number;
  readonly writes: number;
}
export type CorkRequest = { readonly type: "counts"; readonly id: number; readonly port: number };
export type CorkReply = { readonly type: "ready"; readonly port: number } | { readonly type: "counts"; readonly id: number; readonly counts: Counts };

const counts = new Map<number, { reads: number; writes: number }>();
const entry = (socket: net.Socket): { reads: number; writes: number } => {
  const port = socket.remotePort ?? 0;
  let found = counts.get(port);
  if (found === undefined) counts.set(port, (found = { reads: 0, writes: 0 }));
  return found;
};

type Proto = Record<string, (...args: unknown[]) => unknown>;
const proto = net.Socket.prototype as unknown as Proto;
for (const method of ["_write", "_writev"] as const) {
  const original = proto[method]!;
  proto[method] = function (this: net.Socket, ...args: unknown[]) {
    entry(this).writes++;
    return original.apply(this, args);
  };
}
proto.push = function (this: net.Socket, chunk: unknown, encoding?: unknown) {
  if (chunk !== null) entry(this).reads++;
  return (Readable.prototype.push as (...args: unknown[]) => boolean).call(this, chunk, encoding);
};

const echo = websocket("/echo", async (socket) => {
  await socket.accept();
  for await (const message of socket) {
    if (typeof message === "string") await socket.sendText(message);
    else await socket.sendBytes(message);
  }
});
const listener = websocketListener("/listener", (text: string) => text);
const later = websocketListener("/async", async (text: string) => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return text;
});
const bye = websocket("/bye", async (socket) => {
  await socket.accept();
  for await (const message of socket) {
    await socket.sendText(String(message));
    if (message === "bye") {
      await socket.close(4000, "bye");
      return;
    }
  }
});

const app = createApp({ routes: [echo, listener, later, bye] });
const address = await app.listen({ port: 0, host: "127.0.0.1" });
const send = process.send?.bind(process);
if (send === undefined) throw new Error("cork-server must be started with an IPC channel");
process.on("message", (message: CorkRequest) => {
  if (message.type !== "counts") return;
  const found = counts.get(message.port) ?? { reads: 0, writes: 0 };
  send({ type: "counts", id: message.id, counts: { ...found } } satisfies CorkReply);
});
process.on("disconnect", () => process.exit(0));
send({ type: "ready", port: address.port } satisfies CorkReply);
