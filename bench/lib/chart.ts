/**
 * The results as one SVG: a panel per figure, a bar per server, each bar labelled with its
 * value and its ratio to raw `ws` in the same configuration; a red tick on a statewire bar marks
 * where its target lies. Plain SVG text, no dependency, no external service.
 */
import type { BenchResults, ServerInfo } from "./report.js";

interface Bar {
  readonly server: ServerInfo;
  readonly value: number;
  readonly ratio: number;
  /** Where the target lies on this bar's scale, if it has one. */
  readonly target?: number;
}

interface Panel {
  readonly title: string;
  readonly note: string;
  readonly unit: (value: number) => string;
  readonly bars: readonly Bar[];
}

const WIDTH = 1000;
const COLUMN = WIDTH / 2;
const LABEL = 200;
const BAR_MAX = 170;
const ROW = 21;
const HEAD = 46;
const COLORS: Record<ServerInfo["family"], string> = { raw: "#6b7280", statewire: "#2563eb", socketio: "#ea580c" };

const escape = (text: string): string => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const compact = (value: number): string =>
  !Number.isFinite(value) ? "–" : value >= 10_000 ? `${(value / 1000).toFixed(0)}k` : value >= 1000 ? `${(value / 1000).toFixed(1)}k` : value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);

function panels(results: BenchResults): Panel[] {
  const server = (key: string): ServerInfo => results.servers.find((s) => s.key === key) ?? { key, label: key, family: "statewire", bufferutil: true, reference: "raw" };
  const out: Panel[] = [];
  // The echo targets of docs/architecture.md §5, by server and message size.
  const echoGoal = (key: string, size: number): number | undefined =>
    key === "sw-websocket" || key === "sw-listener" ? (size === 64 ? 1.1 : 1.0) : key === "sw-machine" && size === 64 ? 0.6 : undefined;
  const sizes = [...new Set(results.echo.map((row) => row.size))];
  for (const size of sizes) {
    const rows = results.echo.filter((row) => row.size === size);
    const reference = (key: string): number => rows.find((r) => r.server === server(key).reference)?.msgsPerSec ?? Number.NaN;
    const label = size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
    out.push({
      title: `Echo throughput, ${label}`,
      note: "messages/s, higher is better",
      unit: (v) => `${compact(v)}/s`,
      bars: rows.map((row) => {
        const goal = echoGoal(row.server, size);
        return { server: server(row.server), value: row.msgsPerSec, ratio: row.ratio, ...(goal === undefined ? {} : { target: goal * reference(row.server) }) };
      }),
    });
  }
  for (const size of sizes) {
    const rows = results.echo.filter((row) => row.size === size && server(row.server).bufferutil);
    const raw = rows.find((r) => r.server === "raw");
    const label = size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
    out.push({
      title: `Echo round trip p99, ${label}`,
      note: "ms under full load (p50 in the table), lower is better",
      unit: (v) => `${compact(v)} ms`,
      bars: rows.map((row) => ({ server: server(row.server), value: row.p99Ms, ratio: raw === undefined ? Number.NaN : row.p99Ms / raw.p99Ms })),
    });
  }
  if (results.handshake.length > 0) {
    const raw = results.handshake.find((r) => r.server === "raw")?.perSec ?? Number.NaN;
    out.push({
      title: "Handshakes",
      note: "connections opened and closed per second, higher is better",
      unit: (v) => `${compact(v)}/s`,
      bars: results.handshake.map((row) => ({
        server: server(row.server),
        value: row.perSec,
        ratio: row.ratio,
        ...(row.server.startsWith("sw-") ? { target: 0.85 * raw } : {}),
      })),
    });
  }
  if (results.idle.length > 0) {
    const rawRss = results.idle.find((r) => r.server === "raw")?.rssKB ?? Number.NaN;
    const rawHeap = results.idle.find((r) => r.server === "raw")?.heapKB ?? Number.NaN;
    const n = results.idle[0]!.connections.toLocaleString("en-US");
    out.push({
      title: `Idle memory (RSS) per connection`,
      note: `KB at ${n} connections, lower is better`,
      unit: (v) => `${compact(v)} KB`,
      bars: results.idle.map((row) => ({ server: server(row.server), value: row.rssKB, ratio: row.rssRatio, ...(row.server.startsWith("sw-") ? { target: 1.5 * rawRss } : {}) })),
    });
    out.push({
      title: `Idle memory (JS heap) per connection`,
      note: `KB at ${n} connections, lower is better`,
      unit: (v) => `${compact(v)} KB`,
      bars: results.idle.map((row) => ({ server: server(row.server), value: row.heapKB, ratio: row.heapRatio, ...(row.server.startsWith("sw-") ? { target: 1.5 * rawHeap } : {}) })),
    });
  }
  for (const subscribers of [...new Set(results.fanout.map((row) => row.subscribers))]) {
    const rows = results.fanout.filter((row) => row.subscribers === subscribers);
    out.push({
      title: `Fan-out to ${subscribers.toLocaleString("en-US")} subscribers`,
      note: "ms from publish until the last one has it, lower is better",
      unit: (v) => `${compact(v)} ms`,
      bars: rows.map((row) => ({ server: server(row.server), value: row.toLastMs, ratio: row.ratio })),
    });
  }
  return out;
}

/** Labels short enough for the chart's label column. */
function shortLabel(label: string): string {
  return label
    .replace("statewire listener, JSON + schema", "statewire JSON listener")
    .replace(" (reference)", "")
    .replace("JSON.parse + stringify", "JSON parse+stringify")
    .replace(", no bufferutil", " (no bufferutil)")
    .replace("statewire channels (Redis pub/sub)", "statewire channels (Redis)")
    .replace("statewire, loop over its sockets", "statewire, loop over sockets")
    .replace("raw ws, loop over clients", "raw ws, loop over clients");
}

function drawPanel(panel: Panel, x: number, y: number): string {
  const parts: string[] = [];
  parts.push(`<text x="${x + 12}" y="${y + 18}" class="title">${escape(panel.title)}</text>`);
  parts.push(`<text x="${x + 12}" y="${y + 34}" class="note">${escape(panel.note)}</text>`);
  const max = Math.max(...panel.bars.flatMap((bar) => [bar.value, bar.target ?? 0]).filter(Number.isFinite), 1e-9);
  panel.bars.forEach((bar, i) => {
    const top = y + HEAD + i * ROW;
    const width = Number.isFinite(bar.value) ? Math.max(1, (bar.value / max) * BAR_MAX) : 0;
    const color = COLORS[bar.server.family];
    const opacity = bar.server.bufferutil ? 1 : 0.5;
    parts.push(`<text x="${x + LABEL - 6}" y="${top + 13}" class="label" text-anchor="end">${escape(shortLabel(bar.server.label))}</text>`);
    parts.push(`<rect x="${x + LABEL}" y="${top + 2}" width="${width.toFixed(1)}" height="${ROW - 6}" fill="${color}" fill-opacity="${opacity}" rx="2"/>`);
    let end = x + LABEL + width;
    if (bar.target !== undefined && Number.isFinite(bar.target)) {
      const tx = x + LABEL + (bar.target / max) * BAR_MAX;
      parts.push(`<line x1="${tx.toFixed(1)}" x2="${tx.toFixed(1)}" y1="${top}" y2="${top + ROW - 2}" class="target"/>`);
      end = Math.max(end, tx + 1);
    }
    const ratio = Number.isFinite(bar.ratio) ? `  ${bar.ratio.toFixed(2)}×` : "";
    parts.push(`<text x="${(end + 5).toFixed(1)}" y="${top + 13}" class="value">${escape(panel.unit(bar.value))}<tspan class="ratio">${ratio}</tspan></text>`);
  });
  return parts.join("\n");
}

/** The whole chart as an SVG document. */
export function renderChart(results: BenchResults): string {
  const all = panels(results);
  const parts: string[] = [];
  let y = 52;
  for (let i = 0; i < all.length; i += 2) {
    const row = all.slice(i, i + 2);
    const height = HEAD + Math.max(...row.map((panel) => panel.bars.length)) * ROW + 14;
    row.forEach((panel, column) => parts.push(drawPanel(panel, column * COLUMN, y)));
    y += height;
  }
  const { meta } = results;
  const legend = [
    `<rect x="12" y="${y + 4}" width="12" height="12" fill="${COLORS.raw}"/><text x="30" y="${y + 14}" class="note">raw ws</text>`,
    `<rect x="90" y="${y + 4}" width="12" height="12" fill="${COLORS.statewire}"/><text x="108" y="${y + 14}" class="note">statewire</text>`,
    `<rect x="185" y="${y + 4}" width="12" height="12" fill="${COLORS.socketio}"/><text x="203" y="${y + 14}" class="note">socket.io</text>`,
    `<rect x="275" y="${y + 4}" width="12" height="12" fill="${COLORS.statewire}" fill-opacity="0.5"/><text x="293" y="${y + 14}" class="note">without bufferutil</text>`,
    `<line x1="420" x2="420" y1="${y + 2}" y2="${y + 18}" class="target"/><text x="428" y="${y + 14}" class="note">statewire's target (ratio to raw ws)</text>`,
  ];
  const height = y + 30;
  const subtitle =
    `${meta.mode} run ${meta.date.slice(0, 16).replace("T", " ")} UTC · node ${meta.node} · ${meta.cores} cores, server and load generator pinned to separate cores · ` +
    `ratios to raw ws in the same configuration, same run`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif">`,
    "<style>.title{font-size:14px;font-weight:600;fill:#111827}.note{font-size:11px;fill:#4b5563}.label{font-size:11.5px;fill:#1f2937}.value{font-size:11.5px;fill:#111827}.ratio{fill:#6b7280}.target{stroke:#dc2626;stroke-width:2}</style>",
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="24" class="title" style="font-size:17px">statewire vs raw ws vs socket.io</text>`,
    `<text x="12" y="42" class="note">${escape(subtitle)}</text>`,
    ...parts,
    ...legend,
    "</svg>",
    "",
  ].join("\n");
}

// `node --import tsx bench/lib/chart.ts bench/results/latest.json [out.svg]`: draw a saved run again.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { readFileSync, writeFileSync } = await import("node:fs");
  const input = process.argv[2] ?? "bench/results/latest.json";
  const output = process.argv[3] ?? input.replace(/\.json$/, ".svg");
  writeFileSync(output, renderChart(JSON.parse(readFileSync(input, "utf8")) as BenchResults));
  console.log(`wrote ${output}`);
}
