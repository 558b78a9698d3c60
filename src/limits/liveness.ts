/**
 * Time limits on every connection of an app, checked by one periodic sweep rather than a timer
 * per connection: the handshake must finish in time, a peer must answer pings (heartbeat), a
 * send waiting on backpressure must make progress (send timeout), and optionally a connection
 * must not sit idle.
 */
import { randomBytes } from "node:crypto";

export interface HeartbeatOptions {
  /** How often an idle connection is pinged. Default 30 000 ms. */
  readonly intervalMs?: number;
  /** How long a ping may go unanswered before the peer counts as dead (terminated, 1006). Default 10 000 ms. */
  readonly timeoutMs?: number;
}

export interface LivenessOptions {
  readonly heartbeat: Required<HeartbeatOptions> | false;
  readonly handshakeTimeoutMs: number;
  readonly idleTimeoutMs: number | undefined;
  /** How long a `"wait"` send may go without any outbound progress. */
  readonly sendTimeoutMs: number;
}

/** What the sweep needs of a connection. */
export interface Watched {
  readonly lifecycle: "connecting" | "open" | "closing" | "closed";
  readonly startedAt: number;
  /** Messages received: moves when the peer is alive. */
  readonly messagesIn: number;
  /** Messages sent: with `messagesIn`, what idleness is measured by. */
  readonly messagesOut: number;
  readonly liveness: LivenessRecord;
  /** Frames we sent that the peer has not read yet are queued: its messages do not prove it alive. */
  readonly outboundBacklogged: boolean;
  /** We stopped reading from the peer because our handler is behind: its pongs cannot reach us. */
  readonly inboundPaused: boolean;
  /** When the oldest pending `"wait"` send last saw outbound progress; 0 when none waits. */
  readonly waitingSince: number;
  ping(data: Buffer): void;
  handshakeTimedOut(): void;
  heartbeatTimedOut(): void;
  idleTimedOut(): void;
  sendTimedOut(): void;
}

/** Per-connection bookkeeping of the sweep; small and written only by the sweep and on pong. */
export class LivenessRecord {
  /** When the unanswered ping went out; 0 when none is pending. */
  pingSentAt = 0;
  /** The payload of that ping: only a pong that echoes it answers it. */
  pingPayload: Buffer | undefined;
  lastPingAt = 0;
  lastIn = -1;
  lastOut = -1;
  /** When traffic (either way) was last seen moving. */
  quietSince = 0;
  /** When the peer was last seen sending. */
  heardAt = 0;

  /**
   * A pong arrived. It answers our ping only if it echoes the ping's unpredictable payload: a
   * client that does not read never saw the ping, and its unsolicited pongs prove nothing.
   */
  pong(data: Buffer): void {
    if (this.pingSentAt !== 0 && this.pingPayload !== undefined && this.pingPayload.equals(data)) {
      this.pingSentAt = 0;
      this.pingPayload = undefined;
    }
  }

  /** A fresh ping payload, remembered until answered. */
  nextPing(now: number): Buffer {
    this.pingSentAt = now;
    this.lastPingAt = now;
    this.pingPayload = randomBytes(8);
    return this.pingPayload;
  }
}

export class LivenessSweep {
  readonly #options: LivenessOptions;
  readonly #connections: Iterable<Watched>;
  readonly #timer: NodeJS.Timeout;

  constructor(options: LivenessOptions, connections: Iterable<Watched>) {
    this.#options = options;
    this.#connections = connections;
    const periods = [options.handshakeTimeoutMs, options.sendTimeoutMs];
    if (options.heartbeat !== false) periods.push(options.heartbeat.intervalMs, options.heartbeat.timeoutMs);
    if (options.idleTimeoutMs !== undefined) periods.push(options.idleTimeoutMs);
    // A quarter of the shortest limit: a limit is enforced at most 25% late.
    const tick = Math.max(25, Math.min(...periods) / 4);
    this.#timer = setInterval(() => this.sweep(Date.now()), tick).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  sweep(now: number): void {
    const { heartbeat, handshakeTimeoutMs, idleTimeoutMs, sendTimeoutMs } = this.#options;
    for (const connection of this.#connections) {
      const record = connection.liveness;
      if (connection.lifecycle === "connecting") {
        if (now - connection.startedAt >= handshakeTimeoutMs) connection.handshakeTimedOut();
        continue;
      }
      if (connection.lifecycle !== "open") continue;
      const heard = connection.messagesIn !== record.lastIn;
      if (heard || connection.messagesOut !== record.lastOut) {
        record.lastIn = connection.messagesIn;
        record.lastOut = connection.messagesOut;
        record.quietSince = now;
      }
      // A peer that sends is alive, whether or not it has answered the last ping yet — unless
      // what we sent it sits unread: a client that floods and never reads must answer pings.
      if (heard && !connection.outboundBacklogged) {
        record.heardAt = now;
        record.pingSentAt = 0;
        record.pingPayload = undefined;
      }
      const waitingSince = connection.waitingSince;
      if (waitingSince !== 0 && now - waitingSince >= sendTimeoutMs) {
        connection.sendTimedOut();
        continue;
      }
      if (idleTimeoutMs !== undefined && now - record.quietSince >= idleTimeoutMs) {
        connection.idleTimedOut();
        continue;
      }
      if (heartbeat === false) continue;
      // While we do not read a peer its pong cannot reach us, so the pending ping's clock waits:
      // when its handler is behind (not the peer's doing), or while our sends to it wait and
      // still progress (a slow reader). A peer that reads nothing of ours for the heartbeat
      // timeout gets no such grace.
      if (connection.inboundPaused || (waitingSince !== 0 && now - waitingSince < heartbeat.timeoutMs)) {
        if (record.pingSentAt !== 0) record.pingSentAt = now;
        continue;
      }
      if (record.pingSentAt !== 0) {
        if (now - record.pingSentAt >= heartbeat.timeoutMs) connection.heartbeatTimedOut();
      } else if (now - Math.max(record.lastPingAt, record.heardAt) >= heartbeat.intervalMs) {
        connection.ping(record.nextPing(now));
      }
    }
  }
}
