/**
 * Differential: the same random flows over the memory transport and over real TCP give the
 * same observable outcome — the frames the client receives, the close code, reason and
 * cleanliness, and the server hooks called.
 *
 * Where the two cannot agree, the flows leave it out, on purpose:
 * - abrupt aborts: over TCP a reset may or may not overtake data already written (the kernel
 *   decides); in memory it never does. Aborts are covered by the lifecycle properties instead.
 * - sends without waiting: what the server still answers after a client's close frame depends
 *   on how TCP cuts the bytes into reads. So each step waits for its answer (a reply or the end).
 */
import { Schema } from "effect";
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { setup } from "xstate";
import { type App, closeConnection, createApp, type DisconnectEvent, type Logger, type MessageEvent, sendMessage, websocket, websocketListener, websocketMachine } from "../src/index.js";
import { closeCode, closeReason, testClient, type TestClient } from "../src/testing/index.js";

const DEEP = process.env.STATEWIRE_DEEP === "1";
const RUNS = DEEP ? 10_000 : 200;
const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

const Chat = Schema.Struct({ user: Schema.String, content: Schema.String });

type Command =
  | { readonly kind: "text"; readonly data: string }
  | { readonly kind: "binary"; readonly data: Uint8Array }
  | { readonly kind: "json"; readonly data: unknown };

interface Flow {
  readonly path: "/commands" | "/chat" | "/bytes" | "/machine";
  readonly commands: readonly Command[];
  readonly ending: { readonly code: number; readonly reason: string } | undefined;
}

function buildApp(hooks: Map<string, number[]>): App {
  const record = (tag: string, code: number): void => void hooks.set(tag, [...(hooks.get(tag) ?? []), code]);
  return createApp({
    logger: quiet,
    routes: [
      websocket("/commands", async (socket) => {
        await socket.accept();
        for await (const message of socket) {
          if (typeof message !== "string") {
            await socket.sendBytes(Buffer.from(message).reverse());
            continue;
          }
          const [verb, argument = ""] = message.split(" ", 2);
          if (verb === "close") return socket.close(4000 + (argument.length % 900), argument);
          if (verb === "throw") throw new Error("asked to");
          if (verb === "end") return;
          await socket.sendText(`echo:${message}`);
        }
      }),
      websocketListener("/chat", {
        receive: Chat,
        onDisconnect: ({ query }, close) => record(query.tag ?? "", close.code),
        handler: (message) => ({ user: message.user, echoed: message.content }),
      }),
      websocketListener("/bytes", {
        receive: "bytes",
        onDisconnect: ({ query }, close) => record(query.tag ?? "", close.code),
        handler: (bytes) => bytes.length,
      }),
      websocketMachine("/machine", {
        machine: differentialMachine,
        receive: "text",
        onDisconnect: ({ query }, close) => record(query.tag ?? "", close.code),
      }),
    ],
  });
}

/** A machine route answering every text frame, closing 4000 on "end" (a binary frame closes 1003). */
const differentialMachine = setup({ types: { events: {} as MessageEvent<string> | DisconnectEvent } }).createMachine({
  on: {
    message: [
      { guard: ({ event }) => event.data === "end", actions: closeConnection(4000, "end") },
      { actions: sendMessage(({ event }) => `machine:${event.data}`) },
    ],
  },
});

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("throw", "end"), fc.string({ maxLength: 6 }).map((s) => `close ${s}`)).map(
    (data) => ({ kind: "text", data }) as const,
  ),
  fc.uint8Array({ maxLength: 16 }).map((data) => ({ kind: "binary", data }) as const),
  fc.oneof(fc.record({ user: fc.string({ maxLength: 5 }), content: fc.string({ maxLength: 5 }) }), fc.record({ user: fc.integer() })).map(
    (data) => ({ kind: "json", data }) as const,
  ),
);

const flow: fc.Arbitrary<Flow> = fc.record({
  path: fc.constantFrom("/commands" as const, "/chat" as const, "/bytes" as const, "/machine" as const),
  commands: fc.array(command, { maxLength: 6 }),
  ending: fc.option(fc.record({ code: closeCode(), reason: closeReason() }), { nil: undefined }),
});

/** What one run looked like from outside: every frame received, then how it ended. */
async function transcript(client: TestClient, hooks: Map<string, number[]>, run: Flow, tag: string): Promise<unknown[]> {
  const ws = await client.connect(`${run.path}?tag=${tag}`);
  const seen: unknown[] = [];
  let ended = false;
  for (const step of run.commands) {
    if (step.kind === "text") ws.sendText(step.data);
    else if (step.kind === "binary") ws.sendBytes(step.data);
    else ws.sendJson(step.data);
    // Wait for this step's answer: a reply, or the end of the connection.
    const answer = await ws.receive().catch(() => undefined);
    if (answer === undefined) {
      ended = true;
      break;
    }
    seen.push(typeof answer === "string" ? answer : `bytes:${answer.toString("hex")}`);
  }
  if (!ended) {
    if (run.ending === undefined) await ws.close();
    else await ws.close(run.ending.code, run.ending.reason);
  }
  const closed = await ws.closed;
  seen.push({ close: closed });
  // Hooks run after the close; give them their turn before reading.
  for (let i = 0; i < 50 && run.path !== "/commands" && !hooks.has(tag); i++) await new Promise((resolve) => setTimeout(resolve, 2));
  seen.push({ hooks: hooks.get(tag) ?? [] });
  return seen;
}

describe("memory and TCP agree", () => {
  const hooks = new Map<string, number[]>();
  const app = buildApp(hooks);
  const memory = testClient(app);
  const tcp = testClient(app, { transport: "tcp" });
  afterAll(async () => {
    await app.close({ timeoutMs: 1000 });
  });

  test(`on random request/response flows (${RUNS} runs)`, async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(flow, async (generated) => {
        run++;
        const overMemory = await transcript(memory, hooks, generated, `m${run}`);
        const overTcp = await transcript(tcp, hooks, generated, `t${run}`);
        expect(overTcp).toEqual(overMemory);
      }),
      { numRuns: RUNS },
    );
    // The client saw its close; the server's side of the last one may still be finishing.
    await expect.poll(() => app.stats().open).toBe(0);
  }, 900_000);
});
