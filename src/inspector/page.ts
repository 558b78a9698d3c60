/**
 * The inspector page: one HTML document with its stylesheet, its script and the machine diagram
 * inline, so it works with no network beyond the app itself. A content security policy allows
 * only that inline code (by nonce) and connections back to the same origin.
 */
import { randomBytes } from "node:crypto";
import { pageScript } from "./page-script.js";
import { pageStyle } from "./page-style.js";

export interface PageConfig {
  /** The feed's path, e.g. `/_statewire/feed`. */
  readonly feed: string;
  /** The token the page presents to its feed (the one it was itself opened with), if any. */
  readonly token: string | undefined;
}

/** JSON that is safe inside a `<script>` element. */
const scriptJson = (value: unknown): string =>
  JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");

/** The page's markup and the headers it must be served with. */
export function renderPage(config: PageConfig, diagram: string): { readonly body: string; readonly headers: Record<string, string> } {
  const nonce = randomBytes(16).toString("base64");
  const body = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>statewire inspector</title>
<style nonce="${nonce}">${pageStyle}</style>
</head>
<body>
<header>
  <h1>statewire <span>inspector</span></h1>
  <span id="status" class="pill"><span class="dot"></span><span>connecting…</span></span>
  <span class="spacer"></span>
  <span id="payloads" class="pill">payloads redacted (sizes only)</span>
  <span id="health" class="pill" hidden></span>
  <span id="viewers" class="pill">0 viewers</span>
</header>
<div class="toolbar">
  <div id="counts" class="counts"></div>
  <div class="filters">
    <label>route <select id="filter-route"><option value="">all routes</option></select></label>
    <label>state <select id="filter-state"><option value="">all states</option><option>connecting</option><option>open</option><option>closing</option><option>closed</option></select></label>
  </div>
</div>
<main>
  <div>
    <section>
      <h2>Live connections <small id="live-count">0</small></h2>
      <table id="live">
        <thead><tr><th class="num">id</th><th>route</th><th>state</th><th>client</th><th class="num">age</th><th class="num">in</th><th class="num">out</th></tr></thead>
        <tbody></tbody>
      </table>
      <div id="live-empty" class="empty">No live connection matches.</div>
      <div id="live-more" class="note" hidden></div>
    </section>
    <section>
      <h2>Recently closed <small id="closed-count">0</small></h2>
      <table id="closed">
        <thead><tr><th class="num">id</th><th>route</th><th>code</th><th>meaning</th><th>reason</th><th>initiator</th><th class="num">closed</th></tr></thead>
        <tbody></tbody>
      </table>
      <div id="closed-empty" class="empty">No connection closed yet.</div>
    </section>
  </div>
  <section id="detail">
    <div id="detail-head" class="detail-head"></div>
    <div class="diagram">${diagram}</div>
    <div id="handler-diagram" class="diagram handler" hidden></div>
    <ol id="timeline" class="timeline"></ol>
    <div id="limits" class="note"></div>
  </section>
</main>
<script type="application/json" id="sw-config">${scriptJson(config)}</script>
<script nonce="${nonce}">${pageScript}</script>
</body>
</html>`;
  return {
    body,
    headers: {
      "content-security-policy": `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
    },
  };
}
