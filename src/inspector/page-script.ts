/**
 * The inspector page's script: hand-written, served inline, no dependencies. It opens the feed,
 * keeps the rows it was sent, and draws them; everything it shows goes in as text, never as
 * markup. Kept free of backticks so it can live in this template literal.
 */
export const pageScript = String.raw`
"use strict";
const config = JSON.parse(document.getElementById("sw-config").textContent);
const STATES = ["connecting", "open", "closing"];
const MAX_ROWS = 500;
const model = { live: new Map(), closed: new Map(), counts: null, viewers: 0, health: null, selected: null, timeline: [], evicted: 0, known: true, offset: 0, payloads: false, routes: new Set(), machines: new Map() };
const $ = (id) => document.getElementById(id);

function h(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("data-")) node.setAttribute(name, String(value));
    else node[name] = value;
  }
  for (const child of children) if (child !== undefined && child !== null) node.append(child instanceof Node ? child : String(child));
  return node;
}

const now = () => Date.now() + model.offset;
function age(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
  return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
}
function bytes(n) {
  if (n < 1024) return n + " B";
  if (n < 1048576) return (n / 1024).toFixed(1) + " KiB";
  return (n / 1048576).toFixed(1) + " MiB";
}
const badge = (state) => h("span", { class: "badge " + state, "data-role": "state" }, state);

// ---- the feed --------------------------------------------------------------------------------

let socket = null;
function connect() {
  const url = new URL(config.feed, location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  if (config.token) url.searchParams.set("token", config.token);
  socket = new WebSocket(url);
  socket.onopen = () => {
    status("live", "live");
    if (model.selected !== null) select(model.selected);
  };
  socket.onmessage = (event) => receive(JSON.parse(event.data));
  socket.onclose = (event) => {
    status("down", event.code === 1006 ? "disconnected, retrying…" : "closed " + event.code + ", retrying…");
    setTimeout(connect, 1500);
  };
}
function status(kind, text) {
  const pill = $("status");
  pill.className = "pill " + kind;
  pill.lastChild.textContent = text;
}
function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function receive(message) {
  if (message.type === "hello") {
    model.offset = message.now - Date.now();
    model.payloads = message.payloads;
    $("payloads").textContent = message.payloads ? "payloads shown" : "payloads redacted (sizes only)";
    $("limits").textContent = "timeline keeps " + message.limits.timeline + " events per connection; " + message.limits.closed + " closed connections are remembered";
  } else if (message.type === "update") {
    if (message.full) { model.live.clear(); model.closed.clear(); }
    for (const row of message.live) { model.live.set(row.id, row); model.routes.add(row.route); }
    for (const id of message.gone) model.live.delete(id);
    for (const row of message.closed) { model.closed.set(row.id, row); model.routes.add(row.route); }
    for (const id of message.forgotten) model.closed.delete(id);
    model.counts = message.counts;
    model.viewers = message.viewers;
    model.health = message.health || null;
    render();
  } else if (message.type === "machines") {
    for (const drawing of message.machines) model.machines.set(drawing.key, drawing);
  } else if (message.type === "timeline") {
    if (message.id !== model.selected) return;
    if (message.reset) model.timeline = [];
    model.timeline.push(...message.entries);
    model.evicted = message.evicted;
    model.known = message.known;
    renderDetail();
  }
}

// ---- filters and selection -------------------------------------------------------------------

const filters = { route: "", state: "" };
$("filter-route").onchange = (event) => { filters.route = event.target.value; render(); };
$("filter-state").onchange = (event) => { filters.state = event.target.value; render(); };
function select(id) {
  model.selected = id;
  model.timeline = [];
  model.evicted = 0;
  send({ type: "select", id });
  render();
}
function find(id) {
  return model.live.get(id) || model.closed.get(id);
}

// ---- drawing ---------------------------------------------------------------------------------

function render() {
  renderCounts();
  renderRouteFilter();
  renderLive();
  renderClosed();
  renderDetail();
}

function renderCounts() {
  const counts = model.counts || { connecting: 0, open: 0, closing: 0, closed: 0 };
  const box = $("counts");
  box.replaceChildren(
    ...STATES.map((state) => h("span", { class: "count", "data-state": state }, badge(state), h("b", {}, counts[state]))),
    h("span", { class: "count", "data-state": "closed", title: "closed since the app started" }, badge("closed"), h("b", {}, counts.closed)),
  );
  $("viewers").textContent = model.viewers === 1 ? "1 viewer" : model.viewers + " viewers";
  // A plugin whose backend is unreachable (Redis down): named, with its error, until it is back.
  const health = $("health");
  const down = model.health ? Object.entries(model.health.plugins).filter(([, report]) => report.status === "down") : [];
  health.hidden = down.length === 0;
  health.className = "pill down";
  health.replaceChildren(h("span", { class: "dot" }), h("span", {}, down.map(([name, report]) => name + (report.backend ? " (" + report.backend + ")" : "") + " down").join(", ")));
  health.title = down.map(([, report]) => report.error || "").join("\n");
}

function renderRouteFilter() {
  const select = $("filter-route");
  const have = new Set([...select.options].map((option) => option.value));
  for (const route of [...model.routes].sort()) if (!have.has(route)) select.append(h("option", { value: route }, route));
}

function visible(row) {
  return (filters.route === "" || row.route === filters.route) && (filters.state === "" || row.state === filters.state);
}

function renderLive() {
  const rows = [...model.live.values()].filter(visible);
  $("live-count").textContent = rows.length === model.live.size ? String(rows.length) : rows.length + " of " + model.live.size;
  const body = $("live").tBodies[0];
  body.replaceChildren(
    ...rows.slice(0, MAX_ROWS).map((row) =>
      h("tr", { "data-id": row.id, "data-route": row.route, "data-state": row.state, class: row.id === model.selected ? "selected" : "", onclick: () => select(row.id) },
        h("td", { class: "num" }, "#" + row.id),
        h("td", { title: row.path, "data-role": "route" }, row.route, row.path !== row.route ? h("span", { class: "sub" }, row.path) : null),
        h("td", {}, badge(row.state)),
        h("td", { class: "mono", "data-role": "client" }, row.client),
        h("td", { class: "num", "data-role": "age", "data-started": row.startedAt }, age(now() - row.startedAt)),
        h("td", { class: "num", title: bytes(row.bytesIn) }, row.messagesIn),
        h("td", { class: "num", title: bytes(row.bytesOut) }, row.messagesOut),
      ),
    ),
  );
  $("live-empty").hidden = rows.length > 0;
  $("live-more").hidden = rows.length <= MAX_ROWS;
  $("live-more").textContent = "showing the first " + MAX_ROWS + " of " + rows.length;
}

function renderClosed() {
  const rows = [...model.closed.values()].filter((row) => (filters.route === "" || row.route === filters.route) && (filters.state === "" || filters.state === "closed")).reverse();
  $("closed-count").textContent = String(rows.length);
  $("closed").tBodies[0].replaceChildren(
    ...rows.map((row) =>
      h("tr", { "data-id": row.id, "data-route": row.route, "data-code": row.close.code, class: row.id === model.selected ? "selected" : "", onclick: () => select(row.id) },
        h("td", { class: "num" }, "#" + row.id),
        h("td", { title: row.path, "data-role": "route" }, row.route),
        h("td", { class: "code", "data-role": "code" }, row.close.rejectedStatus !== undefined ? "HTTP " + row.close.rejectedStatus : String(row.close.code), h("small", {}, row.close.rejectedStatus !== undefined ? "refused" : row.close.codeName)),
        h("td", { class: "meaning wrap", "data-role": "meaning" }, row.close.rejectedStatus !== undefined ? "the handshake was refused; no WebSocket was opened" : row.close.meaning),
        h("td", { class: "wrap", "data-role": "reason", title: row.close.reason }, row.close.reason),
        h("td", { "data-role": "initiator" }, row.close.initiator),
        h("td", { class: "num", title: new Date(row.closedAt).toLocaleTimeString() }, age(now() - row.closedAt) + " ago"),
      ),
    ),
  );
  $("closed-empty").hidden = rows.length > 0;
}

function describe(entry) {
  switch (entry.kind) {
    case "start": return ["upgrade", "GET " + entry.url];
    case "transition": return ["transition", entry.event + ": " + entry.from + " → " + entry.to];
    case "in": return ["in", "← " + (entry.binary ? "binary" : "text") + " " + bytes(entry.size), entry.preview];
    case "out": return ["out", "→ " + (entry.binary ? "binary" : "text") + " " + bytes(entry.size), entry.preview];
    case "dropped": return ["error", "✕ dropped " + bytes(entry.size)];
    case "handler": return ["handler", "handler " + entry.what];
    case "handlerError": return ["error", "handler error: " + entry.error];
    case "dependency": return ["dependency", entry.name + " " + entry.what + (entry.failed ? " (failed)" : "")];
    case "channel": return ["channel", entry.what + " " + entry.channel];
    case "machine": return ["machine", "handler machine " + entry.event + ": " + (entry.from || "(start)") + " → " + entry.to];
    case "close": {
      const head = entry.rejectedStatus !== undefined ? "refused with HTTP " + entry.rejectedStatus : "close " + entry.code + " " + entry.codeName;
      return ["close", head + " — " + entry.meaning + (entry.reason ? ' · reason "' + entry.reason + '"' : "") + " · initiated by " + entry.initiator + (entry.wasClean ? " · clean" : " · not clean")];
    }
    default: return [entry.kind, ""];
  }
}

function highlight(row) {
  const svg = document.querySelector("svg.machine");
  for (const node of svg.querySelectorAll(".current, .taken, .visited")) node.classList.remove("current", "taken", "visited");
  if (!row) return;
  for (const entry of model.timeline) {
    if (entry.kind !== "transition") continue;
    svg.querySelector('.edge[data-from="' + entry.from + '"][data-to="' + entry.to + '"]')?.classList.add("taken");
    svg.querySelector('.event[data-event="' + entry.event + '"][data-from="' + entry.from + '"]')?.classList.add("taken");
    svg.querySelector('.state[data-state="' + entry.from + '"]')?.classList.add("visited");
  }
  svg.querySelector('.state[data-state="' + row.state + '"]')?.classList.add("current");
}

// ---- the route's handler machine (websocketMachine) -------------------------------------------

/** "a.x | b.(c.d | e)" → ["a.x", "b.c.d", "b.e"]: the leaf states of a state name as the runtime writes it. */
function leafPaths(name) {
  const parts = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (depth === 0 && name.startsWith(" | ", i)) { parts.push(name.slice(start, i)); start = i + 3; i += 2; }
  }
  parts.push(name.slice(start));
  const out = [];
  for (const part of parts) {
    const open = part.indexOf(".(");
    if (open >= 0 && part.endsWith(")")) { for (const leaf of leafPaths(part.slice(open + 2, -1))) out.push(part.slice(0, open) + "." + leaf); }
    else if (part) out.push(part);
  }
  return out;
}

/** Every active state's path: the leaves and their ancestors. */
function activePaths(name) {
  const paths = new Set();
  for (const leaf of leafPaths(name)) {
    const segments = leaf.split(".");
    for (let i = 1; i <= segments.length; i++) paths.add(segments.slice(0, i).join("."));
  }
  return paths;
}

function renderHandlerMachine(row) {
  const box = $("handler-diagram");
  const drawing = row && row.machine ? model.machines.get(row.machine) : undefined;
  if (!drawing) { box.hidden = true; box.replaceChildren(); box.dataset.key = ""; return; }
  box.hidden = false;
  // Drawn and escaped on the server from the machine's definition.
  if (box.dataset.key !== drawing.key) { box.innerHTML = drawing.svg; box.dataset.key = drawing.key; }
  const svg = box.querySelector("svg");
  for (const node of svg.querySelectorAll(".current, .taken, .visited")) node.classList.remove("current", "taken", "visited");
  const state = (path) => svg.querySelector('.hstate[data-path="' + CSS.escape(path) + '"]');
  for (const entry of model.timeline) {
    if (entry.kind !== "machine" || !entry.from) continue;
    for (const path of activePaths(entry.from)) {
      const node = state(path);
      if (!node) continue;
      node.classList.add("visited");
      for (const line of node.querySelectorAll(':scope > .htransition[data-event="' + CSS.escape(entry.event) + '"]')) line.classList.add("taken");
    }
  }
  for (const path of activePaths(row.machineState || "")) state(path)?.classList.add("current");
}

function renderDetail() {
  const row = model.selected === null ? undefined : find(model.selected);
  const head = $("detail-head");
  if (!row) {
    head.replaceChildren(h("div", { class: "title" }, model.selected === null ? "No connection selected" : "#" + model.selected + " is no longer remembered"), h("div", { class: "meta" }, "Select a row to follow its lifecycle on the machine below."));
    $("timeline").replaceChildren();
    highlight(undefined);
    renderHandlerMachine(undefined);
    return;
  }
  const meta = [
    "path " + row.path,
    "client " + row.client,
    "started " + new Date(row.startedAt).toLocaleTimeString(),
    row.closedAt ? "lived " + age(row.closedAt - row.startedAt) : "age " + age(now() - row.startedAt),
    "in " + row.messagesIn + " (" + bytes(row.bytesIn) + ")",
    "out " + row.messagesOut + " (" + bytes(row.bytesOut) + ")",
  ];
  if (row.worker !== undefined) meta.push("worker " + row.worker);
  if (row.dropped) meta.push("dropped " + row.dropped);
  if (row.errors) meta.push("errors " + row.errors);
  if (row.machineState) meta.push("machine " + row.machineState);
  head.replaceChildren(
    h("div", { class: "title" }, "#" + row.id + " " + row.route, badge(row.state)),
    h("div", { class: "meta" }, ...meta.map((text) => h("span", {}, text))),
  );
  highlight(row);
  renderHandlerMachine(row);
  const list = $("timeline");
  const items = model.timeline.map((entry) => {
    const [kind, text, preview] = describe(entry);
    return h("li", { "data-kind": entry.kind },
      h("span", { class: "t" }, "+" + ((entry.at - row.startedAt) / 1000).toFixed(3) + "s"),
      h("span", { class: "k " + kind }, entry.kind === "transition" ? "event" : kind),
      h("span", {}, text, preview !== undefined ? h("span", { class: "preview mono" }, preview) : null),
    );
  });
  if (model.evicted > 0) items.unshift(h("li", { class: "note" }, model.evicted + " older events are no longer kept"));
  list.replaceChildren(...items);
}

setInterval(() => {
  for (const cell of document.querySelectorAll('td[data-role="age"]')) cell.textContent = age(now() - Number(cell.dataset.started));
}, 1000);

render();
connect();
`;
