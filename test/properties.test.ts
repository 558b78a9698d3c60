/**
 * The invariants of docs/architecture.md §4 as properties (fast-check), over random client flows whose
 * deliveries fast-check's scheduler interleaves; and the toolkit catching planted bugs with a
 * shrunk counterexample. 200 runs per property in `npm test`, 10 000 in `npm run test:deep`.
 * On failure fast-check prints the seed and the shrunk flow: replay with `{ seed, path }`.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Schema } from "effect";
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { type App, createApp, type Logger, provide, WebSocketDisconnect, websocket, websocketListener, websocketMachine, websocketStream } from "../src/index.js";
import { protocolMachine } from "../examples/protocol.js";
import { echoMachine } from "./support/machines.js";
import { assertInvariants, type ClientFlow, clientFlows, InvariantViolation, ResourceLedger, runFlows } from "../src/testing/index.js";

const DEEP = process.env.STATEWIRE_DEEP === "1";
const RUNS = DEEP ? 10_000 : 200;
const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };
const apps: App[] = [];
afterAll(async () => {
  for (const app of apps) await app.close({ timeoutMs: 1000 });
});

const Chat = Schema.Struct({ user: Schema.String, content: Schema.String });

/** Every handler kind, with dependencies, a ledger-tracked resource and routes that fail on purpose. */
function referenceApp(ledger: ResourceLedger): App {
  const app = createApp({
    logger: quiet,
    closeTimeoutMs: 200,
    dependencies: {
      session: provide(async function* () {
        ledger.acquire("session");
        try {
          yield { id: 1 };
        } finally {
          ledger.release("session");
        }
      }),
    },
    routes: [
      websocket("/echo", async (socket) => {
        await socket.accept();
        for await (const message of socket) {
          if (typeof message === "string") await socket.sendText(message);
          else await socket.sendBytes(message);
        }
      }),
      websocket("/closer", async (socket) => {
        await socket.accept();
        const first = await socket.receive();
        await socket.close(4000 + (typeof first === "string" ? first.length % 900 : 1), "bye");
      }),
      websocketListener("/chat", { receive: Chat, handler: (message) => ({ echoed: message.content }) }),
      websocketListener("/async", async (text) => {
        await Promise.resolve();
        return text.length;
      }),
      websocketStream("/stream", {
        closeOnEnd: false,
        stream: async function* () {
          for (let i = 0; i < 3; i++) yield i;
        },
        onMessage: (text) => `got ${text}`,
      }),
      websocket("/refuse", (socket) => socket.reject(403)),
      websocketMachine("/machine", { machine: echoMachine, receive: "text" }),
      websocketMachine("/protocol", { machine: protocolMachine.provide({ delays: { helloTimeout: 20 } }) }),
    ],
  });
  apps.push(app);
  return app;
}

const paths = ["/echo", "/closer", "/chat", "/async", "/stream", "/refuse", "/missing", "/machine", "/protocol"];
const flows = clientFlows({
  paths,
  json: {
    valid: fc.record({ user: fc.string({ maxLength: 8 }), content: fc.string({ maxLength: 8 }) }),
    invalid: fc.oneof(fc.record({ user: fc.integer() }), fc.constant(null), fc.string({ maxLength: 4 })),
  },
  malformedJson: true,
  maxPauseMs: 0,
  maxClients: 3,
});

describe("lifecycle invariants over random flows and interleavings", () => {
  test(`hold for every handler kind (${RUNS} runs)`, async () => {
    const ledger = new ResourceLedger();
    const app = referenceApp(ledger);
    await fc.assert(
      fc.asyncProperty(flows, fc.scheduler(), async (clients, scheduler) => {
        ledger.reset();
        const result = await runFlows(app, clients, { scheduler, settleMs: 1000 });
        assertInvariants(result, { ledger });
        // Refusals are answered by status, and the server records them.
        for (const outcome of result.outcomes) {
          if (outcome.flow.path === "/refuse") expect(outcome.refused).toBe(403);
          if (outcome.flow.path === "/missing") expect(outcome.refused).toBe(404);
        }
      }),
      { numRuns: RUNS },
    );
    const stats = app.stats();
    expect(stats.open).toBe(0);
    expect(stats.closed).toBe(stats.started);
    expect(stats.dependencies.released).toBe(stats.dependencies.acquired);
  }, 600_000);

  test("a handler error closes only its own connection, and the toolkit reports it unless it is expected", async () => {
    const app = createApp({
      logger: quiet,
      routes: [
        websocketListener("/fragile", (text) => {
          if (text.startsWith("!")) throw new Error("planted");
          return text;
        }),
      ],
    });
    apps.push(app);
    await fc.assert(
      fc.asyncProperty(
        clientFlows({ paths: ["/fragile"], text: fc.string({ maxLength: 3 }), binary: false, maxPauseMs: 0 }),
        fc.scheduler(),
        async (clients, scheduler) => {
          const result = await runFlows(app, clients, { scheduler });
          assertInvariants(result, { allowHandlerErrors: true });
          for (const outcome of result.outcomes) {
            const failed = outcome.flow.steps.some((step) => step.kind === "text" && step.data.startsWith("!"));
            const closedByServer = result.probe.byTag(outcome.tag)?.outcomes[0];
            if (!failed && closedByServer?.initiator === "server" && closedByServer.code === 1011) {
              throw new Error(`${outcome.tag} was closed 1011 by the server without its handler failing`);
            }
          }
        },
      ),
      { numRuns: RUNS },
    );
  }, 600_000);
});

test("the scheduler orders the runtime's own async steps too: providers, stream pulls, async replies", async () => {
  const ledger = new ResourceLedger();
  const app = referenceApp(ledger);
  const scheduler = fc.sample(fc.scheduler(), { numRuns: 1, seed: 7 })[0]!;
  const flow = (path: string): ClientFlow => ({ path, headers: {}, subprotocols: [], steps: [{ kind: "text", data: "x" }] });
  const result = await runFlows(app, [flow("/stream"), flow("/async")], { scheduler });
  assertInvariants(result, { ledger });
  const labels = new Set(scheduler.report().map((task) => task.label));
  expect(labels).toContain("dependency:session");
  expect(labels).toContain("stream:pull");
  expect(labels).toContain("handler:reply");
  expect(labels).toContain("delivery");
});

/**
 * Run the toolkit against a planted bug; it must fail with a shrunk counterexample naming the
 * invariant. Each run gets a fresh app, so a previous run's late cleanup can never offset (or
 * be blamed for) the current one while fast-check shrinks.
 */
async function expectCaught(makeApp: () => App, flowArbitrary: fc.Arbitrary<ClientFlow[]>, options: { ledger?: ResourceLedger; settleMs?: number }) {
  const details = await fc.check(
    fc.asyncProperty(flowArbitrary, fc.scheduler(), async (clients, scheduler) => {
      options.ledger?.reset();
      const app = makeApp();
      try {
        const result = await runFlows(app, clients, { scheduler, settleMs: options.settleMs ?? 300 });
        assertInvariants(result, options.ledger === undefined ? {} : { ledger: options.ledger });
      } finally {
        await app.close({ timeoutMs: 200 });
      }
    }),
    { numRuns: 100, seed: 42 },
  );
  expect(details.failed).toBe(true);
  expect(details.errorInstance).toBeInstanceOf(InvariantViolation);
  return { counterexample: details.counterexample![0], violations: (details.errorInstance as InvariantViolation).violations, shrinks: details.numShrinks };
}

describe("the toolkit catches broken handlers, with a shrunk counterexample", () => {
  test("one that swallows the disconnect and keeps sending", async () => {
    let stop = false;
    const makeApp = () =>
      createApp({
        logger: quiet,
        closeTimeoutMs: 100,
        routes: [
          websocket("/stubborn", async (socket) => {
            await socket.accept();
            while (!stop) {
              try {
                await socket.receive();
              } catch (error) {
                if (!(error instanceof WebSocketDisconnect)) throw error;
              }
              await socket.sendText("still here").catch(() => {});
              await sleep(1);
            }
          }),
        ],
      });
    try {
      const caught = await expectCaught(makeApp, clientFlows({ paths: ["/stubborn"], maxPauseMs: 0 }), { settleMs: 100 });
      expect(caught.violations.map((v) => v.invariant)).toContain("handler-finishes");
      // Shrunk to the smallest flow: one client that connects and leaves.
      expect(caught.counterexample).toHaveLength(1);
      expect(caught.counterexample![0]!.steps.filter((step) => step.kind !== "close" && step.kind !== "abort")).toEqual([]);
    } finally {
      stop = true;
    }
  }, 120_000);

  test("one that never releases its dependency when the client aborts", async () => {
    const ledger = new ResourceLedger();
    const makeApp = () =>
      createApp({
        logger: quiet,
        routes: [
          websocketListener("/leaky", {
            dependencies: {
              db: provide(async function* ({ socket }) {
                ledger.acquire("db");
                yield { query: (text: string) => text };
                // The bug: cleanup is skipped when the connection was dropped.
                if ((await socket.closed).code !== 1006) ledger.release("db");
              }),
            },
            handler: (text, { db }) => db.query(text),
          }),
        ],
      });
    const caught = await expectCaught(makeApp, clientFlows({ paths: ["/leaky"], maxPauseMs: 0 }), { ledger });
    expect(caught.violations.map((v) => v.invariant)).toContain("resources-balance");
    // Shrunk: every flow is down to its ending, and one of them is exactly the abort. (fast-check
    // removes list items from the front, so a passing flow before the culprit may stay.)
    const shrunk = caught.counterexample!;
    expect(shrunk.length).toBeLessThanOrEqual(2);
    for (const flow of shrunk) expect(flow.steps.length).toBeLessThanOrEqual(1);
    expect(shrunk.some((flow) => flow.steps.length === 1 && flow.steps[0]!.kind === "abort")).toBe(true);
  }, 120_000);

  test("one that closes with code 1005", async () => {
    const makeApp = () =>
      createApp({
        logger: quiet,
        routes: [
          websocket("/bad-close", async (socket) => {
            await socket.accept();
            await socket.receive();
            await socket.close(1005, "reserved");
          }),
        ],
      });
    const caught = await expectCaught(makeApp, clientFlows({ paths: ["/bad-close"], maxPauseMs: 0 }), {});
    const violation = caught.violations.find((v) => v.invariant === "no-handler-errors");
    expect(violation?.detail).toMatch(/RangeError: Invalid close code 1005/);
    expect(caught.counterexample).toHaveLength(1);
    // The smallest trigger: one data message, and nothing more before the ending.
    expect(caught.counterexample![0]!.steps.filter((step) => step.kind === "text" || step.kind === "binary" || step.kind === "json")).toHaveLength(1);
  }, 120_000);
});
