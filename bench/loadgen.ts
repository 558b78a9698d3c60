/**
 * The load generator, a child process driven over IPC by `quick-echo.ts`.
 *
 * It speaks just enough WebSocket itself: the opening handshake by hand over `net`, then
 * pre-masked client text frames written straight to the socket, and a minimal parser for the
 * server's unmasked frames. Every connection keeps `window` messages in flight: each echo
 * received is answered by one new frame (batched per `data` chunk).
 */
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const HOST = "127.0.0.1";

export type LoadCommand =
  | { readonly type: "load"; readonly id: number; readonly port: number; readonly path: string; readonly connections: number; readonly window: number; readonly size: number }
  | { readonly type: "idle"; readonly id: number; readonly port: number; readonly path: string; readonly count: number; readonly concurrency: number }
  | { readonly type: "count"; readonly id: number }
  | { readonly type: "stop"; readonly id: number };

export interface LoadReply {
  readonly type: "reply";
  readonly id: number;
  readonly ok: boolean;
  readonly error?: string;
  /** Echoed messages received while running. */
  readonly received: number;
  readonly errors: number;
  readonly open: number;
  readonly cpu: { readonly user: number; readonly system: number };
  readonly at: number;
}

/** Open a WebSocket over a plain TCP socket; resolves once the 101 was checked. */
function openWebSocket(port: number, path: string): Promise<{ socket: net.Socket; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString("base64");
    const expected = createHash("sha1").update(key + GUID).digest("base64");
    const socket = net.connect({ port, host: HOST });
    socket.setNoDelay(true);
    let head: Buffer = Buffer.alloc(0);
    const fail = (error: Error): void => {
      socket.removeListener("data", onData);
      socket.destroy();
      reject(error);
    };
    const onError = (error: Error): void => fail(error);
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) {
        if (head.length > 16_384) fail(new Error("handshake response too long"));
        return;
      }
      const lines = head.subarray(0, end).toString("latin1").split("\r\n");
      if (!/^HTTP\/1\.1 101 /.test(lines[0] ?? "")) return fail(new Error(`handshake refused: ${lines[0]}`));
      const accept = lines.find((line) => line.toLowerCase().startsWith("sec-websocket-accept:"));
      if (accept?.slice(accept.indexOf(":") + 1).trim() !== expected) return fail(new Error("bad Sec-WebSocket-Accept"));
      socket.removeListener("data", onData);
      socket.removeListener("error", onError);
      resolve({ socket, rest: head.subarray(end + 4) });
    };
    socket.on("data", onData);
    socket.on("error", onError);
    socket.on("connect", () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${HOST}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
  });
}

/** One masked client text frame (FIN, opcode 1) carrying `payload` (< 64 KiB). */
function maskedTextFrame(payload: Buffer): Buffer {
  const length = payload.length;
  const header = length < 126 ? 2 : 4;
  const frame = Buffer.alloc(header + 4 + length);
  frame[0] = 0x81;
  if (length < 126) {
    frame[1] = 0x80 | length;
  } else {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  }
  const mask = randomBytes(4);
  mask.copy(frame, header);
  for (let i = 0; i < length; i++) frame[header + 4 + i] = payload[i]! ^ mask[i & 3]!;
  return frame;
}

const sockets = new Set<net.Socket>();
let running = false;
let received = 0;
let errors = 0;
let lastError: string | undefined;

function noteError(error: unknown): void {
  errors++;
  lastError ??= error instanceof Error ? error.message : String(error);
}

/** Drive one open connection: keep `window` frames in flight, count the echoes. */
function drive(socket: net.Socket, rest: Buffer, payload: Buffer, batch: Buffer, frameLength: number, window: number): void {
  let pending: Buffer | undefined = rest.length > 0 ? rest : undefined;
  let verified = false;
  socket.on("data", (chunk: Buffer) => {
    const buffer: Buffer = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
    pending = undefined;
    let offset = 0;
    let echoes = 0;
    for (;;) {
      const available = buffer.length - offset;
      if (available < 2) break;
      const b0 = buffer[offset]!;
      const b1 = buffer[offset + 1]!;
      let length = b1 & 0x7f;
      let header = 2;
      if ((b1 & 0x80) !== 0) {
        noteError(new Error("server frame is masked"));
        socket.destroy();
        return;
      }
      if (length === 126) {
        if (available < 4) break;
        length = buffer.readUInt16BE(offset + 2);
        header = 4;
      } else if (length === 127) {
        noteError(new Error("unexpected 64-bit frame length"));
        socket.destroy();
        return;
      }
      if (available < header + length) break;
      const opcode = b0 & 0x0f;
      if (opcode === 1 && (b0 & 0x80) !== 0) {
        if (!verified) {
          verified = true;
          if (!buffer.subarray(offset + header, offset + header + length).equals(payload)) {
            noteError(new Error("echo differs from what was sent"));
          }
        }
        echoes++;
      } else if (opcode === 8) {
        noteError(new Error(`server closed: ${length >= 2 ? buffer.readUInt16BE(offset + header) : 1005}`));
        socket.destroy();
        return;
      } else if (opcode !== 9 && opcode !== 10) {
        noteError(new Error(`unexpected frame opcode ${opcode}`));
        socket.destroy();
        return;
      }
      offset += header + length;
    }
    if (offset < buffer.length) pending = Buffer.from(buffer.subarray(offset));
    if (echoes > 0 && running) {
      received += echoes;
      // At most `window` frames are in flight, so at most `window` echoes arrive per chunk.
      socket.write(batch.subarray(0, Math.min(echoes, window) * frameLength));
    }
  });
  socket.write(batch);
}

function track(socket: net.Socket): void {
  sockets.add(socket);
  socket.on("error", (error) => {
    if (running) noteError(error);
  });
  socket.on("close", () => sockets.delete(socket));
}

async function load(command: Extract<LoadCommand, { type: "load" }>): Promise<void> {
  const payload = Buffer.alloc(command.size, "x");
  const frame = maskedTextFrame(payload);
  const batch = Buffer.concat(Array.from({ length: command.window }, () => frame));
  const opened = await Promise.all(
    Array.from({ length: command.connections }, () => openWebSocket(command.port, command.path)),
  );
  received = 0;
  errors = 0;
  lastError = undefined;
  running = true;
  for (const { socket, rest } of opened) {
    track(socket);
    drive(socket, rest, payload, batch, frame.length, command.window);
  }
}

async function idle(command: Extract<LoadCommand, { type: "idle" }>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < command.count) {
      next++;
      const { socket } = await openWebSocket(command.port, command.path);
      track(socket);
    }
  };
  await Promise.all(Array.from({ length: Math.min(command.concurrency, command.count) }, worker));
}

function stop(): void {
  running = false;
  for (const socket of sockets) socket.destroy();
  sockets.clear();
}

function reply(id: number, ok: boolean, error?: string): void {
  const message: LoadReply = {
    type: "reply",
    id,
    ok,
    ...(error === undefined ? {} : { error }),
    received,
    errors,
    open: sockets.size,
    cpu: process.cpuUsage(),
    at: performance.now(),
  };
  process.send?.(message);
}

process.on("message", (raw: unknown) => {
  const command = raw as LoadCommand;
  const done = (work: Promise<void> | void): void => {
    Promise.resolve(work).then(
      () => reply(command.id, true, lastError),
      (error: unknown) => reply(command.id, false, error instanceof Error ? error.message : String(error)),
    );
  };
  if (command.type === "load") done(load(command));
  else if (command.type === "idle") done(idle(command));
  else if (command.type === "count") done();
  else if (command.type === "stop") done(stop());
});
process.on("disconnect", () => {
  stop();
  process.exit(0);
});
process.send?.({ type: "ready" });
