/**
 * MessagePack beside text, bytes and JSON (Litestar's `receive_msgpack` / `send_msgpack`),
 * through @msgpack/msgpack. Carried in binary frames.
 */
import { decode, encode } from "@msgpack/msgpack";

/** The value a MessagePack payload holds, or `undefined` with `ok: false` when it is not valid MessagePack. */
export function decodeMsgpack(data: Uint8Array): { readonly ok: true; readonly value: unknown } | { readonly ok: false } {
  try {
    return { ok: true, value: decode(data) };
  } catch {
    return { ok: false };
  }
}

/** `value` as MessagePack bytes. */
export function encodeMsgpack(value: unknown): Uint8Array {
  return encode(value);
}
