/**
 * Property-test your own handlers with statewire's toolkit: random client flows, interleaved by
 * fast-check's scheduler, checked against the lifecycle invariants — plus your own property.
 * Run it with `npx vitest run examples/property-test.test.ts`.
 */
import fc from "fast-check";
import { expect, test } from "vitest";
import { createApp, provide, websocketListener } from "statewire";
import { assertInvariants, clientFlows, ResourceLedger, runFlows } from "statewire/testing";
import { listenerChat } from "./listeners.js";

// The handler under test (examples/listeners.ts), plus a resource we track in a ledger.
const ledger = new ResourceLedger();
const app = createApp({
  routes: [
    listenerChat,
    websocketListener("/counter", {
      dependencies: {
        counter: provide(async function* () {
          ledger.acquire("counter");
          try {
            yield { count: 0 };
          } finally {
            ledger.release("counter");
          }
        }),
      },
      handler: (_text, { counter }) => ++counter.count,
    }),
  ],
});

test("the chat listener keeps every lifecycle invariant, and answers valid messages in kind", async () => {
  await fc.assert(
    fc.asyncProperty(
      clientFlows({
        paths: ["/listener/chat", "/counter"],
        json: {
          valid: fc.record({ user: fc.string(), content: fc.string() }),
          invalid: fc.record({ user: fc.integer() }),
        },
      }),
      fc.scheduler(),
      async (flows, scheduler) => {
        ledger.reset();
        const result = await runFlows(app, flows, { scheduler });
        assertInvariants(result, { ledger });
        // Our own property: the server refuses (1007) a chat connection only if it sent something invalid.
        // (Ask the probe who closed: a client may choose 1007 itself, and fast-check will find that.)
        for (const outcome of result.outcomes) {
          const onlyValid = outcome.flow.steps.every((step) => step.kind !== "json" || typeof (step.data as { user?: unknown }).user === "string");
          const textOrBinary = outcome.flow.steps.some((step) => step.kind === "text" || step.kind === "binary");
          const server = result.probe.byTag(outcome.tag)?.outcomes[0];
          if (outcome.flow.path === "/listener/chat" && onlyValid && !textOrBinary && server?.initiator === "server") {
            expect(server.code).not.toBe(1007);
          }
        }
      },
    ),
    { numRuns: 200 },
  );
});
