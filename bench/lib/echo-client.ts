/**
 * The echo client of `micro.ts` and `callgrind-ab.ts echo`: `CONNECTIONS` raw TCP connections to
 * `/ws`, each keeping `WINDOW` masked frames in flight (a new batch of 16 in one write once the
 * previous 16 echoes are back). 127.0.0.1 only.
 */
import net from "node:net";
import { randomBytes } from "node:crypto";

export const CONNECTIONS = 20;
export const WINDOW = 16;

function frame(payload: Buffer): Buffer {
  const head = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 255]);
  return Buffer.concat([head, Buffer.alloc(4), payload]);
}

/** Open `CONNECTIONS` connections; resolves with a function that echoes `count` messages over them. */
export async function connectAll(port: number, payload: Buffer): Promise<{ run: (count: number) => Promise<void>; close: () => void }> {
  const batch = Buffer.concat(Array.from({ length: WINDOW }, () => frame(payload)));
  const sockets: net.Socket[] = [];
  let remaining = 0;
  let done: (() => void) | undefined;
  for (let i = 0; i < CONNECTIONS; i++) {
    const socket = net.connect(port, "127.0.0.1");
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      let head = Buffer.alloc(0);
      const onHead = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        socket.off("data", onHead);
        if (!head.subarray(0, 12).toString().includes("101")) reject(new Error(head.toString()));
        let pending: Buffer = Buffer.alloc(0);
        let got = 0;
        socket.on("data", (data: Buffer) => {
          pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
          let offset = 0;
          for (;;) {
            if (pending.length - offset < 2) break;
            let length = pending[offset + 1]! & 127;
            let header = 2;
            if (length === 126) {
              if (pending.length - offset < 4) break;
              length = pending.readUInt16BE(offset + 2);
              header = 4;
            }
            if (pending.length - offset < header + length) break;
            offset += header + length;
            got++;
            if (remaining > 0 && --remaining === 0) done?.();
            if (got === WINDOW) {
              got = 0;
              if (remaining > 0) socket.write(batch);
            }
          }
          pending = pending.subarray(offset);
        });
        resolve();
      };
      socket.on("data", onHead);
    });
    sockets.push(socket);
  }
  return {
    run: (count) =>
      new Promise<void>((resolve) => {
        remaining = count;
        done = resolve;
        for (const socket of sockets) socket.write(batch);
      }).then(
        // let the batches in flight drain before the next measurement
        () => new Promise((resolve) => setTimeout(resolve, 200)),
      ),
    close: () => sockets.forEach((s) => s.destroy()),
  };
}

