/**
 * `testClient(app)`: drive an app the way a WebSocket client would, over the in-memory
 * transport (default: no sockets, deterministic) or over real TCP (`{ transport: "tcp" }`),
 * with the same API and the same observable outcomes.
 */
import { randomBytes } from "node:crypto";
import type { App } from "../app/app.js";
import { decodeMsgpack, encodeMsgpack } from "../codec/msgpack.js";
import { type MessageSchema, type SchemaOutput, validate } from "../codec/schema.js";
import { WebSocketDisconnect } from "../wire/errors.js";
import type { ClientWire, ClientWireListener } from "../transport/client-wire.js";
import { type DeliveryScheduler, MemoryWire } from "../transport/memory.js";
import type { DenialResponse } from "../transport/transport.js";
import { openWsClientWire } from "../transport/ws-client.js";

export interface TestClientOptions {
  /** `"memory"` (default) or `"tcp"`: the latter starts `app.listen()` on 127.0.0.1 on first use. */
  readonly transport?: "memory" | "tcp";
  /** How long `receive*()` waits before failing the test instead of hanging it. Default 5 000 ms. */
  readonly receiveTimeoutMs?: number;
  /** Memory transport only: when deliveries run (e.g. through `fc.scheduler`). Default: the microtask queue. */
  readonly schedule?: DeliveryScheduler;
}

export interface ConnectOptions {
  readonly headers?: Readonly<Record<string, string>>;
  readonly subprotocols?: readonly string[];
  /** Answer the server's pings (default true); false plays a peer that is gone but whose connection is not. */
  readonly autoPong?: boolean;
  /** Give up on a handshake not answered within this time: the connection is dropped and `connect` rejects. Default 10 000 ms. */
  readonly handshakeTimeoutMs?: number;
  /** Ask for permessage-deflate (TCP only; the memory transport does not compress). */
  readonly perMessageDeflate?: boolean;
}

/** How a connection ended, as the client saw it. */
export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}

/** The server refused the handshake with an HTTP response. */
export class HandshakeRejected extends Error {
  override readonly name = "HandshakeRejected";
  readonly status: number;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  constructor(response: DenialResponse) {
    super(`Handshake rejected with HTTP ${response.status}${response.body === "" ? "" : `: ${response.body}`}`);
    this.status = response.status;
    this.body = response.body;
    this.headers = response.headers;
  }
}

export interface TestClient {
  /** Open a WebSocket to `path` (with query). Rejects with `HandshakeRejected` when the server refuses it. */
  connect(path: string, options?: ConnectOptions): Promise<TestSocket>;
  /** An HTTP request to the app's HTTP routes. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Abort every socket this client opened that is still open (the app keeps running). */
  close(): Promise<void>;
  /**
   * `await using client = testClient(app)`: on scope exit, abort the sockets still open, then
   * `app.close()` — which runs the `onShutdown` hooks of an app that started.
   */
  [Symbol.asyncDispose](): Promise<void>;
}

type Frame = { readonly data: Buffer; readonly isBinary: boolean };

/**
 * One client connection. `receive*()` time out rather than hang; after the close they throw `WebSocketDisconnect`.
 * `await using ws = await client.connect(...)` closes it (1000) when the scope exits.
 */
export class TestSocket implements AsyncDisposable {
  /** The subprotocol the server chose, if any. */
  readonly subprotocol: string | undefined;
  /** Response headers of the handshake, names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  /** Settles when the connection has ended. */
  readonly closed: Promise<CloseInfo>;
  readonly #wire: ClientWire;
  readonly #inbox: TestInbox;

  /** @internal */
  constructor(wire: ClientWire, inbox: TestInbox, subprotocol: string | undefined, headers: Readonly<Record<string, string>>) {
    this.#wire = wire;
    this.#inbox = inbox;
    this.subprotocol = subprotocol;
    this.headers = headers;
    this.closed = inbox.closed;
  }

  sendText(text: string): void {
    this.#wire.send(text, false);
  }

  sendBytes(bytes: Uint8Array): void {
    this.#wire.send(bytes, true);
  }

  sendJson(value: unknown): void {
    this.#wire.send(JSON.stringify(value), false);
  }

  /** Send `value` as MessagePack in a binary frame. */
  sendMsgpack(value: unknown): void {
    this.#wire.send(encodeMsgpack(value), true);
  }

  /** The next message, a binary frame decoded from MessagePack. */
  async receiveMsgpack(): Promise<unknown> {
    const frame = await this.#inbox.take();
    if (!frame.isBinary) throw new TypeError("Expected a binary MessagePack message, got text");
    const decoded = decodeMsgpack(frame.data);
    if (!decoded.ok) throw new TypeError("Received bytes are not valid MessagePack");
    return decoded.value;
  }

  /** The next message: text as a string, binary as a Buffer. */
  async receive(): Promise<string | Buffer> {
    const frame = await this.#inbox.take();
    return frame.isBinary ? frame.data : frame.data.toString("utf8");
  }

  async receiveText(): Promise<string> {
    const frame = await this.#inbox.take();
    if (frame.isBinary) throw new TypeError(`Expected a text message, got ${frame.data.length} binary bytes`);
    return frame.data.toString("utf8");
  }

  async receiveBytes(): Promise<Buffer> {
    const frame = await this.#inbox.take();
    if (!frame.isBinary) throw new TypeError(`Expected a binary message, got text ${JSON.stringify(frame.data.toString("utf8"))}`);
    return frame.data;
  }

  async receiveJson(): Promise<unknown>;
  async receiveJson<S extends MessageSchema>(schema: S): Promise<SchemaOutput<S>>;
  async receiveJson(schema?: MessageSchema): Promise<unknown> {
    const value: unknown = JSON.parse((await this.#inbox.take()).data.toString("utf8"));
    if (schema === undefined) return value;
    const result = await validate(schema, value);
    if (!result.ok) throw new TypeError(`Received JSON does not match the schema: ${result.problem}`);
    return result.value;
  }

  /** Messages received and not yet read. */
  get pending(): number {
    return this.#inbox.size;
  }

  /** Every message received so far, read or not, in arrival order. */
  get history(): readonly { readonly data: Buffer; readonly isBinary: boolean }[] {
    return this.#inbox.history;
  }

  /**
   * Send a close frame and wait for the connection to end. Without a code it sends 1000, as a
   * browser's `close()` and Starlette's test client do; `closeWithoutStatus()` sends none.
   */
  close(code = 1000, reason?: string): Promise<CloseInfo> {
    this.#wire.close(code, reason);
    return this.closed;
  }

  /** Send a close frame that carries no status code (the server sees 1005). */
  closeWithoutStatus(): Promise<CloseInfo> {
    this.#wire.close();
    return this.closed;
  }

  /** Scope exit of `await using`: close with 1000 unless the connection already ended. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#inbox.ended) return;
    await this.close(1000);
  }

  /** Send a ping (answered by the server's transport; the app does not see it). */
  ping(): void {
    this.#wire.ping();
  }

  /** Stop reading from the server, like a client that stopped consuming: its frames back up on the server. */
  pauseReading(): void {
    this.#wire.pauseReading();
  }

  resumeReading(): void {
    this.#wire.resumeReading();
  }

  /** Drop the connection without a close frame, like a reset TCP connection. */
  abort(): Promise<CloseInfo> {
    this.#wire.abort();
    return this.closed;
  }
}

/** Frames in arrival order, then the close. */
class TestInbox {
  readonly #frames: Frame[] = [];
  readonly history: Frame[] = [];
  #waiter: { resolve: (frame: Frame) => void; reject: (error: Error) => void } | undefined;
  #close: CloseInfo | undefined;
  readonly closed: Promise<CloseInfo>;
  #resolveClosed!: (info: CloseInfo) => void;
  readonly #timeoutMs: number;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  get size(): number {
    return this.#frames.length;
  }

  get ended(): boolean {
    return this.#close !== undefined;
  }

  push(frame: Frame): void {
    this.history.push(frame);
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter !== undefined) waiter.resolve(frame);
    else this.#frames.push(frame);
  }

  end(info: CloseInfo): void {
    if (this.#close !== undefined) return;
    this.#close = info;
    this.#resolveClosed(info);
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(new WebSocketDisconnect(info.code, info.reason));
  }

  take(): Promise<Frame> {
    const frame = this.#frames.shift();
    if (frame !== undefined) return Promise.resolve(frame);
    if (this.#close !== undefined) return Promise.reject(new WebSocketDisconnect(this.#close.code, this.#close.reason));
    if (this.#waiter !== undefined) return Promise.reject(new Error("Another receive() is already waiting"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new Error(`No message within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#waiter = {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
  }
}

type OpenWire = (path: string, options: ConnectOptions, listener: ClientWireListener) => Promise<ClientWire>;

/** A client for `app`, over memory (default) or real TCP. */
export function testClient(app: App, options: TestClientOptions = {}): TestClient {
  const receiveTimeoutMs = options.receiveTimeoutMs ?? 5000;
  const sockets = new Set<TestSocket>();
  let baseUrl: Promise<string> | undefined;
  const tcpBase = (): Promise<string> =>
    (baseUrl ??= app.listen({ port: 0, host: "127.0.0.1" }).then((address) => address.url));

  const openWire: OpenWire =
    options.transport === "tcp"
      ? async (path, connectOptions, listener) =>
          openWsClientWire(
            `${(await tcpBase()).replace(/^http/, "ws")}${path}`,
            {
              headers: { ...connectOptions.headers },
              subprotocols: connectOptions.subprotocols ?? [],
              autoPong: connectOptions.autoPong ?? true,
              perMessageDeflate: connectOptions.perMessageDeflate ?? false,
            },
            listener,
          )
      : async (path, connectOptions, listener) => {
          const headers = connectOptions.headers ?? {};
          const subprotocols = connectOptions.subprotocols ?? [];
          const requestHeaders: Record<string, string> = {
            host: "localhost",
            connection: "Upgrade",
            upgrade: "websocket",
            "sec-websocket-version": "13",
            "sec-websocket-key": randomBytes(16).toString("base64"),
          };
          for (const [name, value] of Object.entries(headers)) requestHeaders[name.toLowerCase()] = value;
          if (subprotocols.length > 0) requestHeaders["sec-websocket-protocol"] = subprotocols.join(", ");
          const wire = new MemoryWire(
            { url: path, headers: requestHeaders, remoteAddress: "127.0.0.1", remotePort: 49152 + Math.floor(Math.random() * 16000) },
            app.limits,
            listener,
            { autoPong: connectOptions.autoPong ?? true, ...(options.schedule === undefined ? {} : { schedule: options.schedule }) },
          );
          app.handleUpgrade(wire.server);
          return wire.client;
        };

  // The memory transport has no listen(): run the app's onStartup hooks before the first
  // connection or request, as the TCP transport's listen() does.
  const started = (): Promise<void> => (options.transport === "tcp" ? Promise.resolve() : app.start());
  const abortAll = async (): Promise<void> => {
    await Promise.all([...sockets].map((socket) => socket.abort()));
  };

  return {
    async connect(path, connectOptions = {}) {
      await started();
      const inbox = new TestInbox(receiveTimeoutMs);
      let opened: ((socket: TestSocket) => void) | undefined;
      let failed: ((error: Error) => void) | undefined;
      const ready = new Promise<TestSocket>((resolve, reject) => {
        opened = resolve;
        failed = reject;
      });
      let wire: ClientWire | undefined;
      const pendingOpen: { subprotocol: string | undefined; headers: Readonly<Record<string, string>> }[] = [];
      const listener: ClientWireListener = {
        onOpen(subprotocol, headers) {
          if (wire === undefined) pendingOpen.push({ subprotocol, headers });
          else openWith(wire, subprotocol, headers);
        },
        onDenied: (response) => failed?.(new HandshakeRejected(response)),
        onMessage: (data, isBinary) => inbox.push({ data, isBinary }),
        onClosed(code, reason, wasClean) {
          inbox.end({ code, reason, wasClean });
          failed?.(new Error(`Connection to ${path} failed before the handshake completed (code ${code})`));
        },
      };
      const openWith = (w: ClientWire, subprotocol: string | undefined, headers: Readonly<Record<string, string>>): void => {
        const socket = new TestSocket(w, inbox, subprotocol, headers);
        sockets.add(socket);
        void socket.closed.then(() => sockets.delete(socket));
        failed = undefined;
        opened?.(socket);
      };
      wire = await openWire(path, connectOptions, listener);
      for (const open of pendingOpen.splice(0)) openWith(wire, open.subprotocol, open.headers);
      const wireInUse = wire;
      const timer = setTimeout(() => {
        wireInUse.abort();
        failed?.(new Error(`No answer to the handshake for ${path} within ${connectOptions.handshakeTimeoutMs ?? 10_000} ms`));
      }, connectOptions.handshakeTimeoutMs ?? 10_000);
      return ready.finally(() => clearTimeout(timer));
    },

    async fetch(path, init) {
      if (options.transport === "tcp") return fetch(`${await tcpBase()}${path}`, init);
      await started();
      return app.fetch(new Request(`http://localhost${path}`, init));
    },

    close: abortAll,

    async [Symbol.asyncDispose]() {
      await abortAll();
      await app.close();
    },
  };
}
