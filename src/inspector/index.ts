/**
 * The inspector: a page served by the app that lists every live connection with its route and
 * state, draws the connection machine (generated from machines/connection.ts) with the selected
 * connection's current state and the transitions it took, its timeline of events, and the
 * recently closed connections with their codes; live over a WebSocket feed of statewire itself.
 *
 * A plugin like any other: `createApp({ plugins: [createInspector({ path: "/_statewire", token })] })`
 * (it serves nothing when `NODE_ENV=production` unless `enabled: true`). Fed by the app's
 * connection observers: with no inspector nothing observes, and the frame path pays one boolean read.
 */
import type { Plugin } from "../app/plugin.js";
import { get, html } from "../handlers/http-route.js";
import { machineDiagram } from "./diagram.js";
import { diagramSvg } from "./diagram-svg.js";
import { Feed, feedRoute } from "./feed.js";
import { InspectionHub } from "./hub.js";
import { renderPage } from "./page.js";
import { hostAllowed, REFUSED_HOST } from "./host.js";
import { CHALLENGE, checkToken, presentedToken } from "./token.js";

export interface InspectorOptions {
  /** Where the page is served. Default `/_statewire`. */
  readonly path?: string;
  /** When set, the page and its feed refuse requests without it (`?token=` or `Authorization: Bearer`). */
  readonly token?: string;
  /** Show message payloads, not only their sizes. Default false. */
  readonly payloads?: boolean;
  /** Serve it even when `NODE_ENV=production`. Default false. */
  readonly enabled?: boolean;
  /** Timeline events kept per connection (the newest). Default 200. */
  readonly timelineSize?: number;
  /** Closed connections remembered, with their timelines (the newest). Default 100. */
  readonly closedSize?: number;
  /** Shortest time between two updates of the page. Default 200 ms. */
  readonly intervalMs?: number;
  /**
   * Without a token, the page and its feed answer only requests whose `Host` is loopback
   * (127.0.0.0/8, `::1`, `localhost`) or one of these host names (any port, case-insensitive),
   * so that a page of another site cannot reach them by rebinding its own name to this address.
   * Default none. Ignored when a `token` is set: the token is the protection.
   */
  readonly allowedHosts?: readonly string[];
}

/** The inspector as a plugin, with its hub (what it knows) and where it is served. */
export interface InspectorPlugin extends Plugin {
  readonly hub: InspectionHub;
  /** The page's path, e.g. `/_statewire`. */
  readonly path: string;
  /** The feed's path, e.g. `/_statewire/feed`. */
  readonly feedPath: string;
}

export { InspectionHub } from "./hub.js";
export type { HubOptions, TrackedConnection } from "./hub.js";
export type { CloseSummary, ConnectionRow, FeedMessage, StateCounts, TimelineEntry, ViewerMessage } from "./protocol.js";
export { machineDiagram } from "./diagram.js";
export type { DiagramEdge, DiagramState, DiagramTransition, MachineDiagram } from "./diagram.js";
export { diagramSvg } from "./diagram-svg.js";
export { describeCloseCode } from "./close-meaning.js";

function normalizePath(path: string): string {
  if (!path.startsWith("/")) throw new TypeError(`The inspector's path starts with "/": got "${path}"`);
  const trimmed = path.replace(/\/+$/, "");
  if (trimmed === "") throw new TypeError('The inspector needs a path of its own, not "/"');
  return trimmed;
}

export function createInspector(options: InspectorOptions = {}): InspectorPlugin {
  const path = normalizePath(options.path ?? "/_statewire");
  const feedPath = `${path}/feed`;
  const token = options.token === "" ? undefined : options.token;
  const allowedHosts = options.allowedHosts ?? [];
  if (process.env.NODE_ENV === "production" && options.enabled === true && token === undefined) {
    process.emitWarning("The statewire inspector is served in production without a token: anyone who reaches the app can watch its connections.");
  }
  const hub = new InspectionHub({
    payloads: options.payloads ?? false,
    ...(options.timelineSize === undefined ? {} : { timelineSize: options.timelineSize }),
    ...(options.closedSize === undefined ? {} : { closedSize: options.closedSize }),
    hiddenRoutes: [feedPath],
  });
  const feed = new Feed(hub, options.intervalMs ?? 200);
  // Drawn once: the machine does not change while the app runs.
  const diagram = diagramSvg(machineDiagram());
  let stopObserving: (() => void) | undefined;
  let healthWatch: NodeJS.Timeout | undefined;
  if (process.env.NODE_ENV === "production" && options.enabled !== true) return { name: "inspector", hub, path, feedPath };

  const page = get(path, (request, { query }) => {
    const presented = presentedToken(request.headers.get("authorization"), query.token);
    const access = checkToken(token, presented);
    if (access === "ok" && token === undefined && !hostAllowed(request.headers.get("host") ?? new URL(request.url).host, allowedHosts)) {
      return new Response(REFUSED_HOST, { status: 403, headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" } });
    }
    if (access !== "ok") {
      return new Response(access === 401 ? "Unauthorized: this inspector needs its token (?token=…)" : "Forbidden", {
        status: access,
        headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...(access === 401 ? CHALLENGE : {}) },
      });
    }
    const { body, headers } = renderPage({ feed: feedPath, token: token === undefined ? undefined : presented }, diagram);
    return html(body, { headers });
  });

  return {
    name: "inspector",
    hub,
    path,
    feedPath,
    routes: [page, feedRoute(feedPath, feed, token, allowedHosts)],
    setup(host) {
      stopObserving = host.observe(hub);
      feed.health = () => host.stats().health;
      // Health changes outside any connection (Redis going down): look once a second, tell viewers on change.
      let last = JSON.stringify(feed.health());
      healthWatch = setInterval(() => {
        if (feed.viewers === 0) return;
        const now = JSON.stringify(feed.health?.());
        if (now !== last) hub.externalChange();
        last = now;
      }, 1000);
      healthWatch.unref();
    },
    close() {
      clearInterval(healthWatch);
      stopObserving?.();
      feed.close();
    },
  };
}
