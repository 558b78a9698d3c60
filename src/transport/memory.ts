/**
 * An in-process wire: no sockets, deterministic order, frames delivered on the microtask queue.
 * It keeps the observable contract of the `ws` adapter — the close handshake, 1005 for a close
 * frame without a code, 1002 for an invalid close code, 1009 over `maxPayload` — so the test
 * client sees the same outcomes over memory and over TCP.
 */
import { isValidCloseCode } from "../connection/close-codes.js";
import type { ClientWire, ClientWireListener } from "./client-wire.js";
import type {
  AcceptOptions,
  DenialResponse,
  TransportConnection,
  TransportLimits,
  TransportListener,
  UpgradeRequest,
} from "./transport.js";

type WireState = "handshake" | "open" | "closing" | "closed";

interface Frame {
  readonly data: Buffer;
  readonly isBinary: boolean;
  /** For server frames: told once the client read it (a paused client holds it, as a full socket would). */
  readonly written?: ((error?: Error) => void) | undefined;
}

const NO_LISTENER: TransportListener = {
  onMessage() {},
  onPeerClose() {},
  onProtocolError() {},
  onClosed() {},
  onPong() {},
};

const toBuffer = (data: string | Uint8Array): Buffer =>
  typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data.buffer, data.byteOffset, data.byteLength);

/**
 * Both ends of one in-memory connection. `server` is handed to the app; the client methods are
 * what a test client drives.
 */
export class MemoryWire {
  readonly server: TransportConnection;
  #state: WireState = "handshake";
  #serverListener: TransportListener = NO_LISTENER;
  readonly #peer: ClientWireListener;
  readonly #limits: TransportLimits;
  #closeSentByServer = false;
  #closeSentByClient = false;
  #closeCode = 1006;
  #closeReason = "";
  #serverPaused = false;
  readonly #heldForServer: Frame[] = [];
  #clientPaused = false;
  readonly #heldForClient: Frame[] = [];
  #bufferedForClient = 0;

  constructor(request: UpgradeRequest, limits: TransportLimits, peer: ClientWireListener) {
    this.#peer = peer;
    this.#limits = limits;
    this.server = this.#serverEnd(request);
  }

  get state(): WireState {
    return this.#state;
  }

  /** The client end as the test client drives it. */
  get client(): ClientWire {
    return {
      send: (data, isBinary) => this.clientSend(data, isBinary),
      close: (code, reason) => this.clientClose(code, reason),
      abort: () => this.clientAbort(),
      pauseReading: () => this.clientPauseReading(),
      resumeReading: () => this.clientResumeReading(),
    };
  }

  // ---- client side ------------------------------------------------------------------------

  /** Send a data frame to the server. */
  clientSend(data: string | Uint8Array, isBinary: boolean): void {
    if (this.#state !== "open" || this.#closeSentByClient) return;
    const frame = { data: toBuffer(data), isBinary };
    queueMicrotask(() => this.#deliverToServer(frame));
  }

  /** Send a close frame; `code` undefined sends a frame with no status (the server sees 1005). */
  clientClose(code?: number, reason = ""): void {
    if (this.#closeSentByClient || (this.#state !== "open" && this.#state !== "closing")) return;
    this.#closeSentByClient = true;
    if (this.#state === "open") this.#state = "closing";
    queueMicrotask(() => this.#closeFrameToServer(code, reason));
  }

  /** Drop the connection without a close frame, as a reset TCP connection would. */
  clientAbort(): void {
    if (this.#state === "closed") return;
    queueMicrotask(() => this.#finish(1006, "", false));
  }

  /** Stop reading: server frames queue up and count towards its `bufferedAmount`. */
  clientPauseReading(): void {
    this.#clientPaused = true;
  }

  clientResumeReading(): void {
    this.#clientPaused = false;
    for (const frame of this.#heldForClient.splice(0)) this.#deliverToClient(frame);
  }

  // ---- server side ------------------------------------------------------------------------

  #serverEnd(request: UpgradeRequest): TransportConnection {
    const wire = this;
    return {
      request,
      listen(listener) {
        wire.#serverListener = listener;
      },
      accept(options: AcceptOptions) {
        if (wire.#state !== "handshake") return;
        wire.#state = "open";
        queueMicrotask(() => wire.#peer.onOpen(options.subprotocol, options.headers));
      },
      deny(response) {
        if (wire.#state !== "handshake") return;
        wire.#state = "closed";
        queueMicrotask(() => wire.#peer.onDenied(response));
        wire.#serverListener.onClosed(1006, "", false);
      },
      send(data, isBinary, callback) {
        if (wire.#state !== "open" || wire.#closeSentByServer) {
          callback?.(new Error("WebSocket is not open"));
          return;
        }
        const frame = { data: toBuffer(data), isBinary, written: callback };
        wire.#bufferedForClient += frame.data.length;
        queueMicrotask(() => wire.#deliverToClient(frame));
      },
      close(code, reason) {
        wire.#serverClose(code, reason);
      },
      terminate() {
        if (wire.#state === "closed") return;
        queueMicrotask(() => wire.#finish(1006, "", false));
      },
      ping() {
        if (wire.#state === "open") queueMicrotask(() => wire.#serverListener.onPong());
      },
      pause() {
        wire.#serverPaused = true;
      },
      resume() {
        wire.#serverPaused = false;
        while (!wire.#serverPaused && wire.#heldForServer.length > 0) {
          wire.#serverListener.onMessage(...frameArgs(wire.#heldForServer.shift()!));
        }
      },
      get bufferedAmount() {
        return wire.#bufferedForClient;
      },
    };
  }

  /** `code` undefined sends a close frame without a status, as `ws` does when echoing one. */
  #serverClose(code: number | undefined, reason: string): void {
    if (this.#closeSentByServer || (this.#state !== "open" && this.#state !== "closing")) return;
    this.#closeSentByServer = true;
    if (this.#state === "open") this.#state = "closing";
    queueMicrotask(() => this.#closeFrameToClient(code, reason));
  }

  #deliverToServer(frame: Frame): void {
    if (this.#state === "closed" || this.#closeSentByServer) return;
    if (frame.data.length > this.#limits.maxPayload) {
      this.#failConnection(1009);
      return;
    }
    if (this.#serverPaused) this.#heldForServer.push(frame);
    else this.#serverListener.onMessage(frame.data, frame.isBinary);
  }

  #deliverToClient(frame: Frame): void {
    if (this.#state === "closed") {
      frame.written?.(new Error("WebSocket is not open"));
      return;
    }
    if (this.#clientPaused) {
      this.#heldForClient.push(frame);
      return;
    }
    this.#bufferedForClient -= frame.data.length;
    frame.written?.();
    this.#peer.onMessage(frame.data, frame.isBinary);
  }

  /** As `ws` does on a bad frame: close with the code, report the error. */
  #failConnection(code: number): void {
    this.#serverListener.onProtocolError(code, "");
    this.#serverClose(code, "");
  }

  #closeFrameToServer(code: number | undefined, reason: string): void {
    if (this.#state === "closed") return;
    if (code !== undefined && !isValidCloseCode(code)) {
      this.#failConnection(1002);
      return;
    }
    const received = code ?? 1005;
    this.#serverListener.onPeerClose(received, code === undefined ? "" : reason);
    if (this.#closeSentByServer) {
      // Our close was answered: the handshake is complete.
      this.#finish(this.#closeCode, this.#closeReason, true);
      return;
    }
    this.#closeCode = received;
    this.#closeReason = code === undefined ? "" : reason;
    this.#serverClose(code, this.#closeReason);
  }

  #closeFrameToClient(sentCode: number | undefined, sentReason: string): void {
    if (this.#state === "closed") return;
    const code = sentCode ?? 1005;
    const reason = sentCode === undefined ? "" : sentReason;
    // Frames the client has not read yet are still delivered before the close frame.
    this.#clientResumeIfClosing();
    if (this.#closeSentByClient) {
      this.#finish(this.#closeCode, this.#closeReason, true);
      return;
    }
    this.#closeCode = code;
    this.#closeReason = reason;
    this.#closeSentByClient = true;
    queueMicrotask(() => {
      if (this.#state === "closed") return;
      this.#serverListener.onPeerClose(code, reason);
      this.#finish(code, reason, true);
    });
  }

  #clientResumeIfClosing(): void {
    if (this.#heldForClient.length > 0) this.clientResumeReading();
  }

  #finish(code: number, reason: string, wasClean: boolean): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#heldForServer.length = 0;
    for (const frame of this.#heldForClient.splice(0)) frame.written?.(new Error("WebSocket closed before the frame was read"));
    this.#serverListener.onClosed(code, reason, wasClean);
    this.#peer.onClosed(code, reason, wasClean);
  }
}

const frameArgs = (frame: Frame): [Buffer, boolean] => [frame.data, frame.isBinary];
