/**
 * Play client flows against an app and record what happened on both sides: what each client
 * received and how it closed, and (through a probe) what the server did with every connection.
 * Over the memory transport a fast-check scheduler may decide the interleaving of every
 * delivery, in both directions, and of the runtime's own asynchronous steps (dependency
 * providers, stream pulls, async replies), so races are explored and replayable.
 */
import type fc from "fast-check";
import type { App } from "../app/app.js";
import type { CloseInfo } from "./client.js";
import { HandshakeRejected, testClient, type TestSocket } from "./client.js";
import type { ClientFlow } from "./flows.js";
import { type MessageRecord, Probe } from "./probe.js";

export interface ReceivedMessage {
  readonly isBinary: boolean;
  readonly data: Buffer;
}

export interface FlowOutcome {
  readonly flow: ClientFlow;
  /** The query parameter that tags this flow's connection (`sw-flow=N`). */
  readonly tag: string;
  /** The HTTP status when the handshake was refused. */
  readonly refused: number | undefined;
  readonly received: readonly ReceivedMessage[];
  /** How the connection ended, as the client saw it. */
  readonly closed: CloseInfo | undefined;
  /** What the client sent, in order (the server must see a prefix of it, in this order). */
  readonly sent: readonly MessageRecord[];
  /** A failure of the client itself (e.g. no answer to the handshake). */
  readonly error: string | undefined;
}

export interface RunResult {
  readonly outcomes: readonly FlowOutcome[];
  readonly probe: Probe;
  /** Whether, within `settleMs` after the clients were done, every connection closed, every handler finished and every dependency was released. */
  readonly settled: boolean;
}

export interface RunOptions {
  /** Default `"memory"`. A scheduler works over memory only. */
  readonly transport?: "memory" | "tcp";
  /** `fc.scheduler()`'s instance: it orders every delivery of the memory wire. */
  readonly scheduler?: fc.Scheduler;
  /** The bound on "in bounded time": how long the server has, once clients are done, to settle. Default 2 000 ms. */
  readonly settleMs?: number;
  /**
   * A flow that does not end itself is closed (1000) by the runner once the server has read all it
   * sent and gone quiet — at most this long after its last step. Default 1 000 ms.
   */
  readonly replyWaitMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function sizeOf(data: string | Uint8Array): number {
  return typeof data === "string" ? Buffer.byteLength(data, "utf8") : data.byteLength;
}

/**
 * Before the runner ends a flow with its own close: wait until the server has read what the
 * client sent and stopped sending (or closed), so the close does not race the replies and the
 * client's record holds what the server answered. Bounded by `maxMs`.
 */
async function awaitReplies(socket: TestSocket, probe: Probe, tag: string, sent: number, timed: boolean, maxMs: number): Promise<void> {
  let closed = false;
  void socket.closed.then(() => (closed = true));
  const deadline = Date.now() + maxMs;
  let lastOut = -1;
  let lastIn = -1;
  while (!closed && Date.now() < deadline) {
    const record = probe.byTag(tag);
    if (record !== undefined && record.state !== "open" && record.state !== "connecting") return;
    const received = record?.received.length ?? 0;
    const out = record?.sent.length ?? 0;
    if (received >= sent && out === lastOut && received === lastIn) return;
    lastOut = out;
    lastIn = received;
    // Under a scheduler the deliveries run between turns of the event loop; without one, give async handlers time.
    await (timed ? sleep(QUIET_MS) : new Promise<void>((resolve) => setImmediate(resolve)));
  }
}

/** How long the server must stay silent, without a scheduler, before the runner's own close. */
const QUIET_MS = 10;

async function play(
  client: ReturnType<typeof testClient>,
  flow: ClientFlow,
  index: number,
  timed: boolean,
  probe: Probe,
  replyWaitMs: number,
): Promise<FlowOutcome> {
  const tag = `sw-flow=${index}`;
  const path = `${flow.path}${flow.path.includes("?") ? "&" : "?"}${tag}`;
  const sent: MessageRecord[] = [];
  let socket: TestSocket;
  try {
    socket = await client.connect(path, { headers: flow.headers, subprotocols: flow.subprotocols });
  } catch (error) {
    const refused = error instanceof HandshakeRejected ? error.status : undefined;
    return { flow, tag, refused, received: [], closed: undefined, sent, error: refused === undefined ? String(error) : undefined };
  }
  let ended = false;
  for (const step of flow.steps) {
    switch (step.kind) {
      case "text":
        socket.sendText(step.data);
        sent.push({ size: sizeOf(step.data), isBinary: false });
        break;
      case "binary":
        socket.sendBytes(step.data);
        sent.push({ size: sizeOf(step.data), isBinary: true });
        break;
      case "json": {
        const text = JSON.stringify(step.data) ?? "null";
        socket.sendText(text);
        sent.push({ size: sizeOf(text), isBinary: false });
        break;
      }
      case "ping":
        socket.ping();
        break;
      case "pause":
        // Under a scheduler the interleaving is the scheduler's to choose; real time only adds noise.
        if (timed) await sleep(step.ms);
        break;
      case "close":
        ended = true;
        await (step.code === undefined ? socket.closeWithoutStatus() : socket.close(step.code, step.reason));
        break;
      case "abort":
        ended = true;
        await socket.abort();
        break;
    }
    if (ended) break;
  }
  if (!ended) {
    await awaitReplies(socket, probe, tag, sent.length, timed, replyWaitMs);
    await socket.close(1000);
  }
  const closed = await socket.closed;
  return { flow, tag, refused: undefined, received: [...socket.history], closed, sent, error: undefined };
}

/** Run `flows` concurrently against `app` and wait (bounded) for the server to settle. */
export async function runFlows(app: App, flows: readonly ClientFlow[], options: RunOptions = {}): Promise<RunResult> {
  const { scheduler, transport = "memory", settleMs = 2000, replyWaitMs = 1000 } = options;
  if (scheduler !== undefined && transport !== "memory") throw new TypeError("A scheduler can order deliveries over the memory transport only");
  const probe = new Probe();
  const detach = app.observe(probe);
  if (scheduler !== undefined) app.interleave((label) => scheduler.schedule(Promise.resolve(), label));
  const client = testClient(app, {
    transport,
    ...(scheduler === undefined ? {} : { schedule: (task: () => void) => void scheduler.schedule(Promise.resolve(), "delivery").then(task) }),
  });
  try {
    const playing = Promise.all(flows.map((flow, index) => play(client, flow, index, scheduler === undefined, probe, replyWaitMs)));
    const outcomes = scheduler === undefined ? await playing : await scheduler.waitFor(playing);
    const deadline = Date.now() + settleMs;
    let settled = isSettled(probe);
    while (!settled && Date.now() < deadline) {
      if (scheduler !== undefined) await scheduler.waitIdle();
      await sleep(5);
      settled = isSettled(probe);
    }
    return { outcomes, probe, settled };
  } finally {
    detach();
    if (scheduler !== undefined) app.interleave(undefined);
    await client.close();
  }
}

function isSettled(probe: Probe): boolean {
  for (const record of probe.connections.values()) {
    if (record.outcomes.length === 0) return false;
    if (record.handlerFinishes < record.handlerStarts) return false;
    if (record.released.length < record.acquired.length) return false;
    if (record.unsubscribed.length < record.subscribed.length) return false;
  }
  return true;
}
