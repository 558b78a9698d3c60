/**
 * src/transport/handshake.ts on its own: the RFC 6455 §4.2.1 checks on an opening handshake
 * (method, Upgrade, Sec-WebSocket-Key, Sec-WebSocket-Version) and the parsing of the offered
 * subprotocols, with the exact status, message and headers of each refusal.
 */
import fc from "fast-check";
import type { IncomingHttpHeaders } from "node:http";
import { describe, expect, test } from "vitest";
import { handshakeProblem, parseSubprotocols } from "../../src/transport/handshake.js";

const RUNS = process.env.STATEWIRE_DEEP === "1" ? 20_000 : process.env.STATEWIRE_MUTATION === "1" ? 100 : 1_000;

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const valid: IncomingHttpHeaders = { upgrade: "websocket", "sec-websocket-key": KEY, "sec-websocket-version": "13" };
const badRequest = (message: string, headers: Record<string, string> = {}) => ({ status: 400, message, headers });

describe("handshakeProblem", () => {
  test("a valid handshake has no problem, with version 13 or 8 and any case of 'websocket'", () => {
    expect(handshakeProblem("GET", valid)).toBeUndefined();
    expect(handshakeProblem("GET", { ...valid, "sec-websocket-version": "8" })).toBeUndefined();
    expect(handshakeProblem("GET", { ...valid, upgrade: "WebSocket" })).toBeUndefined();
    expect(handshakeProblem("GET", { ...valid, "sec-websocket-protocol": "chat, superchat" })).toBeUndefined();
  });

  test.each([undefined, "POST", "get", "HEAD"])("method %s is 405", (method) => {
    expect(handshakeProblem(method, valid)).toStrictEqual({ status: 405, message: "Invalid HTTP method", headers: {} });
  });

  test.each([undefined, "", "h2c", "websocket2", "web socket"])("Upgrade %s is 400", (upgrade) => {
    expect(handshakeProblem("GET", { ...valid, upgrade })).toStrictEqual(badRequest("Invalid Upgrade header"));
  });

  test.each([
    undefined,
    "",
    "dGhlIHNhbXBsZSBub25jZQ=", // one '=' short
    "dGhlIHNhbXBsZSBub25jZ==", // 21 characters before '=='
    "dGhlIHNhbXBsZSBub25jZQQ==", // 23
    "dGhlIHNhbXBsZSBub25jZQ==x",
    "xdGhlIHNhbXBsZSBub25jZQ==".slice(0, 1) + KEY, // extra leading character
    "dGhlIHNhbXBsZSBub25j-Q==", // '-' is not base64
  ])("Sec-WebSocket-Key %s is 400", (key) => {
    expect(handshakeProblem("GET", { ...valid, "sec-websocket-key": key })).toStrictEqual(badRequest("Missing or invalid Sec-WebSocket-Key header"));
  });

  test("a key may use every base64 character, '+' and '/' included", () => {
    expect(handshakeProblem("GET", { ...valid, "sec-websocket-key": "+/09AZaz+/09AZaz+/09AZ==" })).toBeUndefined();
  });

  test.each([undefined, "", "12", "14", "13, 8", " 13"])("Sec-WebSocket-Version %s is 400, naming the versions we speak", (version) => {
    expect(handshakeProblem("GET", { ...valid, "sec-websocket-version": version })).toStrictEqual(
      badRequest("Missing or invalid Sec-WebSocket-Version header", { "Sec-WebSocket-Version": "13, 8" }),
    );
  });

  test.each(["", "chat,,superchat", "chat, chat", "ch at", "chat/1"])(
    "Sec-WebSocket-Protocol %j is left to parseSubprotocols (parsed once, by the app, for every transport)",
    (protocol) => {
      expect(handshakeProblem("GET", { ...valid, "sec-websocket-protocol": protocol })).toBeUndefined();
      expect(parseSubprotocols(protocol)).toBeUndefined();
    },
  );

  test("more than 64 subprotocols is malformed; exactly 64 parse", () => {
    const names = Array.from({ length: 65 }, (_, i) => `p${i}`);
    expect(parseSubprotocols(names.join(","))).toBeUndefined();
    expect(parseSubprotocols(names.slice(0, 64).join(","))).toStrictEqual(names.slice(0, 64));
  });

  test("checks in order: method, Upgrade, key, version", () => {
    const allWrong: IncomingHttpHeaders = { upgrade: "h2c", "sec-websocket-key": "x", "sec-websocket-version": "1", "sec-websocket-protocol": "," };
    expect(handshakeProblem("POST", allWrong)?.message).toBe("Invalid HTTP method");
    expect(handshakeProblem("GET", allWrong)?.message).toBe("Invalid Upgrade header");
    expect(handshakeProblem("GET", { ...allWrong, upgrade: "websocket" })?.message).toBe("Missing or invalid Sec-WebSocket-Key header");
    expect(handshakeProblem("GET", { ...allWrong, upgrade: "websocket", "sec-websocket-key": KEY })?.message).toBe(
      "Missing or invalid Sec-WebSocket-Version header",
    );
  });
});

describe("parseSubprotocols", () => {
  test("no header offers nothing", () => {
    expect(parseSubprotocols(undefined)).toStrictEqual([]);
  });

  test("keeps the client's order and trims the spaces around entries", () => {
    expect(parseSubprotocols("chat")).toStrictEqual(["chat"]);
    expect(parseSubprotocols("v2.chat,  v1.chat ,x")).toStrictEqual(["v2.chat", "v1.chat", "x"]);
    expect(parseSubprotocols("!#$%&'*+-.^_`|~09AZaz")).toStrictEqual(["!#$%&'*+-.^_`|~09AZaz"]);
  });

  test.each(["", " ", "a,", ",a", "a,,b", "a b", "a;b", "a/b", "(a)", 'a"', "a,a", "a, b, a", "é"])("%j is malformed", (header) => {
    expect(parseSubprotocols(header)).toBeUndefined();
  });

  test(`any list of distinct tokens round-trips, and a duplicate makes it malformed (${RUNS} runs)`, () => {
    const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/);
    fc.assert(
      fc.property(fc.uniqueArray(token, { minLength: 1, maxLength: 6 }), fc.constantFrom(",", ", ", " ,  "), (names, separator) => {
        expect(parseSubprotocols(names.join(separator))).toStrictEqual(names);
        expect(parseSubprotocols([...names, names[0]].join(separator))).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  });
});
