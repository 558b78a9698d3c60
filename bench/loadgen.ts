/**
 * The load generator: a child process driven over IPC by the harness (`run.ts`). It is pinned to its own core, away from the server's.
 *
 * It speaks just enough WebSocket itself — the `ws` client saturates near the server's own rate,
 * so it would measure itself: the opening handshake by hand over `net`, then pre-masked client
 * text frames written straight to the socket, and a minimal parser for the server's unmasked
 * frames. For socket.io it also speaks the few engine.io / socket.io packets an echo needs
 * (`0{…}` open, `40` connect, `42[…]` event, `2` / `3` ping / pong).
 *
 * Modes:
 * - `load`: every connection keeps `window` messages in flight; each echo received is answered by
 *   one new frame (batched per `data` chunk). Each round trip is timed (send → echo, FIFO per
 *   connection) into a histogram for p50 / p99.
 * - `idle`: open `count` connections and hold them (memory per idle connection).
 * - `handshakes`: for `durationMs`, `concurrency` workers each open a connection, close it with a
 *   close frame and wait until the TCP connection is gone, again and again.
 * - `subscribe`: open `count` more connections that only listen; each broadcast frame
 *   (`B:<seq>:…`) is counted per sequence number, and when every connection of this process has
 *   one, the process pushes `{ type: "fanout", seq, firstUs, lastUs }` (monotonic clock, µs).
 *
 * Source addresses: connections are spread round-robin over `addresses` (127.x.y.z), so a run
 * never runs out of ephemeral ports and handshake runs start free of old TIME_WAIT entries.
 */
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const HOST = "127.0.0.1";

/** `ws`: plain WebSocket; `socketio`: socket.io v4 over its WebSocket transport. */
export type Protocol = "ws" | "socketio";
/** `text`: `x…x`; `json`: `{"data":"x…x"}` (a valid object for a schema `{ data: string }`). */
export type PayloadKind = "text" | "json";

interface Target {
  readonly port: number;
  readonly path: string;
  readonly protocol?: Protocol;
  /** Source addresses, used round-robin; default: the kernel's choice. */
  readonly addresses?: readonly string[];
}

export type LoadCommand =
  | ({ readonly type: "load"; readonly id: number; readonly connections: number; readonly window: number; readonly size: number; readonly payload?: PayloadKind } & Target)
  | ({ readonly type: "idle"; readonly id: number; readonly count: number; readonly concurrency: number } & Target)
  | ({ readonly type: "handshakes"; readonly id: number; readonly durationMs: number; readonly concurrency: number } & Target)
  | ({ readonly type: "subscribe"; readonly id: number; readonly count: number; readonly concurrency: number } & Target)
  /** `reset` starts a new latency window. */
  | { readonly type: "count"; readonly id: number; readonly reset?: boolean }
  | { readonly type: "stop"; readonly id: number };

export interface Percentiles {
  readonly count: number;
  readonly p50Us: number;
  readonly p99Us: number;
}

export interface HandshakeReport extends Percentiles {
  /** Connections opened and closed again. */
  readonly completed: number;
  readonly elapsedMs: number;
  readonly failed: number;
}

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
  /** Round trips since the last `count` with `reset` (or the start of the load). */
  readonly latency: Percentiles;
  readonly handshakes?: HandshakeReport;
}

/** Pushed (unrequested) when every subscriber connection of this process has broadcast `seq`. */
export interface FanoutReport {
  readonly type: "fanout";
  readonly seq: number;
  readonly connections: number;
  /** `process.hrtime` in µs: the same monotonic clock in every process of the machine. */
  readonly firstUs: number;
  readonly lastUs: number;
}

const monoUs = (): number => Number(process.hrtime.bigint() / 1000n);

// ---- latency histogram: 1 µs buckets up to 1 s, exact values above ----------------------------

class Histogram {
  readonly #buckets = new Uint32Array(1_000_000);
  #over: number[] = [];
  #count = 0;

  record(us: number): void {
    const bucket = us < 0 ? 0 : Math.floor(us);
    if (bucket < this.#buckets.length) this.#buckets[bucket]!++;
    else this.#over.push(us);
    this.#count++;
  }

  reset(): void {
    this.#buckets.fill(0);
    this.#over = [];
    this.#count = 0;
  }

  percentiles(): Percentiles {
    return { count: this.#count, p50Us: this.#at(0.5), p99Us: this.#at(0.99) };
  }

  #at(quantile: number): number {
    if (this.#count === 0) return Number.NaN;
    const rank = Math.ceil(quantile * this.#count);
    let seen = 0;
    for (let i = 0; i < this.#buckets.length; i++) {
      seen += this.#buckets[i]!;
      if (seen >= rank) return i + 0.5;
    }
    const over = [...this.#over].sort((a, b) => a - b);
    return over[rank - seen - 1] ?? Number.NaN;
  }
}

// ---- frames ----------------------------------------------------------------------------------

/** One masked client frame (FIN) with `opcode` carrying `payload` (< 64 KiB). */
function maskedFrame(payload: Buffer, opcode = 1): Buffer {
  const length = payload.length;
  const header = length < 126 ? 2 : 4;
  const frame = Buffer.alloc(header + 4 + length);
  frame[0] = 0x80 | opcode;
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

const CLOSE_FRAME = maskedFrame(Buffer.from([0x03, 0xe8]), 8); // 1000
const SIO_PONG = maskedFrame(Buffer.from("3"));
const SIO_CONNECT = maskedFrame(Buffer.from("40"));

/**
 * Reads the server's (unmasked) frames out of a byte stream. `onFrame` gets the opcode and the
 * payload's bounds in `buffer` (valid only during the call). Fragmented messages are not used by
 * any server here and count as an error.
 */
class FrameReader {
  #pending: Buffer | undefined;

  constructor(rest?: Buffer) {
    this.#pending = rest !== undefined && rest.length > 0 ? rest : undefined;
  }

  /** Returns an error message, or undefined. */
  push(chunk: Buffer, onFrame: (opcode: number, buffer: Buffer, start: number, end: number) => void): string | undefined {
    const buffer: Buffer = this.#pending === undefined ? chunk : Buffer.concat([this.#pending, chunk]);
    this.#pending = undefined;
    let offset = 0;
    for (;;) {
      const available = buffer.length - offset;
      if (available < 2) break;
      const b0 = buffer[offset]!;
      const b1 = buffer[offset + 1]!;
      let length = b1 & 0x7f;
      let header = 2;
      if ((b1 & 0x80) !== 0) return "server frame is masked";
      if ((b0 & 0x80) === 0) return "fragmented frame";
      if (length === 126) {
        if (available < 4) break;
        length = buffer.readUInt16BE(offset + 2);
        header = 4;
      } else if (length === 127) {
        if (available < 10) break;
        length = Number(buffer.readBigUInt64BE(offset + 2));
        header = 10;
      }
      if (available < header + length) break;
      onFrame(b0 & 0x0f, buffer, offset + header, offset + header + length);
      offset += header + length;
    }
    if (offset < buffer.length) this.#pending = Buffer.from(buffer.subarray(offset));
    return undefined;
  }

  /** Bytes read past the last whole frame. */
  rest(): Buffer | undefined {
    const rest = this.#pending;
    this.#pending = undefined;
    return rest;
  }
}

/** Answer pings (WebSocket and engine.io); undefined for a frame that was not one. */
function controlReply(protocol: Protocol, opcode: number, buffer: Buffer, start: number, end: number): Buffer | undefined {
  if (opcode === 9) return maskedFrame(Buffer.from(buffer.subarray(start, end)), 10);
  if (protocol === "socketio" && opcode === 1 && end - start === 1 && buffer[start] === 0x32) return SIO_PONG;
  return undefined;
}

// ---- opening a connection -------------------------------------------------------------------

let addressCursor = 0;
function pickAddress(addresses: readonly string[] | undefined): string | undefined {
  if (addresses === undefined || addresses.length === 0) return undefined;
  return addresses[addressCursor++ % addresses.length];
}

interface Opened {
  readonly socket: net.Socket;
  readonly rest: Buffer | undefined;
}

/**
 * Open a WebSocket over a plain TCP socket; resolves once the 101 was checked (and, for
 * socket.io, once the namespace connect was answered).
 */
function openWebSocket(target: Target, timeoutMs = 10_000): Promise<Opened> {
  const protocol = target.protocol ?? "ws";
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString("base64");
    const expected = createHash("sha1").update(key + GUID).digest("base64");
    const localAddress = pickAddress(target.addresses);
    const socket = net.connect(localAddress === undefined ? { port: target.port, host: HOST } : { port: target.port, host: HOST, localAddress });
    socket.setNoDelay(true);
    let head: Buffer = Buffer.alloc(0);
    let reader: FrameReader | undefined;
    let stage: "http" | "sio-open" | "sio-connect" = "http";
    const timer = setTimeout(() => fail(new Error(`no handshake within ${timeoutMs} ms`)), timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      socket.removeListener("data", onData);
      socket.removeListener("error", onError);
      socket.removeListener("close", onClose);
    };
    const fail = (error: Error): void => {
      done();
      socket.destroy();
      reject(error);
    };
    const succeed = (rest: Buffer | undefined): void => {
      done();
      resolve({ socket, rest });
    };
    const onError = (error: Error): void => fail(error);
    const onClose = (): void => fail(new Error("connection closed during the handshake"));
    const onSocketIo = (chunk: Buffer): void => {
      let problem: string | undefined;
      let connected = false;
      const error = reader!.push(chunk, (opcode, buffer, start, end) => {
        if (problem !== undefined || connected) return;
        const reply = controlReply(protocol, opcode, buffer, start, end);
        if (reply !== undefined) return void socket.write(reply);
        if (opcode !== 1) return void (problem = `unexpected opcode ${opcode} while connecting`);
        const text = buffer.toString("latin1", start, Math.min(end, start + 2));
        if (stage === "sio-open" && text[0] === "0") {
          stage = "sio-connect";
          socket.write(SIO_CONNECT);
        } else if (stage === "sio-connect" && text === "40") {
          connected = true;
        } else {
          problem = `unexpected socket.io packet ${buffer.toString("utf8", start, Math.min(end, start + 40))}`;
        }
      });
      if (error !== undefined || problem !== undefined) return fail(new Error(error ?? problem));
      if (connected) succeed(reader!.rest());
    };
    const onData = (chunk: Buffer): void => {
      if (stage !== "http") return onSocketIo(chunk);
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
      const rest = head.subarray(end + 4);
      if (protocol === "ws") return succeed(rest.length > 0 ? rest : undefined);
      stage = "sio-open";
      reader = new FrameReader();
      onSocketIo(rest);
    };
    socket.on("data", onData);
    socket.on("error", onError);
    socket.on("close", onClose);
    socket.on("connect", () => {
      socket.write(
        `GET ${target.path} HTTP/1.1\r\nHost: ${HOST}:${target.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
  });
}

// ---- state ----------------------------------------------------------------------------------

const sockets = new Set<net.Socket>();
const latency = new Histogram();
let running = false;
let received = 0;
let errors = 0;
let lastError: string | undefined;
let handshakeReport: HandshakeReport | undefined;

function noteError(error: unknown): void {
  errors++;
  lastError ??= error instanceof Error ? error.message : String(error);
}

function track(socket: net.Socket): void {
  sockets.add(socket);
  socket.on("error", (error) => {
    if (running) noteError(error);
  });
  socket.on("close", () => sockets.delete(socket));
}

/** Pool of `concurrency` workers running `task` until `more()` says stop. */
async function pool(concurrency: number, more: () => boolean, task: () => Promise<void>): Promise<void> {
  const worker = async (): Promise<void> => {
    while (more()) await task();
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
}

// ---- load (echo throughput and latency) -----------------------------------------------------

/** The whole WebSocket payload is `size` bytes, whatever the protocol's envelope. */
export function echoPayload(size: number, kind: PayloadKind, protocol: Protocol): Buffer {
  if (protocol === "socketio") {
    const prefix = kind === "json" ? `42["echo",{"data":"` : `42["echo","`;
    const suffix = kind === "json" ? `"}]` : `"]`;
    return Buffer.from(prefix + "x".repeat(Math.max(0, size - prefix.length - suffix.length)) + suffix);
  }
  if (kind === "json") return Buffer.from(`{"data":"${"x".repeat(Math.max(0, size - 11))}"}`);
  return Buffer.alloc(size, "x");
}

/** Drive one open connection: keep `window` frames in flight, count and time the echoes. */
function drive(socket: net.Socket, rest: Buffer | undefined, protocol: Protocol, payload: Buffer, batch: Buffer, frameLength: number, window: number): void {
  const reader = new FrameReader(rest);
  // Send times of the frames in flight, oldest first (the echo comes back in order).
  const sentAt = new Float64Array(window);
  let head = 0;
  let inFlight = 0;
  let verified = false;
  const sent = (count: number, now: number): void => {
    for (let i = 0; i < count; i++) sentAt[(head + inFlight + i) % window] = now;
    inFlight += count;
  };
  socket.on("data", (chunk: Buffer) => {
    const now = performance.now();
    let echoes = 0;
    let problem: string | undefined;
    const error = reader.push(chunk, (opcode, buffer, start, end) => {
      if (problem !== undefined) return;
      if (opcode === 1) {
        if (protocol === "socketio" && buffer[start] !== 0x34) {
          const reply = controlReply(protocol, opcode, buffer, start, end);
          if (reply !== undefined) socket.write(reply);
          return;
        }
        if (!verified) {
          verified = true;
          if (!buffer.subarray(start, end).equals(payload)) problem = `echo differs from what was sent: ${buffer.toString("utf8", start, Math.min(end, start + 60))}`;
        }
        if (inFlight > 0) {
          latency.record((now - sentAt[head]!) * 1000);
          head = (head + 1) % window;
          inFlight--;
        }
        echoes++;
      } else if (opcode === 8) {
        problem = `server closed: ${end - start >= 2 ? buffer.readUInt16BE(start) : 1005}`;
      } else {
        const reply = controlReply(protocol, opcode, buffer, start, end);
        if (reply !== undefined) socket.write(reply);
        else if (opcode !== 10) problem = `unexpected frame opcode ${opcode}`;
      }
    });
    if (error !== undefined || problem !== undefined) {
      noteError(new Error(error ?? problem));
      socket.destroy();
      return;
    }
    if (echoes > 0 && running) {
      received += echoes;
      // At most `window` frames are in flight, so at most `window` echoes arrive per chunk.
      const count = Math.min(echoes, window - inFlight);
      sent(count, performance.now());
      socket.write(batch.subarray(0, count * frameLength));
    }
  });
  sent(window, performance.now());
  socket.write(batch);
}

async function load(command: Extract<LoadCommand, { type: "load" }>): Promise<void> {
  const protocol = command.protocol ?? "ws";
  const payload = echoPayload(command.size, command.payload ?? "text", protocol);
  const frame = maskedFrame(payload);
  const batch = Buffer.concat(Array.from({ length: command.window }, () => frame));
  const opened = await Promise.all(Array.from({ length: command.connections }, () => openWebSocket(command)));
  received = 0;
  errors = 0;
  lastError = undefined;
  latency.reset();
  running = true;
  for (const { socket, rest } of opened) {
    track(socket);
    drive(socket, rest, protocol, payload, batch, frame.length, command.window);
  }
}

// ---- idle connections -------------------------------------------------------------------------

/** Keep an open connection alive: answer pings, ignore everything else. */
function listen(socket: net.Socket, rest: Buffer | undefined, protocol: Protocol, onText?: (buffer: Buffer, start: number, end: number) => void): void {
  const reader = new FrameReader(rest);
  const onChunk = (chunk: Buffer): void => {
    const error = reader.push(chunk, (opcode, buffer, start, end) => {
      const reply = controlReply(protocol, opcode, buffer, start, end);
      if (reply !== undefined) socket.write(reply);
      else if (opcode === 1 && onText !== undefined) onText(buffer, start, end);
    });
    if (error !== undefined) {
      noteError(new Error(error));
      socket.destroy();
    }
  };
  socket.on("data", onChunk);
  const pending = reader.rest();
  if (pending !== undefined) onChunk(pending);
}

async function idle(command: Extract<LoadCommand, { type: "idle" }>): Promise<void> {
  const protocol = command.protocol ?? "ws";
  running = true;
  let started = 0;
  await pool(
    Math.min(command.concurrency, command.count),
    () => started < command.count,
    async () => {
      started++;
      const { socket, rest } = await openWebSocket(command);
      track(socket);
      listen(socket, rest, protocol);
    },
  );
}

// ---- handshakes: open, close, again ------------------------------------------------------------

async function handshakes(command: Extract<LoadCommand, { type: "handshakes" }>): Promise<void> {
  const hist = new Histogram();
  const start = performance.now();
  const end = start + command.durationMs;
  let completed = 0;
  let failed = 0;
  await pool(
    command.concurrency,
    () => performance.now() < end,
    async () => {
      const began = performance.now();
      try {
        const { socket } = await openWebSocket(command, 5000);
        hist.record((performance.now() - began) * 1000);
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => {
            socket.destroy();
            reject(new Error("server did not close within 5 s"));
          }, 5000);
          socket.on("data", () => {}); // the server's close frame (and anything before it)
          socket.on("error", () => {});
          socket.once("close", () => {
            clearTimeout(timer);
            resolve();
          });
          socket.write(CLOSE_FRAME);
        });
        completed++;
      } catch (error) {
        failed++;
        noteError(error);
        // A refused or broken handshake must not spin: slow this worker down a little.
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
  );
  handshakeReport = { completed, failed, elapsedMs: performance.now() - start, ...hist.percentiles() };
}

// ---- fan-out subscribers -------------------------------------------------------------------------

interface Arrival {
  count: number;
  firstUs: number;
  lastUs: number;
}
const arrivals = new Map<number, Arrival>();
const subscriberSockets = new Set<net.Socket>();

function onBroadcast(buffer: Buffer, start: number, end: number, seen: Set<number>): void {
  const marker = buffer.indexOf("B:", start, "latin1");
  if (marker < 0 || marker >= end) return;
  let seq = 0;
  for (let i = marker + 2; i < end; i++) {
    const digit = buffer[i]! - 0x30;
    if (digit < 0 || digit > 9) break;
    seq = seq * 10 + digit;
  }
  if (seen.has(seq)) return;
  seen.add(seq);
  const now = monoUs();
  let arrival = arrivals.get(seq);
  if (arrival === undefined) arrivals.set(seq, (arrival = { count: 0, firstUs: now, lastUs: now }));
  arrival.count++;
  arrival.lastUs = now;
  if (arrival.count === subscriberSockets.size) {
    arrivals.delete(seq);
    const report: FanoutReport = { type: "fanout", seq, connections: arrival.count, firstUs: arrival.firstUs, lastUs: arrival.lastUs };
    process.send?.(report);
  }
}

async function subscribe(command: Extract<LoadCommand, { type: "subscribe" }>): Promise<void> {
  const protocol = command.protocol ?? "ws";
  running = true;
  let started = 0;
  await pool(
    Math.min(command.concurrency, command.count),
    () => started < command.count,
    async () => {
      started++;
      const { socket, rest } = await openWebSocket(command);
      track(socket);
      const seen = new Set<number>();
      subscriberSockets.add(socket);
      socket.once("close", () => subscriberSockets.delete(socket));
      listen(socket, rest, protocol, (buffer, start, end) => onBroadcast(buffer, start, end, seen));
    },
  );
}

// ---- control -------------------------------------------------------------------------------------

function stop(): void {
  running = false;
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  subscriberSockets.clear();
  arrivals.clear();
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
    latency: latency.percentiles(),
    ...(handshakeReport === undefined ? {} : { handshakes: handshakeReport }),
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
  else if (command.type === "handshakes") {
    errors = 0;
    lastError = undefined;
    handshakeReport = undefined;
    done(handshakes(command));
  } else if (command.type === "subscribe") done(subscribe(command));
  else if (command.type === "count") {
    // The reply carries the window that ends now; a reset starts the next one.
    reply(command.id, true, lastError);
    if (command.reset === true) latency.reset();
  } else if (command.type === "stop") done(stop());
});
process.on("disconnect", () => {
  stop();
  process.exit(0);
});
process.send?.({ type: "ready" });
