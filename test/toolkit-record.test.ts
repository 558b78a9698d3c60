/**
 * The toolkit's record of the client side tells the truth: what a client received and how it
 * closed agree with what the server sent and how it closed, in every interleaving the
 * scheduler picks — and flows wait for replies instead of racing them with the runner's close.
 *
 * Before the fix: a server that replies once and closes with 4000 was recorded on the client as
 * 0 frames and close 1006 under `fc.scheduler()` (the memory wire ended a simultaneous close
 * with a code nobody sent), and without the scheduler the runner's own close raced the reply.
 */
import { Schema } from "effect";
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { type App, createApp, type Logger, websocket, websocketListener, websocketMachine, websocketStream } from "../src/index.js";
import { type ClientFlow, clientFlows, receiveOf, routeFlows, runFlows, type RunResult, schemaValues } from "../src/testing/index.js";
import { protocolMachine, ProtocolMessage } from "../examples/protocol.js";
import { echoMachine } from "./support/machines.js";

const DEEP = process.env.STATEWIRE_DEEP === "1";
const RUNS = DEEP ? 5_000 : 150;
const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };
const apps: App[] = [];
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
});

function recordApp(): App {
  const app = createApp({
    logger: quiet,
    closeTimeoutMs: 200,
    routes: [
      websocketListener("/once", async (_text, { socket }) => {
        await socket.sendText("one");
        await socket.close(4000, "done");
      }),
      websocketListener("/echo", (text) => text),
      websocketListener("/json", { receive: Schema.Struct({ n: Schema.Number }), handler: async ({ n }) => ({ twice: n * 2 }) }),
      websocket("/closer", async (socket) => {
        await socket.accept();
        await socket.receive();
        await socket.sendText("a");
        await socket.sendText("b");
        await socket.close(4001, "enough");
      }),
      websocketStream("/stream", {
        closeOnEnd: { code: 4002 },
        stream: async function* () {
          yield 1;
          yield 2;
        },
      }),
      websocketMachine("/machine", { machine: echoMachine, receive: "text" }),
      websocketMachine("/protocol", { machine: protocolMachine }),
    ],
  });
  apps.push(app);
  return app;
}

const sameFrame = (frame: { readonly data: Buffer; readonly isBinary: boolean }) => ({ size: frame.data.length, isBinary: frame.isBinary });

/** The property: every connected client's record equals the server's record of it. */
function assertRecordsAgree(result: RunResult): void {
  for (const outcome of result.outcomes) {
    if (outcome.refused !== undefined || outcome.error !== undefined) continue;
    const server = result.probe.byTag(outcome.tag);
    expect(server, `${outcome.tag}: the server saw the connection`).toBeDefined();
    const aborted = outcome.flow.steps.some((step) => step.kind === "abort");
    if (aborted) {
      // A client that vanished may miss frames in flight, never see extra ones.
      expect(outcome.received.length).toBeLessThanOrEqual(server!.sent.length);
      continue;
    }
    expect(outcome.received.map(sameFrame), `${outcome.tag}: frames the client received vs frames the server sent`).toEqual(server!.sent);
    const serverClose = server!.outcomes[0];
    expect(serverClose, `${outcome.tag}: the server closed`).toBeDefined();
    expect(outcome.closed?.code, `${outcome.tag}: close code on the client vs the server`).toBe(serverClose!.code);
  }
}

const flow = (path: string, steps: ClientFlow["steps"]): ClientFlow => ({ path, headers: {}, subprotocols: [], steps });

describe("the client record", () => {
  const app = recordApp();

  test("a server that replies once and closes with 4000 is recorded as 1 frame and close 4000 — with and without a scheduler", async () => {
    const flows = [flow("/once", [{ kind: "text", data: "x" }])];
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), async (scheduler) => {
        const result = await runFlows(app, flows, { scheduler });
        expect(result.outcomes[0]!.received.map((frame) => frame.data.toString())).toEqual(["one"]);
        expect(result.outcomes[0]!.closed).toMatchObject({ code: 4000, reason: "done" });
      }),
      { numRuns: 100 },
    );
    for (let run = 0; run < 10; run++) {
      const result = await runFlows(app, flows);
      expect(result.outcomes[0]!.received.map((frame) => frame.data.toString())).toEqual(["one"]);
      expect(result.outcomes[0]!.closed?.code).toBe(4000);
    }
  });

  test("flows wait for replies: each echo arrives before the runner's close, over memory and TCP", async () => {
    const flows = [flow("/json", [{ kind: "json", data: { n: 1 } }, { kind: "json", data: { n: 2 } }])];
    for (const transport of ["memory", "tcp"] as const) {
      const result = await runFlows(app, flows, { transport });
      expect(result.outcomes[0]!.received.map((frame) => JSON.parse(frame.data.toString()))).toEqual([{ twice: 2 }, { twice: 4 }]);
      expect(result.outcomes[0]!.closed?.code).toBe(1000);
    }
  });

  test(`agrees with the server's in every interleaving (${RUNS} runs)`, async () => {
    const flows = clientFlows({
      paths: ["/once", "/echo", "/json", "/closer", "/stream", "/machine", "/protocol"],
      json: { valid: fc.record({ n: fc.integer() }), invalid: fc.oneof(fc.constant({}), fc.string({ maxLength: 3 })) },
      malformedJson: true,
      maxPauseMs: 0,
      maxClients: 3,
    });
    await fc.assert(
      fc.asyncProperty(flows, fc.scheduler(), async (clients, scheduler) => {
        const result = await runFlows(app, clients, { scheduler, settleMs: 1000 });
        assertRecordsAgree(result);
      }),
      { numRuns: RUNS },
    );
  }, 600_000);
});

describe("random flows from the route's receive schema", () => {
  const chat = websocketListener("/chat", { receive: Schema.Struct({ user: Schema.String, content: Schema.String }), handler: (message) => ({ echoed: message.content }) });
  const protocolRoute = websocketMachine("/protocol", { machine: protocolMachine, receive: ProtocolMessage });
  const app = createApp({ logger: quiet, routes: [chat, protocolRoute] });
  apps.push(app);

  /** Connections that got at least one reply, over `runs` sampled flow sets. */
  async function reach(arbitrary: fc.Arbitrary<ClientFlow[]>, runs: number): Promise<{ replied: number; total: number }> {
    let replied = 0;
    let total = 0;
    for (const clients of fc.sample(arbitrary, { numRuns: runs, seed: 3 })) {
      const result = await runFlows(app, clients);
      assertRecordsAgree(result);
      for (const outcome of result.outcomes) {
        total++;
        if (outcome.received.length > 0) replied++;
      }
    }
    return { replied, total };
  }

  test("reach the protocol: most connections get replies, where generic junk flows get almost none", async () => {
    const fromSchema = await reach(routeFlows(protocolRoute, { maxPauseMs: 0 }), 40);
    const generic = await reach(clientFlows({ paths: ["/protocol"], maxPauseMs: 0 }), 40);
    console.log(`/protocol: connections with a reply — from the schema ${fromSchema.replied}/${fromSchema.total}, generic ${generic.replied}/${generic.total}`);
    expect(fromSchema.replied / fromSchema.total).toBeGreaterThan(0.5);
    expect(fromSchema.replied).toBeGreaterThan(3 * Math.max(1, generic.replied));
    const chatReach = await reach(routeFlows(chat, { maxPauseMs: 0 }), 40);
    expect(chatReach.replied / chatReach.total).toBeGreaterThan(0.5);
  }, 120_000);

  test("receiveOf and schemaValues read the route", () => {
    expect(receiveOf(chat)).not.toBe("text");
    expect(receiveOf(websocketListener("/t", (text) => text))).toBe("text");
    const values = fc.sample(schemaValues(ProtocolMessage)!, { numRuns: 50, seed: 1 });
    expect(values.every((value) => typeof (value as { type?: unknown }).type === "string")).toBe(true);
    expect(schemaValues("json")).toBeUndefined();
  });
});
