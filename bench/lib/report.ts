/**
 * The results of one `npm run bench` (saved as JSON) and their rendering as a plain-text table
 * (stdout) and as Markdown (`bench/results/*.md`, pasted into the README).
 */

export interface ServerInfo {
  readonly key: string;
  readonly label: string;
  readonly family: "raw" | "statewire" | "socketio";
  readonly bufferutil: boolean;
  /** The raw `ws` server in the same configuration, which ratios are taken against. */
  readonly reference: string;
}

export interface EchoRow {
  readonly server: string;
  readonly size: number;
  readonly msgsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly serverCpuUsPerMsg: number;
  /** Server CPU time / wall time (1 = a full core). */
  readonly serverUtil: number;
  readonly loadgenUtil: number;
  /** Busy CPU of both cores beyond the server's and the load generator's (other processes, interrupts), in cores. */
  readonly otherLoad: number;
  /** msgs/s of each round. */
  readonly runs: readonly number[];
  ratio: number;
}

export interface HandshakeRow {
  readonly server: string;
  /** Connections opened and closed again per second. */
  readonly perSec: number;
  /** From connect() to the 101 (socket.io: to its namespace connect). */
  readonly openP50Ms: number;
  readonly openP99Ms: number;
  readonly serverCpuUs: number;
  readonly serverUtil: number;
  readonly loadgenUtil: number;
  readonly otherLoad: number;
  readonly failed: number;
  readonly runs: readonly number[];
  ratio: number;
}

export interface IdleRow {
  readonly server: string;
  readonly connections: number;
  readonly rssKB: number;
  readonly heapKB: number;
  readonly externalKB: number;
  /** From a fifth of the connections to all of them: the cost of one more, free of the baseline's slack. */
  readonly marginalRssKB: number;
  readonly marginalHeapKB: number;
  readonly baselineRssMB: number;
  readonly baselineHeapMB: number;
  readonly openMs: number;
  rssRatio: number;
  heapRatio: number;
}

export interface FanoutRow {
  readonly server: string;
  readonly subscribers: number;
  /** From the publish call until the last subscriber has the message (median of the broadcasts). */
  readonly toLastMs: number;
  readonly toFirstMs: number;
  /** Until the server's publish / send loop returned. */
  readonly sendReturnMs: number;
  readonly runs: readonly number[];
  ratio: number;
}

export interface Target {
  readonly name: string;
  readonly ratio: number;
  readonly goal: number;
  /** `ratio >= goal` (else `ratio <= goal`). */
  readonly atLeast: boolean;
  readonly met: boolean;
}

export interface BenchResults {
  readonly meta: {
    readonly date: string;
    readonly mode: "full" | "quick";
    readonly node: string;
    readonly cores: number;
    readonly cpu: string;
    readonly loadAverage: readonly number[];
    readonly pinned: boolean;
    durationS: number;
    readonly config: Record<string, unknown>;
    readonly channels: boolean;
    readonly redis: boolean;
    /** Which statewire the servers ran: compiled with tsc (as it ships) or its sources through tsx. */
    readonly statewire: string;
    /** Time spent waiting for other work on the machine to calm down, and runs measured again because of it. */
    quiet: { waitedS: number; retries: number };
    /** What was skipped to stay within the time bound (a busy machine). */
    skipped: string[];
  };
  readonly servers: readonly ServerInfo[];
  echo: EchoRow[];
  handshake: HandshakeRow[];
  idle: IdleRow[];
  fanout: FanoutRow[];
  targets: Target[];
}

const fmt = (value: number, digits = 0): string =>
  Number.isFinite(value) ? value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "–";
const ratio = (value: number): string => (Number.isFinite(value) ? `${value.toFixed(2)}×` : "–");
const sizeLabel = (size: number): string => (size >= 1024 ? `${size / 1024} KiB` : `${size} B`);

/** A titled table: header row, then rows; every figure a string already. */
interface Section {
  readonly title: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

function sections(results: BenchResults): Section[] {
  const label = (key: string): string => results.servers.find((s) => s.key === key)?.label ?? key;
  const out: Section[] = [];
  const { config } = results.meta;
  const sizes = [...new Set(results.echo.map((row) => row.size))];
  for (const size of sizes) {
    const rows = results.echo.filter((row) => row.size === size);
    out.push({
      title: `Echo ${sizeLabel(size)}: ${String(config.connections)} connections × ${String(config.window)} in flight (median of ${rows[0]?.runs.length ?? 0})`,
      header: ["server", "msgs/s", "× raw ws", "p50 ms", "p99 ms", "server µs/msg", "server CPU", "load gen CPU", "other load"],
      rows: rows.map((row) => [
        label(row.server),
        fmt(row.msgsPerSec),
        ratio(row.ratio),
        fmt(row.p50Ms, 2),
        fmt(row.p99Ms, 2),
        fmt(row.serverCpuUsPerMsg, 2),
        `${fmt(row.serverUtil * 100)}%`,
        `${fmt(row.loadgenUtil * 100)}%`,
        `${fmt(row.otherLoad * 100)}%`,
      ]),
    });
  }
  if (results.handshake.length > 0) {
    out.push({
      title: `Handshakes: open + close, ${String(config.handshakeConcurrency)} in flight (median of ${results.handshake[0]?.runs.length ?? 0})`,
      header: ["server", "per second", "× raw ws", "open p50 ms", "open p99 ms", "server µs each", "server CPU", "load gen CPU", "other load"],
      rows: results.handshake.map((row) => [
        label(row.server),
        fmt(row.perSec),
        ratio(row.ratio),
        fmt(row.openP50Ms, 2),
        fmt(row.openP99Ms, 2),
        fmt(row.serverCpuUs),
        `${fmt(row.serverUtil * 100)}%`,
        `${fmt(row.loadgenUtil * 100)}%`,
        `${fmt(row.otherLoad * 100)}%`,
      ]),
    });
  }
  if (results.idle.length > 0) {
    out.push({
      title: `Idle memory per connection at ${fmt(results.idle[0]!.connections)} connections (after GC, minus baseline)`,
      header: ["server", "RSS KB", "× raw ws", "heap KB", "× raw ws", "marginal RSS KB", "marginal heap KB", "baseline RSS MB"],
      rows: results.idle.map((row) => [
        label(row.server),
        fmt(row.rssKB, 1),
        ratio(row.rssRatio),
        fmt(row.heapKB, 1),
        ratio(row.heapRatio),
        fmt(row.marginalRssKB, 1),
        fmt(row.marginalHeapKB, 1),
        fmt(row.baselineRssMB, 0),
      ]),
    });
  }
  if (results.fanout.length > 0) {
    out.push({
      title: `Fan-out: one ${String(config.fanoutPayload)} B message, time from publish until the last subscriber has it (median of ${results.fanout[0]?.runs.length ?? 0}; lower is better)`,
      header: ["server", "subscribers", "to last ms", "× raw ws", "to first ms", "publish returned ms"],
      rows: results.fanout.map((row) => [label(row.server), fmt(row.subscribers), fmt(row.toLastMs, 2), ratio(row.ratio), fmt(row.toFirstMs, 2), fmt(row.sendReturnMs, 2)]),
    });
  }
  if (results.targets.length > 0) {
    out.push({
      title: "Targets (ratio to raw ws, same run)",
      header: ["target", "ratio", "goal", "met"],
      rows: results.targets.map((t) => [t.name, ratio(t.ratio), `${t.atLeast ? "≥" : "≤"} ${t.goal.toFixed(2)}`, t.met ? "yes" : "NO"]),
    });
  }
  return out;
}

/** Plain text for the terminal: columns padded, numbers right-aligned. */
export function renderTable(results: BenchResults): string {
  const lines: string[] = [];
  for (const section of sections(results)) {
    const all = [section.header, ...section.rows];
    const widths = section.header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? "").length)));
    lines.push(section.title);
    for (const row of all) lines.push(`  ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("   ")}`);
    lines.push("");
  }
  const { meta } = results;
  lines.push(`${meta.mode} run, ${meta.date}, node ${meta.node}, statewire ${meta.statewire}, ${meta.cores} cores (${meta.cpu}), load average at start ${meta.loadAverage.map((x) => x.toFixed(2)).join(" ")}, ${meta.durationS} s ` +
      `(${meta.quiet.waitedS} s waiting for other work to calm down, ${meta.quiet.retries} runs measured again)` +
      (meta.skipped.length > 0 ? `; skipped for time: ${meta.skipped.join(", ")}` : ""));
  return lines.join("\n");
}

/** Markdown tables, one per section. */
export function renderMarkdown(results: BenchResults): string {
  const lines: string[] = [];
  for (const section of sections(results)) {
    lines.push(`**${section.title}**`, "");
    lines.push(`| ${section.header.join(" | ")} |`);
    lines.push(`|${section.header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`);
    for (const row of section.rows) lines.push(`| ${row.join(" | ")} |`);
    lines.push("");
  }
  const { meta } = results;
  lines.push(`_${meta.mode} run, ${meta.date.slice(0, 16).replace("T", " ")} UTC, node ${meta.node}, statewire ${meta.statewire}, ${meta.cores} cores, ${meta.durationS} s._`, "");
  return lines.join("\n");
}
