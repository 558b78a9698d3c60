/**
 * The connection machine as a diagram model — states and the transitions between them —
 * generated from the machine's own definition (`toDirectedGraph` of `xstate/graph`), so the
 * picture on the inspector page is always the machine that runs, never a drawing by hand.
 */
import type { AnyStateMachine } from "xstate";
import { toDirectedGraph } from "xstate/graph";
import { connectionMachine } from "../../machines/connection.js";

export interface DiagramState {
  /** The state's key, e.g. `open`. */
  readonly id: string;
  readonly initial: boolean;
  readonly final: boolean;
  /** Named entry actions, e.g. `signalDisconnect`. */
  readonly entry: readonly string[];
}

export interface DiagramTransition {
  readonly event: string;
  /** Named actions the transition runs, in order. */
  readonly actions: readonly string[];
}

/** Every transition from one state to another, grouped. */
export interface DiagramEdge {
  readonly from: string;
  readonly to: string;
  readonly transitions: readonly DiagramTransition[];
}

export interface MachineDiagram {
  readonly id: string;
  /** In definition order. */
  readonly states: readonly DiagramState[];
  readonly edges: readonly DiagramEdge[];
}

/** The name of an action as the definition holds it: a string, or `{ type, params }`; inline functions have none. */
function actionName(action: unknown): string | undefined {
  if (typeof action === "string") return action;
  if (typeof action === "object" && action !== null && typeof (action as { type?: unknown }).type === "string") {
    return (action as { type: string }).type;
  }
  return undefined;
}

const names = (actions: readonly unknown[]): string[] => actions.map(actionName).filter((name): name is string => name !== undefined);

/** The diagram model of a flat machine's top-level states (default: `machines/connection.ts`). */
export function machineDiagram(machine: AnyStateMachine = connectionMachine): MachineDiagram {
  const graph = toDirectedGraph(machine);
  const initial = new Set<string>(machine.root.initial?.target.map((node) => node.key) ?? []);
  const states: DiagramState[] = [];
  const edges = new Map<string, { from: string; to: string; transitions: DiagramTransition[] }>();
  for (const node of graph.children) {
    const state = node.stateNode;
    states.push({ id: state.key, initial: initial.has(state.key), final: state.type === "final", entry: names(state.entry) });
    for (const edge of node.edges) {
      const from = edge.source.key;
      const to = edge.target.key;
      const key = `${from}→${to}`;
      let grouped = edges.get(key);
      if (grouped === undefined) edges.set(key, (grouped = { from, to, transitions: [] }));
      grouped.transitions.push({ event: edge.label.text, actions: names(edge.transition.actions) });
    }
  }
  return { id: machine.id, states, edges: [...edges.values()] };
}
