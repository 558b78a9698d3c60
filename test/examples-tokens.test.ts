/**
 * The examples that authenticate (examples/dependencies.ts by `?token=`, examples/class-chat.ts by
 * `Authorization: Bearer`) accept only their own tokens: not a name every object inherits
 * (`constructor`, `__proto__`, `toString`, …), not any other string. Examples are what users copy,
 * so a lookup that reads the prototype chain would ship. Also the query object the runtime hands
 * to handlers: a parameter named after an Object.prototype property is an ordinary parameter.
 * 300 runs per property in `npm test`, 5 000 with STATEWIRE_DEEP=1.
 */
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { app as chatApp } from "../examples/class-chat.js";
import { app as dependenciesApp } from "../examples/dependencies.js";
import { createApp, websocket } from "../src/index.js";
import { HandshakeRejected, testClient } from "../src/testing/index.js";

const DEEP = process.env.STATEWIRE_DEEP === "1";
const RUNS = DEEP ? 5_000 : 300;
const VALID = new Set(["alice-token", "bob-token"]);

const inherited = [...new Set([...Object.getOwnPropertyNames(Object.prototype), "__proto__", "prototype", "hasOwnProperty", "valueOf"])];

/** Strings an attacker would try: inherited names, their case and space variants, near-misses of real tokens, anything. */
const hostileToken = fc
  .oneof(
    fc.constantFrom(...inherited),
    fc.constantFrom(...inherited).map((name) => ` ${name}`),
    fc.constantFrom(...inherited).map((name) => name.toUpperCase()),
    fc.constantFrom("alice-token ", " alice-token", "alice-token\t", "Alice-token", "alice", "alice-token2", "bob", "bob-tokenx"),
    fc.string({ minLength: 1, maxLength: 40 }),
  )
  .filter((token) => !VALID.has(token));

/** Header-safe: visible ASCII and inner spaces (what a client can put after `Bearer `). */
const headerSafe = (token: string): boolean => /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(token);

const deps = testClient(dependenciesApp);
const chat = testClient(chatApp);
afterAll(async () => {
  await deps.close();
  await chat.close();
});

describe("examples/dependencies.ts: ?token=", () => {
  test("constructor and __proto__ are refused with 403", async () => {
    for (const token of ["constructor", "__proto__", "toString"]) {
      const refused = await deps.connect(`/listener/secured?token=${token}`).catch((error: unknown) => error);
      expect(refused, token).toBeInstanceOf(HandshakeRejected);
      expect((refused as HandshakeRejected).status).toBe(403);
    }
  });

  test("property: every hostile token is refused with 403", async () => {
    await fc.assert(
      fc.asyncProperty(hostileToken, async (token) => {
        const refused = await deps.connect(`/listener/secured?token=${encodeURIComponent(token)}`).catch((error: unknown) => error);
        expect(refused).toBeInstanceOf(HandshakeRejected);
        expect((refused as HandshakeRejected).status).toBe(403);
      }),
      { numRuns: RUNS },
    );
  });

  test("the real tokens still pass", async () => {
    const alice = await deps.connect("/listener/secured?token=alice-token");
    alice.sendText("x");
    expect(await alice.receiveText()).toBe("Hello Alice, you sent: x");
    await alice.close();
  });
});

describe("examples/class-chat.ts: Authorization: Bearer", () => {
  const closedWith = async (authorization: string): Promise<number> => {
    const socket = await chat.connect("/class/chat", { headers: { authorization } });
    return (await socket.closed).code;
  };

  test("Bearer __proto__ and Bearer constructor close with 4001", async () => {
    expect(await closedWith("Bearer __proto__")).toBe(4001);
    expect(await closedWith("Bearer constructor")).toBe(4001);
  });

  test("property: every hostile bearer token closes with 4001", async () => {
    await fc.assert(
      fc.asyncProperty(hostileToken.filter(headerSafe), async (token) => {
        expect(await closedWith(`Bearer ${token}`)).toBe(4001);
      }),
      { numRuns: RUNS },
    );
  });

  test("the real token joins the room", async () => {
    const alice = await chat.connect("/class/chat", { headers: { authorization: "Bearer alice-token" } });
    alice.sendText("hi");
    expect(await alice.receiveText()).toBe("Alice: hi");
    await alice.close();
  });
});

describe("socket.query", () => {
  test("a parameter named like an Object.prototype property is a parameter, and an absent one is undefined", async () => {
    const app = createApp({
      routes: [
        websocket("/q", async (socket) => {
          await socket.accept();
          const { query } = socket;
          await socket.sendJson({ constructor: query.constructor ?? null, toString: query.toString ?? null, valueOf: query.valueOf ?? null, a: query.a ?? null });
          await socket.close();
        }),
      ],
    });
    const client = testClient(app);
    try {
      const socket = await client.connect("/q?constructor=c&toString=t&a=1");
      expect(await socket.receiveJson()).toEqual({ constructor: "c", toString: "t", valueOf: null, a: "1" });
    } finally {
      await client.close();
    }
  });
});
