/**
 * A route's handler machine (`websocketMachine`) as the inspector draws it: the state tree from
 * the machine's own definition — compound states hold their children, parallel states their
 * regions side by side — each state listing its transitions (event, guard, target). Drawn on the
 * server, once per machine definition, as nested SVG boxes whose `data-path` matches the state
 * names the runtime reports (`ready`, `talk.listening`), so the page highlights them.
 */
import type { AnyStateMachine } from "xstate";

export interface HandlerStateNode {
  /** Dotted path from the root, e.g. `talk.listening`; "" for the root. */
  readonly path: string;
  readonly key: string;
  readonly type: "atomic" | "compound" | "parallel" | "final" | "history";
  /** The initial child's key (compound states). */
  readonly initial?: string;
  readonly children: readonly HandlerStateNode[];
  readonly transitions: readonly HandlerTransition[];
}

export interface HandlerTransition {
  /** The event type; `after 5000` / `after helloTimeout` for delayed transitions. */
  readonly event: string;
  /** The raw event type, as the runtime reports it (e.g. `xstate.after.helloTimeout.protocol.greeting`). */
  readonly eventType: string;
  /** Target paths; empty for a transition that stays (actions only). */
  readonly targets: readonly string[];
  readonly guard?: string;
  /** Named actions, in order. */
  readonly actions: readonly string[];
}

export interface HandlerMachineDiagram {
  readonly id: string;
  readonly root: HandlerStateNode;
}

type AnyStateNode = AnyStateMachine["root"];

function nameOf(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string") {
    const type = (value as { type: string }).type;
    // xstate's own action types say what they do, not what they are for.
    return type.startsWith("xstate.") ? type.slice("xstate.".length) : type;
  }
  return undefined;
}

function pathOf(node: AnyStateNode, root: AnyStateNode): string {
  return node.path.slice(root.path.length).join(".");
}

function eventLabel(eventType: string): string {
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  return after === null ? eventType : `after ${after[1]}`;
}

function describeNode(node: AnyStateNode, root: AnyStateNode): HandlerStateNode {
  const transitions: HandlerTransition[] = [];
  for (const [eventType, list] of node.transitions) {
    for (const transition of list) {
      const guard = nameOf(transition.guard);
      transitions.push({
        event: eventLabel(eventType),
        eventType,
        targets: (transition.target ?? []).map((target) => pathOf(target, root)),
        ...(guard === undefined ? {} : { guard }),
        actions: (transition.actions as readonly unknown[]).map(nameOf).filter((name): name is string => name !== undefined),
      });
    }
  }
  const initial = node.type === "compound" ? node.initial?.target[0]?.key : undefined;
  return {
    path: pathOf(node, root),
    key: node.key,
    type: node.type as HandlerStateNode["type"],
    ...(initial === undefined ? {} : { initial }),
    children: Object.values(node.states).map((child) => describeNode(child as AnyStateNode, root)),
    transitions,
  };
}

/** The diagram model of `machine`, nested and parallel states included. */
export function handlerMachineDiagram(machine: AnyStateMachine): HandlerMachineDiagram {
  return { id: machine.id, root: describeNode(machine.root, machine.root) };
}

// ---- drawing --------------------------------------------------------------------------------

const TITLE = 18;
const LINE = 15;
const PAD = 8;
const GAP = 10;
const CHAR = 6.4;

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

interface Drawn {
  readonly width: number;
  readonly height: number;
  /** SVG for the node at (0, 0). */
  readonly svg: string;
}

function transitionLine(transition: HandlerTransition): string {
  const target = transition.targets.length === 0 ? "↺" : `→ ${transition.targets.map((t) => t.split(".").at(-1)).join(", ")}`;
  const guard = transition.guard === undefined ? "" : ` [${transition.guard}]`;
  const actions = transition.actions.length === 0 ? "" : ` / ${transition.actions.join(", ")}`;
  return `${transition.event}${guard} ${target}${actions}`;
}

function draw(node: HandlerStateNode, initialKey: string | undefined): Drawn {
  const lines = node.transitions.map(transitionLine);
  const title = `${node.key === "" ? "(machine)" : node.key}${node.type === "final" ? " ◉" : ""}${node.type === "parallel" ? " ∥" : ""}`;
  const children = node.children.map((child) => draw(child, node.initial));
  const horizontal = node.type === "parallel";
  let childWidth = 0;
  let childHeight = 0;
  for (const child of children) {
    if (horizontal) {
      childWidth += child.width + (childWidth > 0 ? GAP : 0);
      childHeight = Math.max(childHeight, child.height);
    } else {
      childWidth = Math.max(childWidth, child.width);
      childHeight += child.height + (childHeight > 0 ? GAP : 0);
    }
  }
  const textWidth = Math.max(title.length * (CHAR + 0.6), ...lines.map((line) => line.length * CHAR));
  const width = Math.ceil(Math.max(textWidth, childWidth) + 2 * PAD);
  const linesHeight = lines.length * LINE;
  const height = Math.ceil(TITLE + PAD + linesHeight + (children.length > 0 ? childHeight + PAD : 0) + PAD / 2);
  const parts: string[] = [];
  const initial = initialKey !== undefined && initialKey === node.key;
  parts.push(
    `<rect class="hbox${node.type === "parallel" ? " parallel" : ""}${node.type === "final" ? " final" : ""}" width="${width}" height="${height}" rx="8"/>`,
    `<text class="hname" x="${PAD}" y="${TITLE}">${initial ? "▸ " : ""}${escapeXml(title)}</text>`,
  );
  lines.forEach((line, index) => {
    const transition = node.transitions[index]!;
    parts.push(
      `<text class="htransition" data-event="${escapeXml(transition.eventType)}" x="${PAD}" y="${TITLE + PAD + (index + 1) * LINE - 3}">${escapeXml(line)}</text>`,
    );
  });
  let offset = 0;
  const top = TITLE + PAD + linesHeight;
  for (const child of children) {
    const x = horizontal ? PAD + offset : PAD;
    const y = horizontal ? top : top + offset;
    parts.push(`<g transform="translate(${x},${y})">${child.svg}</g>`);
    offset += (horizontal ? child.width : child.height) + GAP;
  }
  return { width, height, svg: `<g class="hstate" data-path="${escapeXml(node.path)}">${parts.join("")}</g>` };
}

/** The diagram as an SVG element, states as nested boxes with `data-path`, transitions with `data-event`. */
export function handlerDiagramSvg(diagram: HandlerMachineDiagram): string {
  const drawn = draw(diagram.root, undefined);
  const width = drawn.width + 2;
  const height = drawn.height + 2;
  return `<svg class="handler-machine" xmlns="http://www.w3.org/2000/svg" viewBox="-1 -1 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="handler machine ${escapeXml(diagram.id)}">${drawn.svg}</svg>`;
}
