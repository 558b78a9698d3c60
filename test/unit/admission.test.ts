/**
 * src/connection/admission.ts on its own: what an error raised before accept means (a close
 * code, an HTTP denial, or a fault), and the order guards → dependencies → handler, against a
 * recording connection.
 */
import { describe, expect, test } from "vitest";
import { admit, type Admitted, closeCodeOf, refusalOf } from "../../src/connection/admission.js";
import { AppStats } from "../../src/connection/counting.js";
import { Interleaving } from "../../src/connection/interleaving.js";
import { ObserverHub } from "../../src/connection/observer.js";
import type { AnySocket } from "../../src/connection/socket.js";
import { provide } from "../../src/dependencies/provide.js";
import { HandshakeDenied, WebSocketError } from "../../src/wire/errors.js";

describe("refusalOf", () => {
  test("an error naming a valid close code closes with it, the reason cut to fit", () => {
    expect(refusalOf(new WebSocketError(4001, "nope"))).toStrictEqual({ kind: "close", code: 4001, reason: "nope" });
    const long = refusalOf(new WebSocketError(4001, "x".repeat(200)));
    expect(long.kind === "close" && Buffer.byteLength(long.reason)).toBe(123);
  });

  test("an invalid close code is not a close", () => {
    expect(closeCodeOf({ closeCode: 1005 })).toBeUndefined();
    expect(refusalOf({ closeCode: 1006 })).toStrictEqual({ kind: "fault" });
  });

  test("an error naming an HTTP status denies with it, its headers and body (or the status text)", () => {
    expect(refusalOf(new HandshakeDenied(401, "who?", { "www-authenticate": "Bearer" }))).toStrictEqual({
      kind: "deny",
      denial: { status: 401, headers: { "www-authenticate": "Bearer" }, body: "who?" },
    });
    expect(refusalOf({ statusCode: 429 })).toStrictEqual({ kind: "deny", denial: { status: 429, headers: {}, body: "Too Many Requests" } });
  });

  test("anything else is a fault of the app's code", () => {
    for (const error of [new Error("boom"), "text", undefined, null, { status: 200 }, { status: 600 }]) {
      expect(refusalOf(error)).toStrictEqual({ kind: "fault" });
    }
  });
});

function connection(options: { guards?: (socket: AnySocket) => Promise<void>; dependencies?: Record<string, ReturnType<typeof provide>> }): Admitted & { log: string[] } {
  const log: string[] = [];
  const socket = { params: {}, query: {}, headers: {}, cookies: {} } as unknown as AnySocket;
  const self: Admitted & { log: string[] } = {
    id: 7,
    messagesIn: 0,
    messagesOut: 0,
    lifecycle: "connecting",
    socket,
    client: { host: "127.0.0.1", port: 1 },
    dependencies: {},
    log,
    settings: {
      stats: new AppStats(),
      observers: new ObserverHub(),
      guards: options.guards,
      dependencies: options.dependencies,
      dependencyEvents: { acquired: (name) => void log.push(`acquired ${name}`), released: () => {} },
      interleaving: new Interleaving(),
    },
    adoptScope: () => void log.push("scope"),
    startHandler: () => void log.push(`handler ${JSON.stringify(self.dependencies)}`),
    refuse: (error, what) => void log.push(`refuse ${what}: ${String(error)}`),
  };
  return self;
}

const turns = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("admit", () => {
  test("guards, then dependencies (counted), then the handler", async () => {
    const c = connection({ guards: async () => void c.log.push("guards"), dependencies: { db: provide(() => "pool") } });
    await admit(c);
    await turns();
    expect(c.log).toStrictEqual(["guards", "scope", "acquired db", 'handler {"db":"pool"}']);
    expect(c.settings.stats.dependenciesAcquired).toBe(1);
  });

  test("a guard that throws refuses; nothing after it runs", async () => {
    const c = connection({ guards: () => Promise.reject(new Error("no")), dependencies: { db: provide(() => "pool") } });
    await admit(c);
    await turns();
    expect(c.log).toStrictEqual(["refuse guard failed: Error: no"]);
  });

  test("a guard that answered the handshake itself (or a client that left) ends admission quietly", async () => {
    const c = connection({
      guards: async () => {
        (c as { lifecycle: string }).lifecycle = "closed";
      },
    });
    await admit(c);
    expect(c.log).toStrictEqual([]);
  });

  test("a provider that fails refuses; one that settles after the client left starts nothing", async () => {
    const failing = connection({ dependencies: { db: provide(() => Promise.reject(new Error("down"))) } });
    await admit(failing);
    await turns();
    expect(failing.log).toStrictEqual(["scope", "refuse dependency provider failed: Error: down"]);

    const late = connection({ dependencies: { db: provide(() => "pool") } });
    await admit(late);
    (late as { lifecycle: string }).lifecycle = "closed";
    await turns();
    expect(late.log.some((line) => line.startsWith("handler"))).toBe(false);
  });
});
