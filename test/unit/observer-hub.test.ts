/**
 * src/connection/observer.ts: the batched `messagesHandled` report. An observer with the batched
 * method hears a batch once, with its count; one with only `messageHandled` hears every message;
 * a throwing observer breaks neither the others nor the hub. And a property: whatever the batches,
 * both kinds of observer account for the same messages with the same durations.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { ObserverHub } from "../../src/connection/observer.js";
import { HistogramSeries } from "../../src/metrics/route-histogram.js";

describe("ObserverHub.messagesHandled", () => {
  test("the batched observer is called once per batch, the per-message one once per message", () => {
    const hub = new ObserverHub();
    const batched: [number, number, number][] = [];
    const single: [number, number][] = [];
    hub.add({ messagesHandled: (id, ms, count) => void batched.push([id, ms, count]) });
    hub.add({ messageHandled: (id, ms) => void single.push([id, ms]) });
    hub.messagesHandled(7, 1.5, 3);
    expect(batched).toStrictEqual([[7, 1.5, 3]]);
    expect(single).toStrictEqual([
      [7, 1.5],
      [7, 1.5],
      [7, 1.5],
    ]);
  });

  test("an observer with both methods is called through the batched one only", () => {
    const hub = new ObserverHub();
    const calls: string[] = [];
    hub.add({ messagesHandled: (_id, _ms, count) => void calls.push(`batch ${count}`), messageHandled: () => void calls.push("single") });
    hub.messagesHandled(1, 0, 4);
    expect(calls).toStrictEqual(["batch 4"]);
  });

  test("a throwing observer breaks neither the hub nor the observers after it", () => {
    const hub = new ObserverHub();
    const heard: number[] = [];
    hub.add({
      messagesHandled: () => {
        throw new Error("observer bug");
      },
    });
    hub.add({ messagesHandled: (_id, _ms, count) => void heard.push(count) });
    expect(() => hub.messagesHandled(1, 0, 2)).not.toThrow();
    expect(heard).toStrictEqual([2]);
  });

  test("property: batched and per-message observers account for the same messages; a histogram fed either way is the same", () => {
    const batch = fc.record({ id: fc.integer({ min: 1, max: 5 }), ms: fc.double({ min: 0, max: 5000, noNaN: true }), count: fc.integer({ min: 1, max: 40 }) });
    fc.assert(
      fc.property(fc.array(batch, { maxLength: 30 }), (batches) => {
        const bounds = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];
        const byBatch = new HistogramSeries("/r", bounds);
        const byMessage = new HistogramSeries("/r", bounds);
        const hub = new ObserverHub();
        hub.add({ messagesHandled: (_id, ms, count) => byBatch.observe(ms / 1000, count) });
        hub.add({ messageHandled: (_id, ms) => byMessage.observe(ms / 1000, 1) });
        for (const { id, ms, count } of batches) hub.messagesHandled(id, ms, count);
        expect(byBatch.count).toBe(byMessage.count);
        expect([...byBatch.counts]).toStrictEqual([...byMessage.counts]);
        expect(byBatch.sum).toBeCloseTo(byMessage.sum, 6);
        expect(byBatch.count).toBe(batches.reduce((n, b) => n + b.count, 0));
      }),
      { numRuns: 500 },
    );
  });
});
