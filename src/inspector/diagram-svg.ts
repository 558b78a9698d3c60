/**
 * Lays a machine diagram model out and draws it as SVG, on the server, once: states left to
 * right by their distance from the initial state, transitions to the next state as straight
 * arrows with their events stacked above, longer or backward ones as arcs below, nested so they
 * never cross a label. Every state and event carries `data-*` attributes the page uses to
 * highlight the selected connection's current state and the transitions it took.
 */
import type { DiagramEdge, MachineDiagram } from "./diagram.js";

const NAME_SIZE = 13;
const SMALL_SIZE = 10;
const EVENT_SIZE = 11;
const LINE = 14;
const PADDING = 12;
const MARGIN = 16;
const ARC_STEP = 40;

/** A width estimate for text of `size` px in the page's sans-serif font. */
const widthOf = (text: string, size: number): number => text.length * size * 0.6;

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Each state's column: the longest path from an initial state over forward edges (cycles cut). */
function ranks(diagram: MachineDiagram): Map<string, number> {
  const rank = new Map<string, number>();
  const initial = diagram.states.filter((state) => state.initial).map((state) => state.id);
  for (const id of initial.length > 0 ? initial : diagram.states.slice(0, 1).map((state) => state.id)) rank.set(id, 0);
  // Bellman-Ford style relaxation, bounded by the number of states so a cycle cannot loop forever.
  for (let round = 0; round < diagram.states.length; round++) {
    let moved = false;
    for (const edge of diagram.edges) {
      const from = rank.get(edge.from);
      if (from === undefined || edge.from === edge.to) continue;
      const to = rank.get(edge.to);
      if (to === undefined || (to < from + 1 && round < diagram.states.length - 1)) {
        rank.set(edge.to, from + 1);
        moved = true;
      }
    }
    if (!moved) break;
  }
  let next = Math.max(-1, ...rank.values()) + 1;
  for (const state of diagram.states) if (!rank.has(state.id)) rank.set(state.id, next++);
  return rank;
}

interface Box {
  readonly x: number;
  readonly y: number;
  readonly cx: number;
  readonly cy: number;
  readonly bottom: number;
}

/** The diagram as an SVG element (no XML prolog), sized by its viewBox to fit its container. */
export function diagramSvg(diagram: MachineDiagram): string {
  const rank = ranks(diagram);
  const nodeWidth = Math.ceil(
    Math.max(...diagram.states.map((s) => Math.max(widthOf(s.id, NAME_SIZE + 1), ...s.entry.map((a) => widthOf(a, SMALL_SIZE)), widthOf("entry /", SMALL_SIZE)))) + 2 * PADDING,
  );
  const entryLines = Math.max(0, ...diagram.states.map((s) => (s.entry.length === 0 ? 0 : s.entry.length + 1)));
  const nodeHeight = 34 + entryLines * (SMALL_SIZE + 2);
  const isStep = (edge: DiagramEdge): boolean => (rank.get(edge.to) ?? 0) - (rank.get(edge.from) ?? 0) === 1;
  const steps = diagram.edges.filter(isStep);
  const arcs = diagram.edges.filter((edge) => !isStep(edge));
  const gap = Math.ceil(Math.max(96, ...steps.flatMap((e) => e.transitions.map((t) => widthOf(t.event, EVENT_SIZE) + 24))));
  const stackHeight = Math.max(1, ...steps.map((e) => e.transitions.length)) * LINE;
  const top = MARGIN + stackHeight + 6;

  const boxes = new Map<string, Box>();
  for (const state of diagram.states) {
    const x = MARGIN + 22 + (rank.get(state.id) ?? 0) * (nodeWidth + gap);
    boxes.set(state.id, { x, y: top, cx: x + nodeWidth / 2, cy: top + nodeHeight / 2, bottom: top + nodeHeight });
  }
  const box = (id: string): Box => boxes.get(id)!;

  // Arcs below the row: the shortest first and innermost, each on the first level none it overlaps uses.
  const levels: { lo: number; hi: number; level: number }[] = [];
  const placed = arcs
    .map((edge) => {
      const a = rank.get(edge.from) ?? 0;
      const b = rank.get(edge.to) ?? 0;
      return { edge, lo: Math.min(a, b), hi: Math.max(a, b) };
    })
    .sort((p, q) => p.hi - p.lo - (q.hi - q.lo) || p.lo - q.lo)
    .map((p) => {
      let level = 1;
      while (levels.some((l) => l.level === level && p.lo < l.hi && l.lo < p.hi)) level++;
      levels.push({ lo: p.lo, hi: p.hi, level });
      return { ...p, level };
    });

  const parts: string[] = [];
  const eventLabel = (edge: DiagramEdge, event: string, actions: readonly string[]): string =>
    `<tspan class="event" data-event="${escapeXml(event)}" data-from="${escapeXml(edge.from)}" data-to="${escapeXml(edge.to)}">${escapeXml(event)}<title>${escapeXml(
      `${edge.from} —${event}→ ${edge.to}${actions.length > 0 ? ` / ${actions.join(", ")}` : ""}`,
    )}</title></tspan>`;

  for (const edge of steps) {
    const from = box(edge.from);
    const to = box(edge.to);
    const x1 = from.x + nodeWidth;
    const x2 = to.x - 2;
    const mid = (x1 + x2) / 2;
    const labels = edge.transitions
      .map((t, i) => `<text x="${mid}" y="${from.cy - 8 - (edge.transitions.length - 1 - i) * LINE}" text-anchor="middle">${eventLabel(edge, t.event, t.actions)}</text>`)
      .join("");
    parts.push(
      `<g class="edge" data-from="${escapeXml(edge.from)}" data-to="${escapeXml(edge.to)}"><path d="M${x1},${from.cy} L${x2},${to.cy}"/>${labels}</g>`,
    );
  }

  // Where arcs meet each state's bottom edge: spread out, the outer arcs on the outer side.
  const ends = new Map<string, { key: string; level: number; rightward: boolean }[]>();
  const addEnd = (state: string, key: string, level: number, rightward: boolean): void => {
    const list = ends.get(state) ?? [];
    list.push({ key, level, rightward });
    ends.set(state, list);
  };
  for (const { edge, level } of placed) {
    const rightward = (rank.get(edge.to) ?? 0) >= (rank.get(edge.from) ?? 0);
    addEnd(edge.from, `${edge.from}>${edge.to}:from`, level, rightward);
    addEnd(edge.to, `${edge.from}>${edge.to}:to`, level, !rightward);
  }
  const endX = new Map<string, number>();
  for (const [state, list] of ends) {
    const b = box(state);
    list.sort((p, q) => (p.rightward === q.rightward ? (p.rightward ? q.level - p.level : p.level - q.level) : p.rightward ? -1 : 1));
    list.forEach((end, i) => endX.set(end.key, b.x + (nodeWidth * (i + 1)) / (list.length + 1)));
  }

  let bottom = top + nodeHeight;
  for (const { edge, level } of placed) {
    const from = box(edge.from);
    const to = box(edge.to);
    const sx = endX.get(`${edge.from}>${edge.to}:from`) ?? from.cx;
    const tx = endX.get(`${edge.from}>${edge.to}:to`) ?? to.cx;
    const depth = 22 + level * ARC_STEP;
    const control = from.bottom + depth / 0.75;
    const apex = from.bottom + depth;
    const labels = edge.transitions
      .map((t, i) => `${i > 0 ? `<tspan class="sep"> · </tspan>` : ""}${eventLabel(edge, t.event, t.actions)}`)
      .join("");
    parts.push(
      `<g class="edge arc" data-from="${escapeXml(edge.from)}" data-to="${escapeXml(edge.to)}"><path d="M${sx},${from.bottom} C${sx},${control} ${tx},${control} ${tx},${to.bottom + 2}"/>` +
        `<text x="${(sx + tx) / 2}" y="${apex + 14}" text-anchor="middle" class="halo">${labels}</text></g>`,
    );
    bottom = Math.max(bottom, apex + 20);
  }

  for (const state of diagram.states) {
    const b = box(state.id);
    const entry =
      state.entry.length === 0
        ? ""
        : `<text class="entry" x="${b.cx}" y="${b.y + 36}" text-anchor="middle">entry /</text>` +
          state.entry.map((a, i) => `<text class="entry" x="${b.cx}" y="${b.y + 36 + (i + 1) * (SMALL_SIZE + 2)}" text-anchor="middle">${escapeXml(a)}</text>`).join("");
    const inner = state.final ? `<rect class="inner" x="${b.x + 3}" y="${b.y + 3}" width="${nodeWidth - 6}" height="${nodeHeight - 6}" rx="7"/>` : "";
    const start = state.initial
      ? `<g class="initial"><circle cx="${b.x - 20}" cy="${b.cy}" r="5"/><path d="M${b.x - 15},${b.cy} L${b.x - 2},${b.cy}"/></g>`
      : "";
    parts.push(
      `${start}<g class="state${state.final ? " final" : ""}" data-state="${escapeXml(state.id)}"><rect x="${b.x}" y="${b.y}" width="${nodeWidth}" height="${nodeHeight}" rx="10"/>${inner}` +
        `<text class="name" x="${b.cx}" y="${state.entry.length === 0 ? b.cy + 5 : b.y + 21}" text-anchor="middle">${escapeXml(state.id)}</text>${entry}</g>`,
    );
  }

  const width = Math.ceil(Math.max(...[...boxes.values()].map((b) => b.x + nodeWidth)) + MARGIN);
  const height = Math.ceil(bottom + MARGIN / 2);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="machine" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(`${diagram.id} state machine`)}" data-machine="${escapeXml(diagram.id)}">` +
    `<defs><marker id="sw-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>` +
    `<marker id="sw-arrow-on" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>` +
    parts.join("") +
    `</svg>`
  );
}
