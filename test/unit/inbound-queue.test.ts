/**
 * src/connection/inbound-queue.ts on its own: the one rule of inbound flow control that the
 * mailbox and the pipeline share — wire order, pause at the first mark reached (messages or
 * bytes), resume once caught up to half of both, and `clear()` reading again.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { InboundQueue, type InboundBound, type InboundMessage } from "../../src/connection/inbound-queue.js";

class Probe extends InboundQueue {
  push(data: Buffer, isBinary = false): void {
    this.enqueue(data, isBinary);
  }
  take(): InboundMessage {
    const { data, isBinary } = this.dequeue();
    return { data, isBinary };
  }
  drop(): void {
    this.clear();
  }
}

function probe(inboundHighWater: number, inboundHighWaterBytes = Infinity): { queue: Probe; flow: string[] } {
  const flow: string[] = [];
  const bound: InboundBound = { pause: () => void flow.push("pause"), resume: () => void flow.push("resume"), inboundHighWater, inboundHighWaterBytes };
  return { queue: new Probe(bound), flow };
}

describe("InboundQueue", () => {
  test("keeps wire order and frame kinds", () => {
    const { queue } = probe(100);
    queue.push(Buffer.from("a"), false);
    queue.push(Buffer.from("b"), true);
    expect(queue.size).toBe(2);
    expect(queue.take()).toStrictEqual({ data: Buffer.from("a"), isBinary: false });
    expect(queue.take()).toStrictEqual({ data: Buffer.from("b"), isBinary: true });
    expect(queue.size).toBe(0);
  });

  test("pauses once at the message mark and resumes at half of it", () => {
    const { queue, flow } = probe(4);
    for (let i = 0; i < 3; i++) queue.push(Buffer.from("x"));
    expect(flow).toStrictEqual([]);
    queue.push(Buffer.from("x"));
    queue.push(Buffer.from("x"));
    expect(flow).toStrictEqual(["pause"]);
    queue.take();
    queue.take();
    expect(flow).toStrictEqual(["pause"]); // 3 left, above 2
    queue.take();
    expect(flow).toStrictEqual(["pause", "resume"]);
  });

  test("pauses at the byte mark first when messages are large, and resumes only when both are at half", () => {
    const { queue, flow } = probe(100, 10);
    queue.push(Buffer.alloc(6));
    expect(flow).toStrictEqual([]);
    queue.push(Buffer.alloc(6));
    expect(flow).toStrictEqual(["pause"]);
    queue.take(); // 6 bytes left, above 5
    expect(flow).toStrictEqual(["pause"]);
    queue.take();
    expect(flow).toStrictEqual(["pause", "resume"]);
  });

  test("clear() drops everything and reads again", () => {
    const { queue, flow } = probe(2);
    queue.push(Buffer.from("a"));
    queue.push(Buffer.from("b"));
    queue.drop();
    expect(queue.size).toBe(0);
    expect(flow).toStrictEqual(["pause", "resume"]);
    queue.drop();
    expect(flow).toStrictEqual(["pause", "resume"]);
  });

  test("any interleaving: wire order kept, size tracked, pause and resume strictly alternate", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 64 }), fc.array(fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constant(-1)), { maxLength: 200 }), (highWater, highWaterBytes, ops) => {
        const { queue, flow } = probe(highWater, highWaterBytes);
        const model: number[] = [];
        let sent = 0;
        for (const op of ops) {
          if (op >= 0) {
            const data = Buffer.alloc(op, sent % 256);
            queue.push(data);
            model.push(sent++);
          } else if (model.length > 0) {
            const message = queue.take();
            const expected = model.shift()!;
            expect(message.data.length === 0 || message.data[0] === expected % 256).toBe(true);
          }
          expect(queue.size).toBe(model.length);
        }
        flow.forEach((step, index) => expect(step).toBe(index % 2 === 0 ? "pause" : "resume"));
      }),
      { numRuns: 300 },
    );
  });
});
