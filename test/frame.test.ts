/**
 * The server frames the ws transport builds itself (src/transport/frame.ts) are the frames `ws`'s
 * own sender builds, byte for byte, for any text and any bytes below the sizes it builds; the
 * one reused text frame is only ever the frame of equal text; a Buffer refilled after its send
 * does not change the frame already queued.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createRequire } from "node:module";
import { bytesFrame, textFrame, utf8Length } from "../src/transport/frame.js";

/** ws's sender, which ws exports at run time though its types do not declare it. */
const { Sender } = createRequire(import.meta.url)("ws") as {
  Sender: { frame(data: Buffer, options: Record<string, unknown>): Buffer[] };
};

const DEEP = process.env.STATEWIRE_DEEP === "1";
const RUNS = DEEP ? 20_000 : 1_000;

/** What ws's sender writes for one unmasked, final frame (header and payload joined). */
function wsFrame(data: Buffer, opcode: number): Buffer {
  return Buffer.concat(Sender.frame(data, { fin: true, opcode, mask: false, readOnly: false, rsv1: false }));
}

describe("frames built by the transport", () => {
  it("a text frame is ws's frame of the UTF-8 bytes, whatever the text (lone surrogates included)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary", maxLength: 1023 }), fc.string({ unit: "grapheme", maxLength: 300 })), (text) => {
        expect(textFrame(text).equals(wsFrame(Buffer.from(text, "utf8"), 1))).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it("the reused frame is the frame of equal text only, in any order of sends", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom("", "a", "b", "ä", "x".repeat(126), "x".repeat(125)), { maxLength: 30 }), (texts) => {
        for (const text of texts) expect(textFrame(text).equals(wsFrame(Buffer.from(text, "utf8"), 1))).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it("a bytes frame is ws's frame of the bytes (binary or text), and a copy of them", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1023 }), fc.boolean(), (bytes, isBinary) => {
        const expected = wsFrame(Buffer.from(bytes), isBinary ? 2 : 1);
        const frame = bytesFrame(bytes, isBinary);
        bytes.fill(0xee);
        expect(frame.equals(expected)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});

describe("utf8Length: a reply's byte count for observers", () => {
  it("is the UTF-8 length of any text, whether it was the text just framed or not", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 300 }), fc.string({ unit: "grapheme", maxLength: 300 }), (framed, other) => {
        textFrame(framed);
        expect(utf8Length(framed)).toBe(Buffer.byteLength(framed, "utf8"));
        expect(utf8Length(other)).toBe(Buffer.byteLength(other, "utf8"));
      }),
      { numRuns: RUNS },
    );
  });
});
