/**
 * Client flows derived from a handler machine with xstate's own graph utilities: the shortest
 * path to every state (`getShortestPaths`), each extended by one event wherever that takes a
 * transition no path took yet, plus simple paths (`getSimplePaths`) up to a bound. Each path is
 * driven against the app (memory or TCP) and the client must receive exactly the frames the
 * machine's actions send, in order, and the close its final state or `closeConnection` asks for.
 *
 * Paths run in real time while the model has no clock: give the route's timers (`after`) delays
 * long enough for the steps a path takes before them (a few hundred ms), and short enough to wait.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { EventObject } from "xstate";
import { getShortestPaths, getSimplePaths } from "xstate/graph";
import type { App } from "../app/app.js";
import type { OutboundFrame } from "../codec/message-codec.js";
import { testClient } from "./client.js";
import { initialReaction, type MachineModel, type ModelReaction } from "./machine-model.js";

export interface MachinePathStep {
  readonly event: EventObject;
  /** How the step happens: the client sends a message, the runtime's timer fires, or the client closes. */
  readonly via: "message" | "timer" | "disconnect";
  readonly reaction: ModelReaction;
  /** The transitions the step takes (keys of `MachineModel.transitions`). */
  readonly transitions: readonly string[];
}

export interface MachinePath {
  /** e.g. `greeting —hello→ ready —ping→ ready`. */
  readonly description: string;
  /** What the machine does on start (entry actions). */
  readonly start: ModelReaction;
  readonly steps: readonly MachinePathStep[];
}

export interface TransitionCoverage {
  readonly covered: number;
  readonly total: number;
  /** Transitions no path takes. */
  readonly missing: readonly string[];
  /** `covered/total`. */
  readonly text: string;
}

export interface MachinePathsOptions {
  /** Add simple paths (no state repeated) from `getSimplePaths`, at most this many. Default 20; 0 for none. */
  readonly simplePaths?: number;
  /** How the client closes on a `disconnect` step. Default 1000. */
  readonly disconnectCode?: number;
  /** Most states the graph traversal visits (context is part of a state). Default 2 000. */
  readonly limit?: number;
}

const disconnectEvent = (code: number): EventObject => ({ type: "disconnect", code, reason: "" }) as EventObject;

function viaOf(model: MachineModel, event: EventObject): MachinePathStep["via"] {
  if (event.type === "disconnect") return "disconnect";
  return model.timers.includes(event.type) ? "timer" : "message";
}

/** Replay `events` on a fresh model; stop at the step that closes the connection. */
function replay(model: MachineModel, events: readonly EventObject[]): MachinePath {
  const run = model.start();
  const start = initialReaction(run);
  const steps: MachinePathStep[] = [];
  let from = run.state;
  const parts = [from];
  try {
    for (const event of events) {
      if (!run.active) break;
      const transitions = run.transitionsFor(event);
      const via = viaOf(model, event);
      const reaction = run.send(event);
      steps.push({ event, via, reaction, transitions });
      parts.push(`—${via === "timer" ? "(timer)" : event.type}→ ${reaction.close === undefined ? reaction.state : `closed ${reaction.close.code}`}`);
      from = reaction.state;
      if (via === "disconnect" || reaction.close !== undefined) break;
    }
  } finally {
    run.stop();
  }
  return { description: parts.join(" "), start, steps };
}

/** Paths through `model`'s machine that together take every transition a client or a timer can take. */
export function machinePaths(model: MachineModel, options: MachinePathsOptions = {}): { paths: MachinePath[]; coverage: TransitionCoverage } {
  const events: EventObject[] = [...[...model.samples.values()].flat(), ...model.timers.map((type) => ({ type }))];
  const traversal = {
    events,
    // State and context: guards that read the context (a duplicate id) need paths that fill it.
    serializeState: (snapshot: { value: unknown; status: string; context: unknown }) => JSON.stringify([snapshot.value, snapshot.status, snapshot.context]),
    // A context that grows without bound (a counter) would make the graph infinite.
    limit: options.limit ?? 2000,
  };
  const shortest = getShortestPaths(model.machine, traversal as never) as unknown as { steps: { event: EventObject }[] }[];
  const covered = new Set<string>();
  const paths: MachinePath[] = [];
  const take = (path: MachinePath): boolean => {
    let fresh = false;
    for (const step of path.steps) {
      for (const transition of step.transitions) {
        if (!covered.has(transition)) fresh = true;
        covered.add(transition);
      }
    }
    return fresh;
  };
  const prefixes = shortest.map((path) => path.steps.map((step) => step.event).filter((event) => !event.type.startsWith("xstate.init")));
  const extensionEvents = [...events, disconnectEvent(options.disconnectCode ?? 1000)];
  for (const prefix of prefixes) {
    const base = replay(model, prefix);
    if (base.steps.length < prefix.length || base.steps.some((step) => step.reaction.close !== undefined)) {
      if (take(base)) paths.push(base);
      continue;
    }
    let extended = false;
    for (const event of extensionEvents) {
      const run = model.start();
      try {
        for (const earlier of prefix) run.send(earlier);
        if (!run.active || run.transitionsFor(event).every((transition) => covered.has(transition))) continue;
      } finally {
        run.stop();
      }
      const path = replay(model, [...prefix, event]);
      if (take(path)) {
        paths.push(path);
        extended = true;
      }
    }
    if (!extended && take(base)) paths.push(base);
  }
  const simpleLimit = options.simplePaths ?? 20;
  if (simpleLimit > 0) {
    const simple = getSimplePaths(model.machine, traversal as never) as unknown as { steps: { event: EventObject }[] }[];
    const seen = new Set(paths.map((path) => path.description));
    for (const found of simple) {
      if (paths.length >= prefixes.length * extensionEvents.length + simpleLimit) break;
      const path = replay(
        model,
        found.steps.map((step) => step.event).filter((event) => !event.type.startsWith("xstate.init")),
      );
      if (path.steps.length === 0 || seen.has(path.description)) continue;
      seen.add(path.description);
      take(path);
      paths.push(path);
      if (seen.size >= simpleLimit + prefixes.length * extensionEvents.length) break;
    }
  }
  const missing = model.transitions.filter((transition) => !covered.has(transition));
  const total = model.transitions.length;
  return { paths, coverage: { covered: total - missing.length, total, missing, text: `${total - missing.length}/${total}` } };
}

const show = (frame: { readonly data: string | Uint8Array | Buffer; readonly isBinary: boolean }): string =>
  frame.isBinary ? `<${Buffer.from(frame.data as Uint8Array).toString("hex")}>` : JSON.stringify(Buffer.isBuffer(frame.data) ? frame.data.toString("utf8") : frame.data);

const sameFrame = (expected: OutboundFrame, got: { readonly data: Buffer; readonly isBinary: boolean }): boolean =>
  expected.isBinary === got.isBinary && Buffer.from(typeof expected.data === "string" ? Buffer.from(expected.data, "utf8") : expected.data).equals(got.data);

/** How long a timer step waits: the `after` delay (a number, or a named delay the machine provides), plus a margin. */
function timerDelay(model: MachineModel, type: string): number {
  const delay = /^xstate\.after\.([^.]+)\./.exec(type)?.[1] ?? "0";
  const numeric = Number(delay);
  if (Number.isFinite(numeric)) return numeric;
  const named = (model.machine.implementations.delays as Record<string, unknown>)[delay];
  return typeof named === "number" ? named : 0;
}

export class MachinePathError extends Error {
  override readonly name = "MachinePathError";
}

export interface DriveOptions {
  readonly transport?: "memory" | "tcp";
  /** The URL to connect to (default: the route's path). */
  readonly path?: string;
  /** How long a frame may take. Default 2 000 ms. */
  readonly receiveTimeoutMs?: number;
}

/** Drive one path against `app`; throws `MachinePathError` naming the path, the step, what was expected and what came. */
export async function drivePath(app: App, model: MachineModel, path: MachinePath, options: DriveOptions = {}): Promise<void> {
  const client = testClient(app, { transport: options.transport ?? "memory", receiveTimeoutMs: options.receiveTimeoutMs ?? 2000 });
  const fail = (where: string, message: string): never => {
    throw new MachinePathError(`path ${path.description} (${options.transport ?? "memory"}), ${where}: ${message}`);
  };
  try {
    const socket = await client.connect(options.path ?? model.route.path);
    let received = 0;
    const expectReaction = async (reaction: ModelReaction, where: string): Promise<boolean> => {
      for (const frame of reaction.frames) {
        let got;
        try {
          got = await socket.receive();
        } catch (error) {
          fail(where, `expected frame ${show(frame)}, got ${String(error)}`);
        }
        const raw = { data: typeof got === "string" ? Buffer.from(got, "utf8") : (got as Buffer), isBinary: typeof got !== "string" };
        if (!sameFrame(frame, raw)) fail(where, `expected frame ${show(frame)}, got ${show(raw)}`);
        received++;
      }
      if (reaction.close !== undefined) {
        const closed = await Promise.race([socket.closed, sleep(options.receiveTimeoutMs ?? 2000).then(() => undefined)]);
        if (closed === undefined) fail(where, `expected close ${reaction.close.code}, the connection stayed open`);
        if (closed!.code !== reaction.close.code || closed!.reason !== reaction.close.reason) {
          fail(where, `expected close ${reaction.close.code} ${JSON.stringify(reaction.close.reason)}, got ${closed!.code} ${JSON.stringify(closed!.reason)}`);
        }
        return true;
      }
      return false;
    };
    if (await expectReaction(path.start, "on start")) return;
    for (const [index, step] of path.steps.entries()) {
      const where = `step ${index + 1} (${step.via === "timer" ? "timer" : step.event.type})`;
      if (step.via === "disconnect") {
        await socket.close((step.event as { code?: number }).code ?? 1000);
        if (socket.history.length !== received) fail(where, `${socket.history.length - received} frame(s) the machine never sent`);
        return;
      }
      if (step.via === "message") {
        const message = model.toMessage(step.event);
        if (message.kind === "text") socket.sendText(message.data);
        else if (message.kind === "binary") socket.sendBytes(message.data);
        else if (message.kind === "json") socket.sendJson(message.data);
      } else if (step.reaction.frames.length === 0 && step.reaction.close === undefined) {
        // Nothing to wait for on the wire: give the timer its time before the next step.
        await sleep(timerDelay(model, step.event.type) + 50);
      }
      if (await expectReaction(step.reaction, where)) {
        if (socket.history.length !== received) fail(where, `${socket.history.length - received} frame(s) the machine never sent`);
        return;
      }
    }
    const closed = await socket.close(1000);
    if (socket.history.length !== received) fail("after the last step", `${socket.history.length - received} frame(s) the machine never sent`);
    if (closed.code !== 1000) fail("after the last step", `closed ${closed.code} instead of echoing the client's 1000`);
  } finally {
    await client.close();
  }
}

export interface CheckPathsOptions extends MachinePathsOptions, Omit<DriveOptions, "transport"> {
  /** Transports to drive every path over. Default both. */
  readonly transports?: readonly ("memory" | "tcp")[];
  /** Where the coverage line goes. Default `console.log`. */
  readonly log?: (line: string) => void;
  /** Transitions no client can take that may stay uncovered (keys as in `MachineModel.transitions`). */
  readonly uncoverable?: readonly string[];
}

/**
 * Derive the paths, print `transition coverage n/n`, fail if a transition has no path, and drive
 * every path over every transport.
 */
export async function checkMachinePaths(app: App, model: MachineModel, options: CheckPathsOptions = {}): Promise<{ paths: MachinePath[]; coverage: TransitionCoverage }> {
  const derived = machinePaths(model, options);
  const { coverage, paths } = derived;
  (options.log ?? console.log)(`${model.route.path}: transition coverage ${coverage.text} (${paths.length} paths)`);
  const missing = coverage.missing.filter((transition) => !(options.uncoverable ?? []).includes(transition));
  if (missing.length > 0) throw new MachinePathError(`${model.route.path}: no path takes ${missing.join(", ")} (coverage ${coverage.text})`);
  for (const transport of options.transports ?? ["memory", "tcp"]) {
    for (const path of paths) await drivePath(app, model, path, { ...options, transport });
  }
  return derived;
}
