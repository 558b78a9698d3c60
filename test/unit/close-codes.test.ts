/**
 * src/wire/close-codes.ts on its own: which codes may go in a close frame (RFC 6455 §7.4),
 * the 123-byte reason limit, the truncation that keeps a reason inside it on a character
 * boundary, and the names of codes.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  assertCloseFrame,
  CloseCode,
  closeCodeName,
  isValidCloseCode,
  MAX_CLOSE_REASON_BYTES,
  truncateReason,
} from "../../src/wire/close-codes.js";

const RUNS = process.env.STATEWIRE_DEEP === "1" ? 50_000 : process.env.STATEWIRE_MUTATION === "1" ? 100 : 1_000;
const bytes = (text: string): number => Buffer.byteLength(text, "utf8");

describe("isValidCloseCode", () => {
  test.each([
    [999, false],
    [1000, true],
    [1001, true],
    [1002, true],
    [1003, true],
    [1004, false],
    [1005, false],
    [1006, false],
    [1007, true],
    [1011, true],
    [1012, true],
    [1013, true],
    [1014, true],
    [1015, false],
    [1016, false],
    [2999, false],
    [3000, true],
    [3999, true],
    [4000, true],
    [4999, true],
    [5000, false],
    [0, false],
    [-1000, false],
    [1000.5, false],
    [3000.25, false],
    [Number.NaN, false],
    [Number.POSITIVE_INFINITY, false],
  ])("%d → %s", (code, valid) => {
    expect(isValidCloseCode(code)).toBe(valid);
  });

  test("agrees with the RFC's ranges on every integer from 0 to 6000", () => {
    const disagreements: number[] = [];
    for (let code = 0; code <= 6000; code++) {
      const expected = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
      if (isValidCloseCode(code) !== expected) disagreements.push(code);
    }
    expect(disagreements).toStrictEqual([]);
  });

  test("every named code is valid except the two reserved ones", () => {
    const invalid = Object.entries(CloseCode)
      .filter(([, code]) => !isValidCloseCode(code))
      .map(([name]) => name);
    expect(invalid).toStrictEqual(["NO_STATUS_RECEIVED", "ABNORMAL_CLOSURE"]);
  });
});

describe("assertCloseFrame", () => {
  test("accepts a valid code with an empty reason and with a reason of exactly 123 bytes", () => {
    expect(() => assertCloseFrame(1000, "")).not.toThrow();
    expect(() => assertCloseFrame(4999, "x".repeat(123))).not.toThrow();
    // 41 three-byte characters: 123 bytes, 41 characters.
    expect(() => assertCloseFrame(3000, "€".repeat(41))).not.toThrow();
  });

  test.each([999, 1004, 1005, 1006, 1015, 2999, 5000, 1000.5])("refuses code %d with a RangeError naming it and the valid ranges", (code) => {
    expect(() => assertCloseFrame(code, "")).toThrow(
      new RangeError(
        `Invalid close code ${code}: use 1000-1003, 1007-1014 or 3000-4999 (RFC 6455 §7.4); 1005 and 1006 are reserved and never sent`,
      ),
    );
  });

  test("refuses a reason of 124 bytes, counting UTF-8 bytes not characters", () => {
    expect(() => assertCloseFrame(1000, "x".repeat(124))).toThrow(
      new RangeError("Close reason is 124 bytes of UTF-8; at most 123 fit in a close frame"),
    );
    // 42 characters, 126 bytes.
    expect(() => assertCloseFrame(1000, "€".repeat(42))).toThrow(
      new RangeError("Close reason is 126 bytes of UTF-8; at most 123 fit in a close frame"),
    );
  });

  test("checks the code before the reason", () => {
    expect(() => assertCloseFrame(1005, "x".repeat(200))).toThrow(/^Invalid close code 1005:/);
  });

  test("throws a RangeError, not another kind of error", () => {
    expect(() => assertCloseFrame(1006, "")).toThrow(RangeError);
    expect(() => assertCloseFrame(1000, "x".repeat(124))).toThrow(RangeError);
  });
});

describe("closeCodeName", () => {
  test("names every registered code", () => {
    for (const [name, code] of Object.entries(CloseCode)) expect(closeCodeName(code)).toBe(name);
  });

  test.each([
    [1000, "NORMAL_CLOSURE"],
    [1001, "GOING_AWAY"],
    [1005, "NO_STATUS_RECEIVED"],
    [1006, "ABNORMAL_CLOSURE"],
    [1011, "INTERNAL_ERROR"],
    [1014, "BAD_GATEWAY"],
    [1004, "UNKNOWN"],
    [1015, "UNKNOWN"],
    [999, "UNKNOWN"],
    [2999, "UNKNOWN"],
    [3000, "REGISTERED"],
    [3999, "REGISTERED"],
    [4000, "PRIVATE_USE"],
    [4001, "PRIVATE_USE"],
    [4999, "PRIVATE_USE"],
    [5000, "UNKNOWN"],
  ])("%d → %s", (code, name) => {
    expect(closeCodeName(code)).toBe(name);
  });
});

describe("truncateReason", () => {
  test("leaves a reason of up to 123 bytes alone, byte for byte", () => {
    expect(truncateReason("")).toBe("");
    expect(truncateReason("bye")).toBe("bye");
    const exact = "x".repeat(MAX_CLOSE_REASON_BYTES);
    expect(truncateReason(exact)).toBe(exact);
    const multiByte = "€".repeat(41); // 123 bytes
    expect(truncateReason(multiByte)).toBe(multiByte);
  });

  test("cuts a 124-byte ASCII reason to 120 characters and an ellipsis: 123 bytes", () => {
    const cut = truncateReason("x".repeat(124));
    expect(cut).toBe(`${"x".repeat(120)}…`);
    expect(bytes(cut)).toBe(123);
  });

  test("cuts on a character boundary: three-byte characters fill 120 bytes exactly", () => {
    // 41 × "€" (3 bytes) + "x" = 124 bytes; 40 of them (120 bytes) + "…" (3) = 123.
    expect(truncateReason(`${"€".repeat(41)}x`)).toBe(`${"€".repeat(40)}…`);
  });

  test("never splits a four-byte character: 30 of them (120 bytes) fit, the 31st does not", () => {
    const cut = truncateReason("😀".repeat(40));
    expect(cut).toBe(`${"😀".repeat(30)}…`);
    expect(bytes(cut)).toBe(123);
  });

  test("stops before a character that would cross the limit, even when smaller ones follow", () => {
    // 119 ASCII bytes, then a 4-byte character (would make 126 with the ellipsis), then ASCII.
    const cut = truncateReason(`${"a".repeat(119)}😀bbbb`);
    expect(cut).toBe(`${"a".repeat(119)}…`);
    expect(bytes(cut)).toBe(122);
  });

  test(`any reason comes out at most 123 bytes, as a prefix plus "…" when cut (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 200 }), (reason) => {
        const cut = truncateReason(reason);
        expect(bytes(cut)).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
        if (bytes(reason) <= MAX_CLOSE_REASON_BYTES) {
          expect(cut).toBe(reason);
        } else {
          expect(cut.endsWith("…")).toBe(true);
          const kept = cut.slice(0, -1);
          expect(reason.startsWith(kept)).toBe(true);
          // Maximal: the next code point would not have fitted.
          const next = String.fromCodePoint(reason.codePointAt(kept.length)!);
          expect(bytes(kept) + bytes(next) + 3).toBeGreaterThan(MAX_CLOSE_REASON_BYTES);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
