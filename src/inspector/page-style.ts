/** The inspector page's stylesheet: hand-written, served inline (no external requests). */
export const pageStyle = String.raw`
:root {
  --bg: #f6f7f9; --panel: #fff; --ink: #1e293b; --muted: #64748b; --line: #e2e8f0; --accent: #2563eb;
  --connecting: #b45309; --connecting-bg: #fef3c7; --open: #15803d; --open-bg: #dcfce7;
  --closing: #c2410c; --closing-bg: #ffedd5; --closed: #475569; --closed-bg: #e2e8f0;
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink);
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); }
header { display: flex; align-items: center; gap: 12px; padding: 10px 20px; background: #0f172a; color: #f8fafc; }
header h1 { font-size: 16px; margin: 0; font-weight: 600; letter-spacing: .2px; }
header h1 span { color: #93c5fd; font-weight: 500; }
header .spacer { flex: 1; }
.pill { display: inline-flex; align-items: center; gap: 6px; padding: 2px 10px; border-radius: 999px; font-size: 12px; background: #1e293b; color: #cbd5e1; }
.pill .dot { width: 8px; height: 8px; border-radius: 50%; background: #94a3b8; }
.pill.live .dot { background: #22c55e; }
.pill.down .dot { background: #ef4444; }
.toolbar { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 18px; padding: 10px 20px; background: var(--panel); border-bottom: 1px solid var(--line); }
.counts { display: flex; gap: 8px; }
.count { padding: 3px 10px; border-radius: 6px; font-size: 13px; background: var(--bg); border: 1px solid var(--line); }
.count b { font-variant-numeric: tabular-nums; margin-left: 4px; }
.filters { display: flex; gap: 10px; align-items: center; margin-left: auto; color: var(--muted); font-size: 13px; }
select { font: inherit; padding: 3px 6px; border: 1px solid var(--line); border-radius: 6px; background: #fff; color: var(--ink); }
main { display: grid; grid-template-columns: minmax(0, 11fr) minmax(0, 13fr); gap: 16px; padding: 16px 20px; align-items: start; }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; overflow: hidden; margin-bottom: 16px; }
section h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .6px; color: var(--muted); margin: 0; padding: 10px 14px; border-bottom: 1px solid var(--line); display: flex; gap: 8px; align-items: baseline; }
section h2 small { text-transform: none; letter-spacing: 0; font-weight: 400; }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
th { text-align: left; font-weight: 500; color: var(--muted); padding: 6px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; }
td { padding: 6px 10px; border-bottom: 1px solid #f1f5f9; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 16rem; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr { cursor: pointer; }
tbody tr:hover { background: #f8fafc; }
tbody tr.selected { background: #eff6ff; box-shadow: inset 3px 0 0 var(--accent); }
.mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 12px; }
.empty { padding: 14px; color: var(--muted); font-size: 13px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; }
.badge.connecting { color: var(--connecting); background: var(--connecting-bg); }
.badge.open { color: var(--open); background: var(--open-bg); }
.badge.closing { color: var(--closing); background: var(--closing-bg); }
.badge.closed { color: var(--closed); background: var(--closed-bg); }
.code { font-weight: 600; font-variant-numeric: tabular-nums; }
.code small { display: block; font-weight: 400; font-size: 11px; color: var(--muted); }
td.wrap { white-space: normal; min-width: 9rem; }
.sub { color: var(--muted); font-size: 12px; margin-left: 6px; }
.meaning { color: var(--muted); }
.detail-head { padding: 12px 14px; border-bottom: 1px solid var(--line); }
.detail-head .title { font-size: 16px; font-weight: 600; display: flex; gap: 10px; align-items: center; }
.detail-head .meta { color: var(--muted); font-size: 12px; margin-top: 4px; display: flex; flex-wrap: wrap; gap: 4px 14px; }
.diagram { padding: 8px 10px 0; }
svg.machine { width: 100%; height: auto; display: block; font-family: system-ui, "DejaVu Sans", sans-serif; }
svg.machine .state rect { fill: #f8fafc; stroke: #64748b; stroke-width: 1.4; }
svg.machine .state .inner { fill: none; }
svg.machine .state .name { font-size: 14px; font-weight: 600; fill: var(--ink); }
svg.machine .state .entry { font-size: 10px; fill: var(--muted); }
svg.machine .state.visited rect { stroke: var(--accent); }
svg.machine .state.current rect:not(.inner) { fill: var(--accent); stroke: #1d4ed8; stroke-width: 2; }
svg.machine .state.current .inner { stroke: #bfdbfe; }
svg.machine .state.current text { fill: #fff; }
.diagram.handler { overflow-x: auto; }
svg.handler-machine { display: block; max-width: 100%; height: auto; font-family: system-ui, "DejaVu Sans", sans-serif; }
svg.handler-machine .hbox { fill: #f8fafc; stroke: #64748b; stroke-width: 1.2; }
svg.handler-machine .hbox.parallel { stroke-dasharray: 5 3; }
svg.handler-machine .hbox.final { stroke-width: 2.4; }
svg.handler-machine .hname { font-size: 12px; font-weight: 600; fill: var(--ink); }
svg.handler-machine .htransition { font-size: 10px; fill: var(--muted); font-family: ui-monospace, monospace; }
svg.handler-machine .htransition.taken { fill: var(--accent); font-weight: 600; }
svg.handler-machine .hstate.visited > .hbox { stroke: var(--accent); }
svg.handler-machine .hstate.current > .hbox { fill: #dbeafe; stroke: #1d4ed8; stroke-width: 2; }
svg.machine .edge path { fill: none; stroke: #a0aec0; stroke-width: 1.3; marker-end: url(#sw-arrow); }
svg.machine .edge.taken path { stroke: var(--accent); stroke-width: 2.2; marker-end: url(#sw-arrow-on); }
svg.machine #sw-arrow path { fill: #a0aec0; }
svg.machine #sw-arrow-on path { fill: var(--accent); }
svg.machine .edge text { font-size: 11px; fill: #64748b; }
svg.machine .edge .event.taken { fill: var(--accent); font-weight: 700; }
svg.machine .halo { paint-order: stroke; stroke: #fff; stroke-width: 4px; stroke-linejoin: round; }
svg.machine .initial circle { fill: #334155; }
svg.machine .initial path { stroke: #334155; stroke-width: 1.4; marker-end: url(#sw-arrow); }
.timeline { list-style: none; margin: 0; padding: 4px 0 8px; max-height: 340px; overflow: auto; font-size: 13px; }
.timeline li { display: grid; grid-template-columns: 5.5rem 5.5rem 1fr; gap: 8px; padding: 3px 14px; }
.timeline li:nth-child(odd) { background: #fafbfc; }
.timeline .t { color: var(--muted); font-variant-numeric: tabular-nums; text-align: right; }
.timeline .k { font-weight: 600; }
.timeline .k.in { color: #0369a1; } .timeline .k.out { color: #7c3aed; } .timeline .k.close { color: #b91c1c; }
.timeline .k.transition { color: var(--accent); } .timeline .k.error { color: #b91c1c; }
.timeline .preview { color: var(--muted); margin-left: 6px; }
.note { padding: 6px 14px; color: var(--muted); font-size: 12px; }
`;
