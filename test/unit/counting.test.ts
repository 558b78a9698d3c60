/**
 * src/connection/counting.ts on its own: each event is counted once, in one place — on the
 * connection, in `AppStats`, and told to the observers (only when one is attached).
 */
import { describe, expect, test } from "vitest";
import {
  AppStats,
  countDependencyAcquired,
  countDependencyReleased,
  countDiscarded,
  countDropped,
  countFault,
  countHandlerFinished,
  countHandlerStarted,
  countIn,
  countOut,
  type Counted,
} from "../../src/connection/counting.js";
import { ObserverHub } from "../../src/connection/observer.js";

function counted(): Counted & { seen: string[] } {
  const seen: string[] = [];
  const observers = new ObserverHub();
  return { id: 3, messagesIn: 0, messagesOut: 0, settings: { stats: new AppStats(), observers }, seen };
}

describe("counting", () => {
  test("with no observer: the counters move and nothing else is called", () => {
    const c = counted();
    countIn(c, Buffer.from("abc"), false);
    countOut(c, "héllo", false);
    countDropped(c, new Uint8Array(4));
    countDiscarded(c);
    countHandlerStarted(c);
    countHandlerFinished(c);
    countFault(c, new Error("x"));
    countDependencyAcquired(c, "db");
    countDependencyReleased(c, "db", undefined);
    countDependencyReleased(c, "cache", new Error("release failed"));
    expect([c.messagesIn, c.messagesOut]).toStrictEqual([1, 1]);
    expect({ ...c.settings.stats }).toMatchObject({
      messagesDropped: 1,
      messagesDiscarded: 1,
      handlersStarted: 1,
      handlersFinished: 1,
      errors: 2,
      dependenciesAcquired: 1,
      dependenciesReleased: 2,
    });
  });

  test("observers hear each event with its connection id and byte size (UTF-8 for strings)", () => {
    const c = counted();
    const seen: unknown[][] = [];
    c.settings.observers.add({
      messageIn: (id, size, isBinary) => void seen.push(["in", id, size, isBinary]),
      messageOut: (id, size, isBinary) => void seen.push(["out", id, size, isBinary]),
      messageDropped: (id, size) => void seen.push(["dropped", id, size]),
      handlerStarted: (id) => void seen.push(["started", id]),
      handlerFinished: (id) => void seen.push(["finished", id]),
      handlerError: (id) => void seen.push(["error", id]),
      dependencyAcquired: (id, name) => void seen.push(["acquired", id, name]),
      dependencyReleased: (id, name, error) => void seen.push(["released", id, name, error === undefined]),
    });
    countIn(c, Buffer.from("abc"), true);
    countOut(c, "héllo", false);
    countDropped(c, "ab");
    countHandlerStarted(c);
    countHandlerFinished(c);
    countFault(c, new Error("x"));
    countDependencyAcquired(c, "db");
    countDependencyReleased(c, "db", undefined);
    expect(seen).toStrictEqual([
      ["in", 3, 3, true],
      ["out", 3, 6, false],
      ["dropped", 3, 2],
      ["started", 3],
      ["finished", 3],
      ["error", 3],
      ["acquired", 3, "db"],
      ["released", 3, "db", true],
    ]);
  });
});
