/**
 * An in-process wire: no sockets, deterministic order. It keeps the observable contract of the
 * `ws` adapter — the close handshake, 1005 for a close frame without a code, 1002 for an invalid
 * close code, 1009 over `maxPayload` — so the test client sees the same outcomes over memory and
 * over TCP.
 *
 * Deliveries in each direction are first in, first out, as on TCP. When one runs is up to a
 * scheduler: the microtask queue by default, or e.g. fast-check's `fc.scheduler`, which then
 * explores every interleaving of the two directions.
 */
import { isValidCloseCode } from "../wire/close-codes.js";
import type { ClientWire, ClientWireListener } from "./client-wire.js";
import type {
  AcceptOptions,
  DenialResponse,
  TransportConnection,
  TransportLimits,
  TransportListener,
  UpgradeRequest,
} from "./transport.js";

/** Runs a delivery later; must eventually call `task` exactly once. */
export type DeliveryScheduler = (task: () => void) => void;

export interface MemoryWireOptions {
  /** When deliveries run. Default: `queueMicrotask`. */
  readonly schedule?: DeliveryScheduler;
  /** Whether the client answers pings (a real client does; a dead one does not). Default true. */
  readonly autoPong?: boolean;
}

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

/** One direction of the wire: tasks run in order, each when the scheduler says. */
class Lane {
  readonly #tasks: (() => void)[] = [];
  readonly #schedule: DeliveryScheduler;

  constructor(schedule: DeliveryScheduler) {
    this.#schedule = schedule;
  }

  post(task: () => void): void {
    this.#tasks.push(task);
    // Each scheduled run takes the head, so any order of runs keeps the lane's order.
    this.#schedule(() => this.#tasks.shift()?.());
  }
}

/**
 * Both ends of one in-memory connection. `server` is handed to the app; `client` is what a
 * test client drives.
 */
export class MemoryWire {
  readonly server: TransportConnection;
  readonly client: ClientWire;
  #state: WireState = "handshake";
  #serverListener: TransportListener = NO_LISTENER;
  readonly #peer: ClientWireListener;
  #maxPayload: number;
  readonly #toServer: Lane;
  readonly #toClient: Lane;
  readonly #autoPong: boolean;
  #closeSentByServer = false;
  #closeSentByClient = false;
  #closeCode = 1006;
  #closeReason = "";
  #serverPaused = false;
  readonly #heldForServer: Frame[] = [];
  #clientPaused = false;
  /** What a paused client has not read: frames, and possibly the server's close frame last. */
  readonly #heldForClient: (Frame | (() => void))[] = [];
  #bufferedForClient = 0;
  #framesForClient = 0;

  constructor(request: UpgradeRequest, limits: TransportLimits, peer: ClientWireListener, options: MemoryWireOptions = {}) {
    this.#peer = peer;
    this.#maxPayload = limits.maxPayload;
    const schedule = options.schedule ?? queueMicrotask;
    this.#toServer = new Lane(schedule);
    this.#toClient = new Lane(schedule);
    this.#autoPong = options.autoPong ?? true;
    this.server = this.#serverEnd(request);
    this.client = {
      send: (data, isBinary) => this.#clientSend(data, isBinary),
      close: (code, reason) => this.#clientClose(code, reason),
      abort: () => this.#clientAbort(),
      // The server's transport answers pings itself, as `ws` does; nothing reaches the app.
      ping: () => {},
      pauseReading: () => {
        this.#clientPaused = true;
      },
      resumeReading: () => this.#clientResume(),
    };
  }

  get state(): WireState {
    return this.#state;
  }

  // ---- client side ------------------------------------------------------------------------

  #clientSend(data: string | Uint8Array, isBinary: boolean): void {
    if (this.#state !== "open" || this.#closeSentByClient) return;
    const frame = { data: toBuffer(data), isBinary };
    this.#toServer.post(() => this.#deliverToServer(frame));
  }

  /** `code` undefined sends a close frame with no status (the server sees 1005). */
  #clientClose(code?: number, reason = ""): void {
    if (this.#closeSentByClient || (this.#state !== "open" && this.#state !== "closing")) return;
    this.#closeSentByClient = true;
    if (this.#state === "open") this.#state = "closing";
    this.#toServer.post(() => this.#closeFrameToServer(code, reason));
  }

  /** Drop the connection without a close frame, as a reset TCP connection would. */
  #clientAbort(): void {
    if (this.#state === "closed") return;
    this.#toServer.post(() => this.#finish(1006, "", false));
  }

  #clientResume(): void {
    this.#clientPaused = false;
    while (!this.#clientPaused && this.#heldForClient.length > 0) {
      const held = this.#heldForClient.shift()!;
      if (typeof held === "function") held();
      else this.#deliverToClient(held);
    }
  }

  // ---- server side ------------------------------------------------------------------------

  #serverEnd(request: UpgradeRequest): TransportConnection {
    const wire = this;
    return {
      request,
      limitPayload(bytes) {
        wire.#maxPayload = bytes;
      },
      listen(listener) {
        wire.#serverListener = listener;
      },
      accept(options: AcceptOptions) {
        if (wire.#state !== "handshake") return;
        wire.#state = "open";
        wire.#toClient.post(() => {
          if (wire.#state !== "closed") wire.#peer.onOpen(options.subprotocol, options.headers);
        });
      },
      deny(response: DenialResponse) {
        if (wire.#state !== "handshake") return;
        wire.#state = "closed";
        wire.#toClient.post(() => wire.#peer.onDenied(response));
        wire.#serverListener.onClosed(1006, "", false);
      },
      send(data, isBinary, callback) {
        // A close frame the client sent but the server has not read yet does not stop the server's writes (as over TCP).
        if ((wire.#state !== "open" && wire.#state !== "closing") || wire.#closeSentByServer || wire.#serverGotClose) {
          callback?.(new Error("WebSocket is not open"));
          return;
        }
        const frame = { data: toBuffer(data), isBinary, written: callback };
        wire.#bufferedForClient += frame.data.length;
        wire.#framesForClient++;
        wire.#toClient.post(() => wire.#deliverToClient(frame));
      },
      close(code, reason) {
        wire.#serverClose(code, reason);
      },
      terminate() {
        if (wire.#state === "closed") return;
        // The server's side is gone at once; the client learns of it in its lane's turn.
        wire.#finishServer(1006, "", false);
        wire.#toClient.post(() => wire.#finish(1006, "", false));
      },
      ping(data) {
        if (wire.#state !== "open" || !wire.#autoPong) return;
        const payload = Buffer.from(data);
        // A client that is not reading does not see the ping either, so it cannot answer it.
        const answer = (): void => {
          if (wire.#state === "open" || wire.#state === "closing") wire.#toServer.post(() => wire.#serverListener.onPong(payload));
        };
        wire.#toClient.post(() => {
          if (wire.#clientPaused) wire.#heldForClient.push(answer);
          else answer();
        });
      },
      pause() {
        wire.#serverPaused = true;
      },
      resume() {
        wire.#serverPaused = false;
        while (!wire.#serverPaused && wire.#heldForServer.length > 0) {
          const frame = wire.#heldForServer.shift()!;
          wire.#serverListener.onMessage(frame.data, frame.isBinary);
        }
      },
      get bufferedAmount() {
        return wire.#bufferedForClient;
      },
      get queuedFrames() {
        return wire.#framesForClient;
      },
    };
  }

  /** `code` undefined sends a close frame without a status, as `ws` does when echoing one. */
  #serverClose(code: number | undefined, reason: string): void {
    if (this.#closeSentByServer || (this.#state !== "open" && this.#state !== "closing")) return;
    this.#closeSentByServer = true;
    if (this.#state === "open") this.#state = "closing";
    this.#toClient.post(() => this.#closeFrameToClient(code, reason));
  }

  #deliverToServer(frame: Frame): void {
    if (this.#state === "closed" || this.#closeSentByServer) return;
    if (frame.data.length > this.#maxPayload) {
      this.#failConnection(1009);
      return;
    }
    if (this.#serverPaused) this.#heldForServer.push(frame);
    else this.#serverListener.onMessage(frame.data, frame.isBinary);
  }

  #deliverToClient(frame: Frame): void {
    if (this.#state === "closed") {
      this.#framesForClient--;
      frame.written?.(new Error("WebSocket is not open"));
      return;
    }
    if (this.#clientPaused) {
      this.#heldForClient.push(frame);
      return;
    }
    this.#bufferedForClient -= frame.data.length;
    this.#framesForClient--;
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
    this.#serverGotClose = true;
    this.#serverListener.onPeerClose(received, code === undefined ? "" : reason);
    if (this.#closeSentByServer) {
      if (!this.#clientGotClose || this.#clientFinished) {
        // Both sides closed at once: each ends with the code of the frame it received, as over TCP.
        if (this.#clientFinished) this.#state = "closed";
        this.#finishServer(received, code === undefined ? "" : reason, true);
        return;
      }
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
    if (this.#clientPaused) {
      // A client that is not reading does not see the close frame either.
      this.#heldForClient.push(() => this.#closeFrameToClient(sentCode, sentReason));
      return;
    }
    const code = sentCode ?? 1005;
    const reason = sentCode === undefined ? "" : sentReason;
    this.#clientGotClose = true;
    if (this.#closeSentByClient) {
      if (!this.#serverGotClose || this.#serverFinished) {
        // Both sides closed at once: the client ends with the server's code, not a 1006 nobody sent.
        if (this.#serverFinished) this.#state = "closed";
        this.#finishClient(code, reason, true);
        return;
      }
      this.#finish(this.#closeCode, this.#closeReason, true);
      return;
    }
    this.#closeCode = code;
    this.#closeReason = reason;
    this.#closeSentByClient = true;
    this.#toServer.post(() => {
      if (this.#state === "closed") return;
      this.#serverListener.onPeerClose(code, reason);
      this.#finish(code, reason, true);
    });
  }

  #serverFinished = false;
  #clientFinished = false;
  /** Whether each side has received the other's close frame (a simultaneous close ends each side on its own). */
  #serverGotClose = false;
  #clientGotClose = false;

  #finishClient(code: number, reason: string, wasClean: boolean): void {
    if (this.#clientFinished) return;
    this.#clientFinished = true;
    this.#peer.onClosed(code, reason, wasClean);
  }

  #finishServer(code: number, reason: string, wasClean: boolean): void {
    if (this.#serverFinished) return;
    this.#serverFinished = true;
    this.#heldForServer.length = 0;
    this.#serverListener.onClosed(code, reason, wasClean);
  }

  #finish(code: number, reason: string, wasClean: boolean): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    for (const held of this.#heldForClient.splice(0)) {
      if (typeof held === "function") continue;
      this.#framesForClient--;
      held.written?.(new Error("WebSocket closed before the frame was read"));
    }
    this.#finishServer(code, reason, wasClean);
    this.#finishClient(code, reason, wasClean);
  }
}
