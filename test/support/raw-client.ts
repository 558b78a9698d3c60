/**
 * A WebSocket client written by hand over `net`, for fault injection: it can do the opening
 * handshake (checking the 101 and `Sec-WebSocket-Accept`), write any frame at all (masked or
 * not, any opcode, FIN and RSV bits, lying lengths, fragments, half a frame), stop reading,
 * reset the TCP connection, and it records everything the server sends: parsed frames, the
 * close frame, and when the server ended or closed the TCP connection.
 *
 * Only ever connects to 127.0.0.1.
 */
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";

export const HOST = "127.0.0.1";
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

export interface FrameSpec {
  readonly opcode: number;
  readonly payload?: Buffer | string;
  /** Default true. */
  readonly fin?: boolean;
  /** RSV1..3 as a 3-bit number (RSV1 = 0b100). Default 0. */
  readonly rsv?: number;
  /** Default true (clients must mask); `false` sends the payload unmasked. */
  readonly mask?: boolean;
  /** Declare this payload length instead of the real one (the payload written is unchanged). */
  readonly declaredLength?: number;
}

/** Encode one frame as a client would (masked by default), or however `spec` says. */
export function encodeFrame(spec: FrameSpec): Buffer {
  const payload = typeof spec.payload === "string" ? Buffer.from(spec.payload, "utf8") : (spec.payload ?? Buffer.alloc(0));
  const fin = spec.fin ?? true;
  const rsv = spec.rsv ?? 0;
  const mask = spec.mask ?? true;
  const length = spec.declaredLength ?? payload.length;
  let header: Buffer;
  if (length < 126) {
    header = Buffer.alloc(2);
    header[1] = length;
  } else if (length < 65_536) {
    header = Buffer.alloc(4);
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  header[0] = (fin ? 0x80 : 0) | ((rsv & 0b111) << 4) | (spec.opcode & 0x0f);
  if (!mask) return Buffer.concat([header, payload]);
  header[1]! |= 0x80;
  const key = randomBytes(4);
  const masked = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) masked[i] = payload[i]! ^ key[i & 3]!;
  return Buffer.concat([header, key, masked]);
}

/** A close frame's payload: the code (2 bytes) and the reason. */
export function closePayload(code: number, reason = ""): Buffer {
  const buffer = Buffer.alloc(2 + Buffer.byteLength(reason));
  buffer.writeUInt16BE(code, 0);
  buffer.write(reason, 2, "utf8");
  return buffer;
}

export interface ReceivedFrame {
  readonly fin: boolean;
  readonly rsv: number;
  readonly opcode: number;
  readonly masked: boolean;
  readonly payload: Buffer;
}

export interface CloseFrame {
  /** `undefined` when the close frame carried no code. */
  readonly code: number | undefined;
  readonly reason: string;
}

/** A fresh Sec-WebSocket-Key and the Sec-WebSocket-Accept the server must answer it with. */
export function handshakeKey(): { key: string; accept: string } {
  const key = randomBytes(16).toString("base64");
  return { key, accept: createHash("sha1").update(key + GUID).digest("base64") };
}

export function upgradeRequest(port: number, path: string, key: string): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: ${HOST}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`
  );
}

/** A plain TCP connection to 127.0.0.1:port, resolved once connected. */
export function tcpConnect(port: number, options: { allowHalfOpen?: boolean } = {}): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: HOST, allowHalfOpen: options.allowHalfOpen ?? false });
    socket.setNoDelay(true);
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
  });
}

/** How a TCP connection ended, as its owner saw it. */
export interface SocketEnd {
  /** `performance.now()` when the peer's FIN arrived (`end`), if it did. */
  readonly endAt: number | undefined;
  /** `performance.now()` when the socket closed. */
  readonly closeAt: number;
  /** The socket error, if one ended it (e.g. ECONNRESET). */
  readonly error: string | undefined;
}

/** Watch a socket for its end: resolves once it closed, with when the peer's FIN came. */
export function watchEnd(socket: net.Socket): Promise<SocketEnd> {
  let endAt: number | undefined;
  let error: string | undefined;
  socket.once("end", () => (endAt = performance.now()));
  socket.on("error", (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
  return new Promise((resolve) => {
    socket.once("close", () => resolve({ endAt, closeAt: performance.now(), error }));
  });
}

export interface RawClientOptions {
  /** Answer pings with pongs (only while reading). Default true. */
  readonly autoPong?: boolean;
  /** Keep our side open after the server's FIN (a peer that never closes). Default false. */
  readonly allowHalfOpen?: boolean;
  /** Give up on the handshake after this long. Default 5 000 ms. */
  readonly handshakeTimeoutMs?: number;
}

type FrameWaiter = { readonly match: (frame: ReceivedFrame) => boolean; readonly resolve: (frame: ReceivedFrame) => void };

/** An open WebSocket over a raw TCP socket, after a checked handshake. */
export class RawClient {
  readonly socket: net.Socket;
  /** Every frame the server sent, in order (pings included). */
  readonly frames: ReceivedFrame[] = [];
  /** Settles once the TCP connection closed. */
  readonly ended: Promise<SocketEnd>;
  /** Protocol problems seen in what the server sent (masked frames, bad lengths). */
  readonly problems: string[] = [];
  #pending: Buffer = Buffer.alloc(0);
  #waiters: FrameWaiter[] = [];
  #onData: ((count: number) => void) | undefined;
  readonly #autoPong: boolean;
  #closed = false;

  private constructor(socket: net.Socket, rest: Buffer, options: RawClientOptions) {
    this.socket = socket;
    this.#autoPong = options.autoPong ?? true;
    this.ended = watchEnd(socket);
    void this.ended.then(() => {
      this.#closed = true;
      // Nothing more will come: waiters stay pending; `nextFrame` reports the close itself.
    });
    if (rest.length > 0) this.#feed(rest);
    socket.on("data", (chunk: Buffer) => this.#feed(chunk));
    socket.resume();
  }

  /** Open a WebSocket to `path` on 127.0.0.1:port: write the upgrade, check the 101 and the accept key. */
  static async connect(port: number, path: string, options: RawClientOptions = {}): Promise<RawClient> {
    const socket = await tcpConnect(port, options);
    const { key, accept } = handshakeKey();
    const timeoutMs = options.handshakeTimeoutMs ?? 5000;
    const rest = await new Promise<Buffer>((resolve, reject) => {
      let head = Buffer.alloc(0);
      const fail = (error: Error): void => {
        cleanup();
        socket.destroy();
        reject(error);
      };
      const timer = setTimeout(() => fail(new Error(`handshake to ${path}: no answer within ${timeoutMs} ms`)), timeoutMs);
      const onError = (error: Error): void => fail(error);
      const onClose = (): void => fail(new Error(`handshake to ${path}: the server closed the connection (${head.toString("latin1")})`));
      const onData = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        const lines = head.subarray(0, end).toString("latin1").split("\r\n");
        if (!/^HTTP\/1\.1 101 /.test(lines[0] ?? "")) return fail(new Error(`handshake to ${path} refused: ${lines[0]}`));
        const line = lines.find((l) => l.toLowerCase().startsWith("sec-websocket-accept:"));
        if (line?.slice(line.indexOf(":") + 1).trim() !== accept) return fail(new Error("bad Sec-WebSocket-Accept"));
        cleanup();
        resolve(head.subarray(end + 4));
      };
      const cleanup = (): void => {
        // Hold further data until the client's own reader is attached.
        socket.pause();
        clearTimeout(timer);
        socket.off("data", onData);
        socket.off("error", onError);
        socket.off("close", onClose);
      };
      socket.on("data", onData);
      socket.on("error", onError);
      socket.on("close", onClose);
      socket.write(upgradeRequest(port, path, key));
    });
    return new RawClient(socket, rest, options);
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Write raw bytes; resolves once handed to the kernel (or immediately if the socket is gone). */
  write(bytes: Buffer): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.write(bytes, () => resolve());
    });
  }

  /** Write raw bytes without waiting for them to be flushed. */
  writeNow(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  send(spec: FrameSpec): Promise<void> {
    return this.write(encodeFrame(spec));
  }

  sendText(text: string): Promise<void> {
    return this.send({ opcode: Opcode.TEXT, payload: text });
  }

  sendBinary(bytes: Buffer): Promise<void> {
    return this.send({ opcode: Opcode.BINARY, payload: bytes });
  }

  sendClose(code?: number, reason = ""): Promise<void> {
    return this.send({ opcode: Opcode.CLOSE, payload: code === undefined ? Buffer.alloc(0) : closePayload(code, reason) });
  }

  /** Stop reading: the kernel buffers fill and TCP pushes back on the server. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Called with the number of frames parsed per chunk (after they are recorded). */
  onFrames(callback: ((count: number) => void) | undefined): void {
    this.#onData = callback;
  }

  /** The next frame matching `match` (already received or future), or an error after `timeoutMs` or at close. */
  nextFrame(match: (frame: ReceivedFrame) => boolean, timeoutMs: number, what = "a frame"): Promise<ReceivedFrame> {
    const seen = this.frames.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`${what}: nothing within ${timeoutMs} ms (frames so far: ${describeFrames(this.frames)})`));
      }, timeoutMs);
      const waiter: FrameWaiter = {
        match,
        resolve: (frame) => {
          clearTimeout(timer);
          resolve(frame);
        },
      };
      this.#waiters.push(waiter);
      void this.ended.then(() => {
        // Let frames parsed from the last chunk settle first.
        setImmediate(() => {
          if (!this.#waiters.includes(waiter)) return;
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          clearTimeout(timer);
          reject(new Error(`${what}: the connection closed first (frames: ${describeFrames(this.frames)})`));
        });
      });
    });
  }

  /** The server's close frame, parsed. */
  async closeFrame(timeoutMs = 3000): Promise<CloseFrame> {
    const frame = await this.nextFrame((f) => f.opcode === Opcode.CLOSE, timeoutMs, "close frame");
    return parseClose(frame.payload);
  }

  /** The next data frame (text or binary) at or after index `from` in `frames`. */
  async dataFrame(from: number, timeoutMs = 3000): Promise<{ frame: ReceivedFrame; index: number }> {
    const frame = await this.nextFrame(
      (f) => (f.opcode === Opcode.TEXT || f.opcode === Opcode.BINARY) && this.frames.indexOf(f) >= from,
      timeoutMs,
      "data frame",
    );
    return { frame, index: this.frames.indexOf(frame) };
  }

  /** Drop the connection with a TCP RST. */
  reset(): void {
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
  }

  destroy(): void {
    this.socket.destroy();
  }

  #feed(chunk: Buffer): void {
    let buffer = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    let parsed = 0;
    for (;;) {
      if (buffer.length < 2) break;
      const b0 = buffer[0]!;
      const b1 = buffer[1]!;
      const masked = (b1 & 0x80) !== 0;
      let length = b1 & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffer.length < 4) break;
        length = buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffer.length < 10) break;
        const big = buffer.readBigUInt64BE(2);
        if (big > BigInt(64 * 1024 * 1024)) {
          this.problems.push(`frame length ${big} is absurd`);
          this.socket.destroy();
          return;
        }
        length = Number(big);
        offset = 10;
      }
      if (masked) offset += 4;
      if (buffer.length < offset + length) break;
      let payload = Buffer.from(buffer.subarray(offset, offset + length));
      if (masked) {
        this.problems.push("the server sent a masked frame");
        const key = buffer.subarray(offset - 4, offset);
        payload = Buffer.from(payload.map((byte, i) => byte ^ key[i & 3]!));
      }
      const frame: ReceivedFrame = { fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 0b111, opcode: b0 & 0x0f, masked, payload };
      buffer = buffer.subarray(offset + length);
      this.frames.push(frame);
      parsed++;
      if (frame.opcode === Opcode.PING && this.#autoPong && !this.socket.destroyed && this.socket.writable) {
        this.socket.write(encodeFrame({ opcode: Opcode.PONG, payload: frame.payload }));
      }
      const waiters = this.#waiters;
      for (const waiter of waiters) {
        if (waiter.match(frame)) {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          waiter.resolve(frame);
        }
      }
    }
    this.#pending = buffer.length === 0 ? Buffer.alloc(0) : Buffer.from(buffer);
    if (parsed > 0) this.#onData?.(parsed);
  }
}

export function parseClose(payload: Buffer): CloseFrame {
  if (payload.length < 2) return { code: undefined, reason: "" };
  return { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString("utf8") };
}

function describeFrames(frames: readonly ReceivedFrame[]): string {
  if (frames.length === 0) return "none";
  const shown = frames.slice(-5).map((f) => {
    const name = ({ 0: "cont", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong" } as Record<number, string>)[f.opcode] ?? `op${f.opcode}`;
    return f.opcode === Opcode.CLOSE ? `close ${JSON.stringify(parseClose(f.payload))}` : `${name}(${f.payload.length})`;
  });
  return `${frames.length} frames, last: ${shown.join(", ")}`;
}
