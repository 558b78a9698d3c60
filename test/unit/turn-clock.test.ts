import { afterEach, describe, expect, test, vi } from "vitest";
import { arrivalTime, type HandledMessages, reportHandled } from "../../src/connection/turn-clock.js";

function hub(): HandledMessages & { reports: [number, number][] } {
  const reports: [number, number][] = [];
  return {
    active: true,
    reports,
    messagesHandled: (id, durationMs, count) => {
      for (let n = 0; n < count; n++) reports.push([id, durationMs]);
    },
  };
}

describe("turn clock: the message-handling latency's clock, read once per turn", () => {
  afterEach(() => void vi.restoreAllMocks());

  test("messages of one turn share their arrival; the next turn reads the clock again", async () => {
    const now = vi.spyOn(performance, "now");
    const first = arrivalTime();
    expect(arrivalTime()).toBe(first);
    expect(now).toHaveBeenCalledTimes(1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(arrivalTime()).toBeGreaterThan(first);
    expect(now).toHaveBeenCalledTimes(2);
  });

  test("every handled message is reported once, to its own observers and connection, at the turn's end", async () => {
    const a = hub();
    const b = hub();
    const arrivedAt = arrivalTime();
    // Interleaved connections and observers: runs break, none is lost or merged wrongly.
    reportHandled(a, 1, arrivedAt);
    reportHandled(a, 1, arrivedAt);
    reportHandled(a, 2, arrivedAt);
    reportHandled(b, 1, arrivedAt);
    reportHandled(a, 1, arrivedAt);
    reportHandled(a, 1, arrivedAt - 40);
    expect(a.reports).toStrictEqual([]);
    await Promise.resolve();
    expect(a.reports.map(([id]) => id)).toStrictEqual([1, 1, 2, 1, 1]);
    expect(b.reports.map(([id]) => id)).toStrictEqual([1]);
    expect(a.reports.every(([, ms]) => ms >= 0)).toBe(true);
    expect(a.reports[4]![1]).toBeGreaterThanOrEqual(40);
    // The batch is emptied: nothing is reported twice.
    await new Promise((resolve) => setTimeout(resolve, 1));
    expect(a.reports).toHaveLength(5);
  });

  test("observers detached before the turn's end are not told", async () => {
    const a = hub();
    reportHandled(a, 1, arrivalTime());
    (a as { active: boolean }).active = false;
    await Promise.resolve();
    expect(a.reports).toStrictEqual([]);
  });
});

describe("turn clock: a throwing watcher", () => {
  test("breaks neither the other watchers of its turn nor later turns", async () => {
    const throwing: HandledMessages = {
      active: true,
      messagesHandled: () => {
        throw new Error("observer bug");
      },
    };
    const a = hub();
    const first = arrivalTime();
    reportHandled(throwing, 1, first);
    reportHandled(a, 2, first);
    await Promise.resolve();
    expect(a.reports.map(([id]) => id)).toStrictEqual([2]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = arrivalTime();
    expect(second).toBeGreaterThan(first);
    reportHandled(a, 3, second);
    await Promise.resolve();
    expect(a.reports.map(([id]) => id)).toStrictEqual([2, 3]);
  });
});
