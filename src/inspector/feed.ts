/**
 * The inspector's live feed: a statewire WebSocket route that sends each page JSON updates (see
 * protocol.ts). Changes are batched: at most one update per `intervalMs`, carrying only the rows
 * that changed since that page's last one, and the selected connection's new timeline entries.
 * A page that reads slowly is sent nothing more until its last update went out.
 */
import { websocket, type WebSocketRoute } from "../handlers/websocket.js";
import type { InspectionHub } from "./hub.js";
import type { StatsSnapshot } from "../app/stats.js";
import type { ConnectionRow, FeedMessage, MachineDrawing, StateCounts, TimelineEntry } from "./protocol.js";
import { hostAllowed, originMatchesHost, REFUSED_HOST } from "./host.js";

type HealthReport = StatsSnapshot["health"];
import { CHALLENGE, checkToken, presentedToken } from "./token.js";

/** One page watching. */
class Viewer {
  readonly #hub: InspectionHub;
  readonly #send: (message: FeedMessage) => Promise<void>;
  /** The hub's sequence number at this viewer's last update. */
  #seen = 0;
  #first = true;
  readonly #live = new Set<number>();
  readonly #closed = new Set<number>();
  readonly #drawingsSent = new Set<string>();
  #selected: number | null = null;
  #timelineSeen = 0;
  #timelineReset = false;
  #busy = false;
  #again = false;

  readonly #health: (() => HealthReport) | undefined;

  constructor(hub: InspectionHub, send: (message: FeedMessage) => Promise<void>, health?: () => HealthReport) {
    this.#hub = hub;
    this.#send = send;
    this.#health = health;
  }

  /** A message from the page: `{"type":"select","id":12}`. Anything else is ignored. */
  receive(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof message !== "object" || message === null || (message as { type?: unknown }).type !== "select") return;
    const id = (message as { id?: unknown }).id;
    if (id !== null && !(typeof id === "number" && Number.isInteger(id))) return;
    this.#selected = id;
    this.#timelineSeen = 0;
    this.#timelineReset = true;
    this.flush();
  }

  /** Send what changed since the last update, unless the previous one is still going out. */
  flush(): void {
    if (this.#busy) {
      this.#again = true;
      return;
    }
    const messages = this.#collect();
    if (messages.length === 0) return;
    this.#busy = true;
    Promise.all(messages.map((message) => this.#send(message)))
      .catch(() => {
        // The page left: its connection is closing and this viewer will be removed.
      })
      .finally(() => {
        this.#busy = false;
        if (this.#again) {
          this.#again = false;
          this.flush();
        }
      });
  }

  #collect(): FeedMessage[] {
    const hub = this.#hub;
    const messages: FeedMessage[] = [];
    const now = Date.now();
    const full = this.#first;
    this.#first = false;
    if (full) messages.push({ type: "hello", now, payloads: hub.payloads, limits: { timeline: hub.timelineSize, closed: hub.closedSize } });
    if (full || hub.seq > this.#seen) {
      const live: ConnectionRow[] = [];
      for (const connection of hub.live()) {
        if (full || connection.version > this.#seen || !this.#live.has(connection.id)) {
          live.push(connection.row());
          this.#live.add(connection.id);
        }
      }
      const gone: number[] = [];
      for (const id of this.#live) {
        if (!hub.isLive(id)) {
          gone.push(id);
          this.#live.delete(id);
        }
      }
      const closed: ConnectionRow[] = [];
      for (const connection of hub.closed()) {
        if (!this.#closed.has(connection.id)) {
          closed.push(connection.row());
          this.#closed.add(connection.id);
        }
      }
      const forgotten: number[] = [];
      for (const id of this.#closed) {
        if (hub.find(id) === undefined) {
          forgotten.push(id);
          this.#closed.delete(id);
        }
      }
      const counts: StateCounts = hub.counts();
      const machines = this.#newDrawings([...live, ...closed]);
      if (machines.length > 0) messages.push({ type: "machines", machines });
      const health = this.#health?.();
      messages.push({ type: "update", now, full, live, gone, closed, forgotten, counts, viewers: hub.viewers, ...(health === undefined ? {} : { health }) });
      this.#seen = hub.seq;
    }
    const timeline = this.#timeline();
    if (timeline !== undefined) messages.push(timeline);
    return messages;
  }

  /** Handler machine drawings the rows refer to that this viewer has not been sent yet. */
  #newDrawings(rows: readonly ConnectionRow[]): MachineDrawing[] {
    const drawings: MachineDrawing[] = [];
    for (const row of rows) {
      if (row.machine === undefined || this.#drawingsSent.has(row.machine)) continue;
      const drawing = this.#hub.machineDrawing(row.machine);
      if (drawing === undefined) continue;
      this.#drawingsSent.add(row.machine);
      drawings.push(drawing);
    }
    return drawings;
  }

  #timeline(): FeedMessage | undefined {
    if (this.#selected === null) return undefined;
    const id = this.#selected;
    const connection = this.#hub.find(id);
    const reset = this.#timelineReset;
    this.#timelineReset = false;
    if (connection === undefined) return reset ? { type: "timeline", id, reset, entries: [], evicted: 0, known: false } : undefined;
    const seen = this.#timelineSeen;
    const entries: TimelineEntry[] = connection.timeline.filter((entry) => entry.seq > seen);
    if (entries.length === 0 && !reset) return undefined;
    this.#timelineSeen = connection.timeline.last()?.seq ?? seen;
    return { type: "timeline", id, reset, entries, evicted: connection.timeline.evicted, known: true };
  }
}

/** The viewers of one inspector, and the timer that batches their updates. */
export class Feed {
  readonly #hub: InspectionHub;
  readonly #intervalMs: number;
  readonly #viewers = new Set<Viewer>();
  #timer: NodeJS.Timeout | undefined;
  /** The app's health, once the inspector is set up in an app. */
  health: (() => HealthReport) | undefined;

  constructor(hub: InspectionHub, intervalMs: number) {
    this.#hub = hub;
    this.#intervalMs = intervalMs;
    hub.onChange(() => this.#schedule());
  }

  get viewers(): number {
    return this.#viewers.size;
  }

  add(send: (message: FeedMessage) => Promise<void>): Viewer {
    const viewer = new Viewer(this.#hub, send, () => this.health?.() ?? { status: "up", plugins: {} });
    this.#viewers.add(viewer);
    this.flush();
    return viewer;
  }

  remove(viewer: Viewer): void {
    this.#viewers.delete(viewer);
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#viewers.size === 0) return;
    this.#timer = setTimeout(() => this.flush(), this.#intervalMs);
    this.#timer.unref();
  }

  /** Send every viewer what changed, now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#hub.settle();
    for (const viewer of this.#viewers) viewer.flush();
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#viewers.clear();
    this.#hub.onChange(undefined);
  }
}

/**
 * The feed's route: token, host and origin checked before the handshake is accepted. Without a
 * token, only loopback host names and `allowedHosts` are answered (DNS rebinding).
 */
export function feedRoute(path: string, feed: Feed, token: string | undefined, allowedHosts: readonly string[]): WebSocketRoute {
  return websocket(path, async (socket) => {
    const access = checkToken(token, presentedToken(socket.headers.authorization, socket.query.token));
    if (access !== "ok") {
      socket.reject(access, { headers: access === 401 ? CHALLENGE : {}, body: access === 401 ? "Unauthorized" : "Forbidden" });
      return;
    }
    if (token === undefined && !hostAllowed(socket.headers.host, allowedHosts)) {
      socket.reject(403, { body: REFUSED_HOST });
      return;
    }
    if (!originMatchesHost(socket.headers.origin, socket.headers.host)) {
      socket.reject(403, { body: "Forbidden: cross-origin" });
      return;
    }
    await socket.accept();
    const viewer = feed.add((message) => socket.sendText(JSON.stringify(message)));
    try {
      for await (const message of socket) if (typeof message === "string") viewer.receive(message);
    } finally {
      feed.remove(viewer);
    }
  });
}
