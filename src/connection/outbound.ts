/**
 * Outbound flow control (docs/architecture.md §3): one frame under the high-water mark goes
 * straight to the transport; past it the route's backpressure policy applies — `wait` (the
 * send's promise settles once the frame is written, and a client that makes no progress for
 * `sendTimeoutMs` is closed by the liveness sweep), `drop` the newest frame, or `close` 1008.
 * What counts is bytes plus a fixed cost per queued frame (`limits/budget.ts`), so that a flood
 * of empty replies is bounded as well as a flood of large ones.
 */
import { FRAME_COST } from "../limits/budget.js";
import type { TransportConnection } from "../transport/transport.js";
import { countDropped, countOut, type Counted } from "./counting.js";
import { PAUSED_BY_OUTBOUND } from "./inbound.js";

/**
 * The promise every send that left without waiting returns: one shared, settled promise, so a
 * caller that fans out (channels) can tell "sent" from "must wait" by identity, with no turn.
 */
export const SENT_AT_ONCE: Promise<void> = Promise.resolve();

/** At the high-water mark: `wait` for the client to read, `drop` the newest frame (counted), or `close` (1008). */
export type BackpressurePolicy = "wait" | "drop" | "close";

/** What outbound flow control needs of its connection. */
export interface OutboundHost extends Counted {
  readonly settings: Counted["settings"] & { readonly outboundHighWater: number; readonly backpressure: BackpressurePolicy };
  /** The connection's waiting sends, created on the first. */
  sendWaits(): SendWaits;
  /** Stop / resume reading from the peer for `reason` (see `inbound.ts`). */
  pauseReading(reason: number): void;
  resumeReading(reason: number): void;
  /** The `close` policy: close 1008 "Slow consumer". */
  closeSlowConsumer(): void;
}

/**
 * Write one frame. `undefined` when it was written below the mark (or dropped); a promise when
 * it waits for the client to read.
 */
export function writeFrame(host: OutboundHost, transport: TransportConnection, data: string | Uint8Array, isBinary: boolean): Promise<void> | undefined {
  if (transport.bufferedAmount + transport.queuedFrames * FRAME_COST < host.settings.outboundHighWater) {
    transport.send(data, isBinary);
    // Counted once sent: a short text's UTF-8 length is then the frame's, not a second scan (frame.ts: utf8Length).
    countOut(host, data, isBinary);
    return undefined;
  }
  switch (host.settings.backpressure) {
    case "wait":
      countOut(host, data, isBinary);
      return host.sendWaits().wait(transport, data, isBinary);
    case "drop":
      countDropped(host, data);
      return undefined;
    case "close":
      countDropped(host, data);
      host.closeSlowConsumer();
      return undefined;
  }
}

/** The `"wait"` sends of one connection not yet written, oldest first. Created on the first wait. */
export class SendWaits {
  /** When the oldest waiting send last saw progress (the sweep's `Watched.waitingSince`); 0 when none waits. */
  since = 0;
  readonly #resolvers: (() => void)[] = [];
  readonly #host: OutboundHost;

  constructor(host: OutboundHost) {
    this.#host = host;
  }

  get size(): number {
    return this.#resolvers.length;
  }

  wait(transport: TransportConnection, data: string | Uint8Array, isBinary: boolean): Promise<void> {
    return new Promise((resolve) => {
      if (this.#host.settings.observers.active) resolve = this.#timed(resolve);
      if (this.#resolvers.length === 0) {
        this.since = Date.now();
        // A client we are waiting on is not read either until it reads: what it sends
        // meanwhile (messages, pings) stays in its own buffers, not ours.
        this.#host.pauseReading(PAUSED_BY_OUTBOUND);
      }
      this.#resolvers.push(resolve);
      transport.send(data, isBinary, () => this.#written(resolve));
    });
  }

  /** `resolve`, first telling observers how long the send waited (once: it may be called again after close). */
  #timed(resolve: () => void): () => void {
    const since = performance.now();
    const host = this.#host;
    let told = false;
    return () => {
      if (!told && host.settings.observers.active) host.settings.observers.sendWaited(host.id, performance.now() - since);
      told = true;
      resolve();
    };
  }

  /** A waited-for frame was written (or failed with the connection): progress, the deadline restarts. */
  #written(resolve: () => void): void {
    const resolvers = this.#resolvers;
    const index = resolvers.indexOf(resolve);
    if (index >= 0) {
      resolvers.splice(index, 1);
      this.since = resolvers.length === 0 ? 0 : Date.now();
      if (resolvers.length === 0) this.#host.resumeReading(PAUSED_BY_OUTBOUND);
    }
    resolve();
  }

  /** Let every waiting sender go on (the connection is closing: a room's publisher is not held by one silent member). */
  releaseAll(): void {
    this.since = 0;
    if (this.#resolvers.length === 0) return;
    const resolvers = this.#resolvers.splice(0);
    this.#host.resumeReading(PAUSED_BY_OUTBOUND);
    for (const resolve of resolvers) resolve();
  }
}
