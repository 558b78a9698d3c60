/**
 * src/codec/message-codec.ts on its own: what each `receive` kind makes of a frame (and the close
 * code a frame it cannot use calls for: 1003 for the wrong kind, 1007 for a bad payload), and
 * which frame each reply becomes.
 */
import * as effect from "effect";
import { describe, expect, test, vi } from "vitest";
import { adoptEffect, effectIfLoaded, preloadEffect } from "../../src/codec/effect.js";
import { createDecoder, createEncoder, type Decoded, directFrame, encodeNow, jsonText } from "../../src/codec/message-codec.js";
import { serialize } from "../../src/channels/payload.js";
import { encodeMsgpack } from "../../src/codec/msgpack.js";
import type { StandardSchemaResult, StandardSchemaV1 } from "../../src/codec/schema.js";

// The real effect.js, with two of its functions watched: whether a route preloads effect, and
// (for the tests of the loading path) what "effect is loaded" answers.
vi.mock("../../src/codec/effect.js", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../../src/codec/effect.js")>();
  return { ...actual, preloadEffect: vi.fn(actual.preloadEffect), effectIfLoaded: vi.fn(actual.effectIfLoaded) };
});

const { Schema } = effect;
// The codec loads effect lazily; this file has imported it already, so encoders answer synchronously.
adoptEffect(effect);

/** A hand-written Standard Schema: `check` answers, synchronously or (with `async`) as a promise. */
function standard(check: (value: unknown) => StandardSchemaResult<unknown>, async = false): StandardSchemaV1 {
  return {
    "~standard": {
      version: 1,
      vendor: "test",
      validate: (value) => (async ? Promise.resolve(check(value)) : check(value)),
    },
  };
}
/** Accepts `{ n: number }` and returns `{ n: n * 2 }`: a schema whose output differs from its input. */
const doubled = (async = false): StandardSchemaV1 =>
  standard((value) => {
    const n = (value as { n?: unknown } | null)?.n;
    return typeof n === "number" ? { value: { n: n * 2 } } : { issues: [{ message: "Expected a number", path: ["n"] }] };
  }, async);

const text = (value: string): Buffer => Buffer.from(value, "utf8");
const INVALID_UTF8 = Buffer.from([0x61, 0xff, 0x62]);
const ok = (value: unknown): Decoded<unknown> => ({ ok: true, value });
const refused = (code: 1003 | 1007, problem: string): Decoded<unknown> => ({ ok: false, code, problem });

describe("createDecoder", () => {
  test('"bytes" passes the frame\'s buffer through, and refuses the other frame kind with 1003', () => {
    const binary = createDecoder("bytes", "binary");
    const data = Buffer.from([1, 2, 3]);
    const decoded = binary(data, true) as { ok: true; value: unknown };
    expect(decoded).toStrictEqual(ok(data));
    expect(decoded.value).toBe(data);
    expect(binary(data, false)).toStrictEqual(refused(1003, "expected a binary message"));
    const textMode = createDecoder("bytes", "text");
    expect(textMode(data, false)).toStrictEqual(ok(data));
    expect(textMode(data, true)).toStrictEqual(refused(1003, "expected a text message"));
  });

  test('"text" decodes UTF-8; a text frame was checked by the transport, a binary one is checked here', () => {
    const textMode = createDecoder("text", "text");
    expect(textMode(text("héllo"), false)).toStrictEqual(ok("héllo"));
    expect(textMode(text("héllo"), true)).toStrictEqual(refused(1003, "expected a text message"));
    // Not checked again: the transport already failed such a text frame with 1007.
    expect(textMode(INVALID_UTF8, false)).toStrictEqual(ok("a\uFFFDb"));
    const binaryMode = createDecoder("text", "binary");
    expect(binaryMode(text("héllo"), true)).toStrictEqual(ok("héllo"));
    expect(binaryMode(INVALID_UTF8, true)).toStrictEqual(refused(1007, "invalid UTF-8"));
    expect(binaryMode(text("héllo"), false)).toStrictEqual(refused(1003, "expected a binary message"));
  });

  test('"json" parses, refusing bad JSON with 1007 and the wrong kind with 1003', () => {
    const json = createDecoder("json", "text");
    expect(json(text('{"a":[1,"x",null]}'), false)).toStrictEqual(ok({ a: [1, "x", null] }));
    expect(json(text("42"), false)).toStrictEqual(ok(42));
    expect(json(text("{nope"), false)).toStrictEqual(refused(1007, "invalid JSON"));
    expect(json(text("{}"), true)).toStrictEqual(refused(1003, "expected a text message"));
    const binary = createDecoder("json", "binary");
    expect(binary(text('"s"'), true)).toStrictEqual(ok("s"));
    expect(binary(text('"s"'), false)).toStrictEqual(refused(1003, "expected a binary message"));
  });

  test("a schema validates the parsed JSON and hands on its output; a failure is 1007 with the schema's problem", () => {
    const decode = createDecoder(doubled(), "text");
    expect(decode(text('{"n":2}'), false)).toStrictEqual(ok({ n: 4 }));
    expect(decode(text('{"n":"2"}'), false)).toStrictEqual(refused(1007, "n: expected a number"));
    expect(decode(text("{"), false)).toStrictEqual(refused(1007, "invalid JSON"));
    expect(decode(text('{"n":2}'), true)).toStrictEqual(refused(1003, "expected a text message"));
  });

  test("an effect schema validates synchronously", () => {
    const decode = createDecoder(Schema.Struct({ n: Schema.Number }), "text");
    expect(decode(text('{"n":1}'), false)).toStrictEqual(ok({ n: 1 }));
    const failed = decode(text('{"n":"1"}'), false) as { ok: false; code: number; problem: string };
    expect(failed).toStrictEqual({ ok: false, code: 1007, problem: expect.stringMatching(/^n: expected number/i) });
  });

  test("an asynchronous schema makes the decoder answer with a promise", async () => {
    const decode = createDecoder(doubled(true), "text");
    const pending = decode(text('{"n":5}'), false);
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toStrictEqual(ok({ n: 10 }));
    expect(await decode(text('{"n":null}'), false)).toStrictEqual(refused(1007, "n: expected a number"));
  });

  test("a schema's long problem is cut to fit a close reason", () => {
    const decode = createDecoder(
      standard(() => ({ issues: [{ message: "X".repeat(300) }] })),
      "text",
    );
    const result = decode(text("{}"), false) as { ok: false; problem: string };
    expect(result.problem).toBe(`${"x"}${"X".repeat(119)}…`);
    expect(Buffer.byteLength(result.problem)).toBe(123);
  });

  test('"msgpack" decodes binary frames; bad bytes are 1007, a text frame 1003', () => {
    const decode = createDecoder("msgpack", "binary");
    expect(decode(Buffer.from(encodeMsgpack({ a: [1, "b"] })), true)).toStrictEqual(ok({ a: [1, "b"] }));
    expect(decode(Buffer.from([0xc1]), true)).toStrictEqual(refused(1007, "invalid MessagePack"));
    expect(decode(Buffer.from(encodeMsgpack(1)), false)).toStrictEqual(refused(1003, "expected a binary message"));
  });

  test("{ msgpack: schema } validates the decoded value, synchronously or not", async () => {
    const decode = createDecoder({ msgpack: doubled() }, "binary");
    expect(decode(Buffer.from(encodeMsgpack({ n: 3 })), true)).toStrictEqual(ok({ n: 6 }));
    expect(decode(Buffer.from(encodeMsgpack({ n: "3" })), true)).toStrictEqual(refused(1007, "n: expected a number"));
    expect(decode(Buffer.from([0xc1]), true)).toStrictEqual(refused(1007, "invalid MessagePack"));
    expect(decode(Buffer.from(encodeMsgpack({ n: 3 })), false)).toStrictEqual(refused(1003, "expected a binary message"));
    const asyncDecode = createDecoder({ msgpack: doubled(true) }, "binary");
    const pending = asyncDecode(Buffer.from(encodeMsgpack({ n: 4 })), true);
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toStrictEqual(ok({ n: 8 }));
    expect(await asyncDecode(Buffer.from(encodeMsgpack({})), true)).toStrictEqual(refused(1007, "n: expected a number"));
  });

  test("a Standard Schema that happens to have a `msgpack` property is a JSON schema, not { msgpack }", () => {
    const schema = Object.assign(doubled(), { msgpack: "not a schema" });
    const decode = createDecoder(schema, "text");
    expect(decode(text('{"n":1}'), false)).toStrictEqual(ok({ n: 2 }));
  });
});

describe("createEncoder (JSON)", () => {
  const bytes = new Uint8Array([1, 2, 3]);

  test("undefined sends nothing; a string is a text frame; bytes a binary frame; anything else JSON text", () => {
    const encode = createEncoder(undefined, undefined);
    expect(encode(undefined)).toBeUndefined();
    expect(encode("hi")).toStrictEqual({ data: "hi", isBinary: false });
    const frame = encodeNow(encode, bytes)!;
    expect(frame).toStrictEqual({ data: bytes, isBinary: true });
    expect(frame.data).toBe(bytes);
    expect(encode(bytes.buffer)).toStrictEqual({ data: new Uint8Array([1, 2, 3]), isBinary: true });
    expect(encode({ a: 1, b: [true, null] })).toStrictEqual({ data: '{"a":1,"b":[true,null]}', isBinary: false });
    expect(encode(0)).toStrictEqual({ data: "0", isBinary: false });
    expect(encode(null)).toStrictEqual({ data: "null", isBinary: false });
  });

  test('sendMode "binary" sends strings and JSON as UTF-8 bytes in binary frames', () => {
    const encode = createEncoder("binary", undefined);
    expect(encode("hé")).toStrictEqual({ data: Buffer.from("hé", "utf8"), isBinary: true });
    expect(encode({ a: "é" })).toStrictEqual({ data: Buffer.from('{"a":"é"}', "utf8"), isBinary: true });
    expect(encode(bytes)).toStrictEqual({ data: bytes, isBinary: true });
  });

  test('sendMode "text" sends bytes in a text frame', () => {
    const encode = createEncoder("text", undefined);
    expect(encode(bytes)).toStrictEqual({ data: bytes, isBinary: false });
    expect(encode("s")).toStrictEqual({ data: "s", isBinary: false });
    expect(encode([1])).toStrictEqual({ data: "[1]", isBinary: false });
  });

  test("a value JSON cannot carry is a TypeError naming its type", () => {
    const encode = createEncoder(undefined, undefined);
    expect(() => encode(() => 1)).toThrow(new TypeError("Cannot send function as JSON"));
    expect(() => encode(Symbol("s"))).toThrow(new TypeError("Cannot send symbol as JSON"));
  });

  test("an effect send schema encodes before JSON", () => {
    const encode = createEncoder(undefined, Schema.Struct({ at: Schema.DateFromString }));
    expect(encode({ at: new Date(0) })).toStrictEqual({ data: '{"at":"1970-01-01T00:00:00.000Z"}', isBinary: false });
    // Strings and bytes are not the schema's business.
    expect(encode("raw")).toStrictEqual({ data: "raw", isBinary: false });
  });

  test("a Standard Schema send schema validates, and its output is what goes out", () => {
    const encode = createEncoder(undefined, doubled());
    expect(encode({ n: 1 })).toStrictEqual({ data: '{"n":2}', isBinary: false });
    expect(() => encode({ n: "1" })).toThrow(new TypeError("Reply does not match the send schema: Expected a number"));
    const noIssueText = createEncoder(undefined, standard(() => ({ issues: [] })));
    expect(() => noIssueText({})).toThrow(new TypeError("Reply does not match the send schema: invalid"));
    const asynchronous = createEncoder(undefined, doubled(true));
    expect(() => asynchronous({ n: 1 })).toThrow(new TypeError("A send schema must validate synchronously"));
  });
});

describe('createEncoder ("msgpack")', () => {
  const bytes = new Uint8Array([9, 8]);

  test("strings stay text, bytes stay binary, other values become MessagePack in binary frames", () => {
    const encode = createEncoder(undefined, undefined, "msgpack");
    expect(encode(undefined)).toBeUndefined();
    expect(encode("hi")).toStrictEqual({ data: "hi", isBinary: false });
    expect(encode(bytes)).toStrictEqual({ data: bytes, isBinary: true });
    expect(encode(bytes.buffer)).toStrictEqual({ data: new Uint8Array([9, 8]), isBinary: true });
    expect(encode({ a: 1 })).toStrictEqual({ data: encodeMsgpack({ a: 1 }), isBinary: true });
  });

  test("sendMode applies to strings and bytes", () => {
    expect(createEncoder("binary", undefined, "msgpack")("hé")).toStrictEqual({ data: Buffer.from("hé", "utf8"), isBinary: true });
    expect(createEncoder("text", undefined, "msgpack")(bytes)).toStrictEqual({ data: bytes, isBinary: false });
    expect(createEncoder("text", undefined, "msgpack")({ a: 1 })).toStrictEqual({ data: encodeMsgpack({ a: 1 }), isBinary: true });
  });

  test("a send schema prepares the value first", () => {
    const encode = createEncoder(undefined, doubled(), "msgpack");
    expect(encode({ n: 2 })).toStrictEqual({ data: encodeMsgpack({ n: 4 }), isBinary: true });
    expect(() => encode({})).toThrow(new TypeError("Reply does not match the send schema: Expected a number"));
  });
});

describe("effect loading", () => {
  const effectSchema = () => Schema.Struct({ at: Schema.DateFromString });

  test("a decoder preloads effect for an effect schema (JSON or { msgpack }), and only then", () => {
    const preload = vi.mocked(preloadEffect);
    preload.mockClear();
    createDecoder("msgpack", "binary");
    createDecoder({ msgpack: doubled() }, "binary");
    createDecoder(doubled(), "text");
    createDecoder("json", "text");
    expect(preload).toHaveBeenCalledTimes(0);
    createDecoder({ msgpack: effectSchema() }, "binary");
    expect(preload).toHaveBeenCalledTimes(1);
    createDecoder(effectSchema(), "text");
    expect(preload).toHaveBeenCalledTimes(2);
  });

  test("encodeNow refuses an encoder that answers with a promise", () => {
    expect(() => encodeNow(() => Promise.resolve(undefined), 1)).toThrow(
      new TypeError("Cannot encode synchronously: effect is still loading (await the app's start first)"),
    );
    expect(encodeNow(() => ({ data: "x", isBinary: false }), 1)).toStrictEqual({ data: "x", isBinary: false });
  });

  test("an effect send schema before effect has loaded answers with a promise of the frame, then synchronously once compiled", async () => {
    const loadedNow = vi.mocked(effectIfLoaded);
    const encode = createEncoder(undefined, effectSchema());
    loadedNow.mockReturnValueOnce(undefined);
    const pending = encode({ at: new Date(0) });
    expect(pending).toBeInstanceOf(Promise);
    expect(() => encodeNow(encode, "s")).not.toThrow();
    expect(await pending).toStrictEqual({ data: '{"at":"1970-01-01T00:00:00.000Z"}', isBinary: false });
    // Compiled once: later replies do not ask whether effect is loaded.
    loadedNow.mockReturnValue(undefined);
    try {
      expect(encode({ at: new Date(1000) })).toStrictEqual({ data: '{"at":"1970-01-01T00:00:01.000Z"}', isBinary: false });
    } finally {
      loadedNow.mockReset();
      loadedNow.mockImplementation((await vi.importActual<typeof import("../../src/codec/effect.js")>("../../src/codec/effect.js")).effectIfLoaded);
    }
  });

  test("a MessagePack effect send schema before effect has loaded answers with a promise of the binary frame", async () => {
    const loadedNow = vi.mocked(effectIfLoaded);
    const encode = createEncoder(undefined, effectSchema(), "msgpack");
    loadedNow.mockReturnValueOnce(undefined);
    const pending = encode({ at: new Date(0) });
    expect(pending).toBeInstanceOf(Promise);
    expect(() => encodeNow(encode, { at: new Date(0) })).not.toThrow();
    expect(await pending).toStrictEqual({ data: encodeMsgpack({ at: "1970-01-01T00:00:00.000Z" }), isBinary: true });
  });
});


describe("the one value → frame rule (replies, socket.send*, channel publishes)", () => {
  test("a string is a text frame, bytes a binary frame, anything else no frame yet", () => {
    expect(directFrame("hi")).toStrictEqual({ data: "hi", isBinary: false });
    const bytes = new Uint8Array([1, 2]);
    expect(directFrame(bytes)).toStrictEqual({ data: bytes, isBinary: true });
    expect(directFrame(new Uint8Array([3]).buffer)).toStrictEqual({ data: new Uint8Array([3]), isBinary: true });
    for (const value of [{}, 1, null, undefined, [1]]) expect(directFrame(value)).toBeUndefined();
  });

  test("sendMode forces the opcode", () => {
    expect(directFrame("hi", "binary")).toStrictEqual({ data: Buffer.from("hi"), isBinary: true });
    expect(directFrame(new Uint8Array([1]), "text")).toStrictEqual({ data: new Uint8Array([1]), isBinary: false });
  });

  test("jsonText names what could not be done", () => {
    expect(jsonText({ a: 1 })).toBe('{"a":1}');
    expect(() => jsonText(undefined, "publish")).toThrow(new TypeError("Cannot publish undefined as JSON"));
  });

  test("a channel publish follows the same rule as a reply, as a string or a Buffer", () => {
    const encode = createEncoder(undefined, undefined);
    for (const value of ["text", { n: 1 }, [1, "a"], 42, new Uint8Array([9, 8]), Buffer.from("b"), new Uint8Array([7]).buffer]) {
      const reply = encode(value) as { data: string | Uint8Array; isBinary: boolean };
      const published = serialize(value);
      expect(typeof published === "string").toBe(!reply.isBinary);
      expect(Buffer.from(published)).toStrictEqual(Buffer.from(reply.data));
      if (typeof published !== "string") expect(Buffer.isBuffer(published)).toBe(true);
    }
  });
});

describe("decoding either frame kind (socket.receiveJson)", () => {
  test("JSON from a text or a binary frame; the same problems as a listener's", () => {
    const decode = createDecoder("json", undefined);
    expect(decode(Buffer.from("[1]"), false)).toStrictEqual({ ok: true, value: [1] });
    expect(decode(Buffer.from("[1]"), true)).toStrictEqual({ ok: true, value: [1] });
    expect(decode(Buffer.from("{"), true)).toStrictEqual({ ok: false, code: 1007, problem: "invalid JSON" });
  });
});
