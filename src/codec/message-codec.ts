/**
 * Frames to data and data to frames, for listeners and streams. Compiled once per route into
 * two small functions, so the per-message path is a couple of branches.
 *
 * Receiving: `receive` says what the handler gets (`"text"`, `"bytes"`, `"json"` or a schema,
 * validated), `receiveMode` which frame kind is allowed (the opcode, as in Litestar). A frame of
 * the other kind is `UNSUPPORTED_DATA` (1003); a payload that does not decode or validate is
 * `INVALID_PAYLOAD` (1007).
 *
 * Sending: a string is a text frame, bytes a binary frame, `undefined` nothing, anything else
 * JSON (encoded through the `send` schema when one is given). `sendMode` forces the opcode.
 */
import { isUtf8 } from "node:buffer";
import type { Schema } from "effect";
import { effectIfLoaded, isEffectSchema, loadEffect, preloadEffect } from "./effect.js";
import { CloseCode, truncateReason } from "../wire/close-codes.js";
import { decodeMsgpack, encodeMsgpack } from "./msgpack.js";
import { type EffectSchema, isMessageSchema, type MessageSchema, type SchemaOutput, type StandardSchemaV1, type Validated, validator } from "./schema.js";

export type ReceiveKind = "text" | "bytes" | "json" | "msgpack" | { readonly msgpack: MessageSchema } | MessageSchema;
export type FrameMode = "text" | "binary";

/** What a handler receives for a `receive` kind. */
export type DataOf<R> = R extends "text"
  ? string
  : R extends "bytes"
    ? Buffer
    : R extends "json" | "msgpack"
      ? unknown
      : R extends { readonly msgpack: infer S }
        ? SchemaOutput<S>
        : R extends MessageSchema
          ? SchemaOutput<R>
          : string;

/** Why a message was refused, with the close code it calls for. */
export interface InvalidMessage {
  readonly code: 1003 | 1007;
  /** Short, names the problem, fits a close reason. */
  readonly problem: string;
}

export type Decoded<T> = { readonly ok: true; readonly value: T } | ({ readonly ok: false } & InvalidMessage);
export type Decoder<T = unknown> = (data: Buffer, isBinary: boolean) => Decoded<T> | Promise<Decoded<T>>;

/** One frame ready for the wire. */
export interface OutboundFrame {
  readonly data: string | Uint8Array;
  readonly isBinary: boolean;
}

/** A frame, nothing, or (only while effect is still loading for an effect send schema) a promise of one. */
export type Encoder = (value: unknown) => OutboundFrame | undefined | Promise<OutboundFrame | undefined>;

/** The frame for `value`, where the caller cannot wait: only a send schema of effect's, before effect has loaded, would need to. */
export function encodeNow(encode: Encoder, value: unknown): OutboundFrame | undefined {
  const frame = encode(value);
  if (frame instanceof Promise) throw new TypeError("Cannot encode synchronously: effect is still loading (await the app's start first)");
  return frame;
}

const { UNSUPPORTED_DATA, INVALID_PAYLOAD } = CloseCode;

const invalid = (code: 1003 | 1007, problem: string): Decoded<never> => ({ ok: false, code, problem: truncateReason(problem) });

const settleValidated = (outcome: Validated<unknown>): Decoded<unknown> => (outcome.ok ? outcome : invalid(INVALID_PAYLOAD, outcome.problem));

/**
 * The one decoder of messages, for listeners (per route) and for `socket.receiveJson()` /
 * `receiveMsgpack()` alike. `receiveMode` is the frame kind allowed; `undefined` allows both
 * (what `socket.receiveJson()` reads).
 */
export function createDecoder(receive: ReceiveKind, receiveMode: FrameMode | undefined): Decoder {
  const wantBinary = receiveMode === "binary";
  const wrongKind = invalid(UNSUPPORTED_DATA, `expected a ${receiveMode ?? "text or binary"} message`);
  const checkKind = receiveMode === undefined ? (): boolean => true : (isBinary: boolean): boolean => isBinary === wantBinary;

  if (receive === "bytes") {
    return (data, isBinary) => (checkKind(isBinary) ? { ok: true, value: data } : wrongKind);
  }
  if (receive === "text") {
    return (data, isBinary) => {
      if (!checkKind(isBinary)) return wrongKind;
      // Text frames were UTF-8 checked by the transport; binary ones read as text are checked here.
      if (isBinary && !isUtf8(data)) return invalid(INVALID_PAYLOAD, "invalid UTF-8");
      return { ok: true, value: data.toString("utf8") };
    };
  }
  const parse = (data: Buffer, isBinary: boolean): Decoded<unknown> => {
    if (!checkKind(isBinary)) return wrongKind;
    try {
      return { ok: true, value: JSON.parse(data.toString("utf8")) };
    } catch {
      return invalid(INVALID_PAYLOAD, "invalid JSON");
    }
  };
  if (receive === "json") return parse;
  if (receive === "msgpack" || (typeof receive === "object" && receive !== null && "msgpack" in receive && !isMessageSchema(receive))) {
    const schema = receive === "msgpack" ? undefined : (receive as { readonly msgpack: MessageSchema }).msgpack;
    if (schema !== undefined && isEffectSchema(schema)) preloadEffect();
    const validate = schema === undefined ? undefined : validator(schema);
    return (data, isBinary) => {
      if (!checkKind(isBinary)) return wrongKind;
      const decoded = decodeMsgpack(data);
      if (!decoded.ok) return invalid(INVALID_PAYLOAD, "invalid MessagePack");
      if (validate === undefined) return { ok: true, value: decoded.value };
      const result = validate(decoded.value);
      const settle = (outcome: Awaited<typeof result>): Decoded<unknown> => (outcome.ok ? outcome : invalid(INVALID_PAYLOAD, outcome.problem));
      return result instanceof Promise ? result.then(settle) : settle(result);
    };
  }
  const schema = receive as MessageSchema;
  if (isEffectSchema(schema)) preloadEffect();
  // The schema is resolved once, here, per route: a message costs the parse and one call.
  const validate = validator(schema);
  return (data, isBinary) => {
    if (!checkKind(isBinary)) return wrongKind;
    let value: unknown;
    try {
      value = JSON.parse(data.toString("utf8"));
    } catch {
      return invalid(INVALID_PAYLOAD, "invalid JSON");
    }
    const result = validate(value);
    // A valid outcome is already a decoded message: no copy of it, no closure per message.
    if (result instanceof Promise) return result.then(settleValidated);
    return result.ok ? result : invalid(INVALID_PAYLOAD, result.problem);
  };
}

/**
 * The one value → frame rule, for replies, `socket.send*` and channel publishes alike: a string
 * is a text frame, bytes (`Uint8Array`, `Buffer`, `ArrayBuffer`) a binary frame — `sendMode`
 * forces the opcode — and any other value is not a frame yet (`undefined`): it is encoded (JSON
 * or MessagePack) first.
 */
export function directFrame(value: unknown, sendMode?: FrameMode): OutboundFrame | undefined {
  if (typeof value === "string") return sendMode === "binary" ? { data: Buffer.from(value, "utf8"), isBinary: true } : { data: value, isBinary: false };
  if (value instanceof Uint8Array) return { data: value, isBinary: sendMode !== "text" };
  if (value instanceof ArrayBuffer) return { data: new Uint8Array(value), isBinary: sendMode !== "text" };
  return undefined;
}

/** `value` as JSON text (`toJSON` honoured); a `TypeError` naming what could not be done for a value JSON cannot carry. */
export function jsonText(value: unknown, operation = "send"): string {
  const json = JSON.stringify(value) as string | undefined;
  if (json === undefined) throw new TypeError(`Cannot ${operation} ${typeof value} as JSON`);
  return json;
}

/**
 * The JSON-ready form of `value` through a send schema (effect: encoded; Standard Schema:
 * validated). A promise only before effect has finished loading (see effect.ts).
 */
function schemaEncoder(schema: MessageSchema): (value: unknown) => unknown {
  if (isEffectSchema(schema)) {
    preloadEffect();
    let encode: ((value: unknown) => unknown) | undefined;
    const make = (effect: typeof import("effect")): ((value: unknown) => unknown) =>
      (encode = effect.Schema.encodeUnknownSync(schema as EffectSchema as Schema.Codec<unknown, unknown>) as (value: unknown) => unknown);
    return (value) => {
      if (encode !== undefined) return encode(value);
      const effect = effectIfLoaded();
      return effect !== undefined ? make(effect)(value) : loadEffect().then((loaded) => make(loaded)(value));
    };
  }
  return (value) => {
    const result = (schema as StandardSchemaV1)["~standard"].validate(value);
    if (result instanceof Promise) throw new TypeError("A send schema must validate synchronously");
    if (result.issues !== undefined) {
      throw new TypeError(`Reply does not match the send schema: ${result.issues[0]?.message ?? "invalid"}`);
    }
    return result.value;
  };
}

/** How replies that are neither strings nor bytes are encoded: JSON (default) or MessagePack. */
export type ValueEncoding = "json" | "msgpack";

export function createEncoder(sendMode: FrameMode | undefined, send: MessageSchema | undefined, encoding: ValueEncoding = "json"): Encoder {
  const prepare = send === undefined ? undefined : schemaEncoder(send);
  const valueFrame =
    encoding === "msgpack"
      ? (value: unknown): OutboundFrame => ({ data: encodeMsgpack(value), isBinary: true })
      : (value: unknown): OutboundFrame => {
          const json = jsonText(value);
          return sendMode === "binary" ? { data: Buffer.from(json, "utf8"), isBinary: true } : { data: json, isBinary: false };
        };
  return (value) => {
    if (value === undefined) return undefined;
    const frame = directFrame(value, sendMode);
    if (frame !== undefined) return frame;
    const prepared = prepare === undefined ? value : prepare(value);
    return prepared instanceof Promise ? prepared.then(valueFrame) : valueFrame(prepared);
  };
}
