/**
 * Fuzzing the HTTP / upgrade edge against a real server process (`test/support/edge-server.ts`,
 * a route of every kind): generated request lines and headers (Host, method, path, upgrade
 * headers, keys, versions, subprotocol lists, bodies), pipelining, truncation and TCP resets at
 * every byte offset, and random frame sequences after a valid upgrade.
 *
 * Properties, checked after every case: the process has not exited; the connection ended once
 * the client stopped (FIN or RST); `/stats` still answers. At the end: no connection is left
 * open, and memory is back near its baseline. A failing case shrinks to the request bytes,
 * printed as a JSON string (replay: `printf '%b' ... | nc 127.0.0.1 PORT`, or `exchange()`).
 *
 * Bounded: ~150 generated cases and one offset sweep in `npm test` (a few seconds);
 * `STATEWIRE_DEEP=1` runs 20× as many.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FaultProcess, startFaultServer } from "./support/fault-process.js";
import { encodeRequest, frameSession, hostileExchange, type Ending } from "./support/edge-arbitraries.js";
import { encodeFrame, Opcode, RawClient, closePayload } from "./support/raw-client.js";
import { exchange, httpRequest, statuses, upgradeRequest } from "./support/raw-http.js";

const DEEP = process.env.STATEWIRE_DEEP === "1";
const SCALE = DEEP ? 20 : 1;
/** How long the server may take to close a connection the client has ended (beyond the handshake timeout of 1 s). */
const END_WITHIN_MS = 3000;
const MiB = 1024 * 1024;

let edge: FaultProcess;
let baseline: { heapUsed: number; rss: number };

beforeAll(async () => {
  edge = await startFaultServer(20_000, "test/support/edge-server.ts");
  // Warm up every path once so that the baseline includes code and pools, not the first cases' cost.
  for (const bytes of [httpRequest("GET", "/stats"), upgradeRequest("/echo"), upgradeRequest("/deps?user=w"), httpRequest("POST", "/body", { "Content-Length": "3" }) + "abc"]) {
    await exchange(edge.port, bytes, { then: "end" });
  }
  const sample = await edge.sample(true);
  baseline = { heapUsed: sample.heapUsed, rss: sample.rss };
}, 30_000);

afterAll(async () => {
  await edge?.stop();
});

/**
 * A live server for the next case. One that a previous case killed is replaced, so that
 * shrinking replays each candidate against a fresh process and ends on the request that kills it.
 */
async function live(): Promise<FaultProcess> {
  if (edge.child.exitCode !== null || edge.child.signalCode !== null) {
    restarted = true;
    edge = await startFaultServer(20_000, "test/support/edge-server.ts");
  }
  return edge;
}
let restarted = false;

/** The process lives and `/stats` answers 200; `replay` names the case that was just sent. */
async function expectHealthy(replay: string): Promise<void> {
  let response = "";
  let failure: unknown;
  try {
    ({ response } = await exchange(edge.port, httpRequest("GET", "/stats", { Connection: "close" }), { quietMs: 1000 }));
  } catch (error) {
    failure = error;
  }
  // A process that is dying may not have exited yet: give it the time to, so the report says so.
  if (failure !== undefined || statuses(response)[0] !== 200) await Promise.race([edge.exited, new Promise((resolve) => setTimeout(resolve, 1000))]);
  const exited = edge.child.exitCode !== null || edge.child.signalCode !== null;
  expect(exited, `the server exited after ${replay}\n${edge.stderr().slice(-2000)}`).toBe(false);
  expect(failure, `/stats could not be asked after ${replay}`).toBeUndefined();
  expect(statuses(response), `/stats after ${replay}`).toEqual([200]);
}

/** Write `bytes` (or the first `cutAt` fraction of them), then FIN or RST; the server must close its side within the bound. */
async function sendAndEnd(bytes: Buffer, end: Ending): Promise<{ ended: boolean; response: string }> {
  const cut = end.cutAt === undefined ? bytes.length : Math.floor(end.cutAt * bytes.length);
  const started = Date.now();
  const { response, end: closed } = await exchange(edge.port, bytes.subarray(0, cut), { then: end.then, quietMs: END_WITHIN_MS });
  return { ended: closed !== undefined && Date.now() - started <= END_WITHIN_MS + 500, response };
}

describe("edge fuzz: generated requests against a server process", () => {
  it(
    "no request line, header, pipelining, truncation or reset ends the process or leaves a connection open",
    async () => {
      await fc.assert(
        fc.asyncProperty(hostileExchange, async ({ requests, ending }) => {
          await live();
          const text = requests.map(encodeRequest).join("");
          const replay = `${JSON.stringify(text)} cut at ${ending.cutAt ?? "end"} then ${ending.then}`;
          const { ended } = await sendAndEnd(Buffer.from(text, "utf8"), ending);
          expect(ended, `the server kept the connection open after ${replay}`).toBe(true);
          await expectHealthy(replay);
        }),
        { numRuns: 150 * SCALE, interruptAfterTimeLimit: 150_000 * SCALE, markInterruptAsFailure: false },
      );
    },
    // Passing takes seconds; the headroom is for shrinking a failure (each crash costs a restart).
    180_000 * SCALE,
  );

  it(
    "random frame sequences after a valid upgrade, then FIN, RST or a close frame: the connection ends, the process lives",
    async () => {
      await fc.assert(
        fc.asyncProperty(frameSession, async ({ route, frames, then }) => {
          await live();
          const replay = `upgrade ${route}, frames ${JSON.stringify(frames)}, then ${then}`;
          const client = await RawClient.connect(edge.port, route);
          for (const frame of frames) client.writeNow(encodeFrame(frame));
          if (then === "reset") client.reset();
          else if (then === "end") client.socket.end();
          else client.writeNow(encodeFrame({ opcode: Opcode.CLOSE, payload: closePayload(1000) }));
          const closed = await Promise.race([client.ended.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), END_WITHIN_MS))]);
          client.destroy();
          expect(closed, `the server kept the connection open after ${replay}`).toBe(true);
          await expectHealthy(replay);
        }),
        { numRuns: 60 * SCALE, interruptAfterTimeLimit: 150_000 * SCALE, markInterruptAsFailure: false },
      );
    },
    180_000 * SCALE,
  );

  it(
    "a TCP reset or a FIN at every byte offset of an upgrade pipelined behind a request",
    async () => {
      await live();
      const bytes = Buffer.from(httpRequest("GET", "/slow") + upgradeRequest("/deps?user=cut", { "Sec-WebSocket-Protocol": "a, b", Cookie: "user=c" }), "latin1");
      const offsets = Array.from({ length: bytes.length + 1 }, (_, i) => i);
      // A few at a time: bounded load, and the sweep stays well under a few seconds.
      for (let start = 0; start < offsets.length; start += 16) {
        const batch = offsets.slice(start, start + 16);
        const results = await Promise.all(
          batch.flatMap((offset) =>
            (["reset", "end"] as const).map(async (then) => ({
              offset,
              then,
              ...(await sendAndEnd(bytes, { cutAt: offset / bytes.length, then })),
            })),
          ),
        );
        for (const result of results) {
          expect(result.ended, `connection left open: cut at byte ${result.offset} then ${result.then} of ${JSON.stringify(bytes.toString("latin1"))}`).toBe(true);
        }
        expect(edge.child.exitCode, edge.stderr()).toBeNull();
      }
      await expectHealthy("the offset sweep");
    },
    60_000 * SCALE,
  );

  it("afterwards: no connection is left open, and memory is back near its baseline", async () => {
    expect(restarted, "a case above killed the server").toBe(false);
    let sample = await edge.sample(true);
    for (let i = 0; i < 50 && sample.stats.open > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      sample = await edge.sample(true);
    }
    expect(sample.stats.open).toBe(0);
    expect(sample.stats.dependencies.released).toBe(sample.stats.dependencies.acquired);
    // Heap after full collections is the honest measure; RSS only has to stay in sight of where it started.
    expect(sample.heapUsed - baseline.heapUsed, `heap ${sample.heapUsed} vs baseline ${baseline.heapUsed}`).toBeLessThan(8 * MiB);
    expect(sample.rss - baseline.rss, `rss ${sample.rss} vs baseline ${baseline.rss}`).toBeLessThan(64 * MiB);
  }, 30_000);
});
