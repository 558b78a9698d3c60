/**
 * Time limits on every connection of an app, checked by one periodic sweep rather than a timer
 * per connection: the handshake must finish in time, a peer must answer pings (heartbeat), and
 * optionally a connection must not sit idle.
 */

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
  ping(): void;
  handshakeTimedOut(): void;
  heartbeatTimedOut(): void;
  idleTimedOut(): void;
}

/** Per-connection bookkeeping of the sweep; small and written only by the sweep and on pong. */
export class LivenessRecord {
  /** When the unanswered ping went out; 0 when none is pending. */
  pingSentAt = 0;
  lastPingAt = 0;
  lastIn = -1;
  lastOut = -1;
  /** When traffic (either way) was last seen moving. */
  quietSince = 0;
  /** When the peer was last seen sending. */
  heardAt = 0;

  pong(): void {
    this.pingSentAt = 0;
  }
}

export class LivenessSweep {
  readonly #options: LivenessOptions;
  readonly #connections: Iterable<Watched>;
  readonly #timer: NodeJS.Timeout;

  constructor(options: LivenessOptions, connections: Iterable<Watched>) {
    this.#options = options;
    this.#connections = connections;
    const periods = [options.handshakeTimeoutMs];
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
    const { heartbeat, handshakeTimeoutMs, idleTimeoutMs } = this.#options;
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
      if (heard) {
        // A peer that sends is alive, whether or not it has answered the last ping yet.
        record.heardAt = now;
        record.pingSentAt = 0;
      }
      if (idleTimeoutMs !== undefined && now - record.quietSince >= idleTimeoutMs) {
        connection.idleTimedOut();
        continue;
      }
      if (heartbeat === false) continue;
      if (record.pingSentAt !== 0) {
        if (now - record.pingSentAt >= heartbeat.timeoutMs) connection.heartbeatTimedOut();
      } else if (now - Math.max(record.lastPingAt, record.heardAt) >= heartbeat.intervalMs) {
        record.pingSentAt = now;
        record.lastPingAt = now;
        connection.ping();
      }
    }
  }
}
