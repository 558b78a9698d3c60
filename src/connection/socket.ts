/**
 * `Socket`: what a handler sees of its connection. It asks the connection for everything and
 * never touches the transport.
 *
 * Conventions: mistakes in the calling code (an invalid close code, accepting twice, sending
 * before accept) throw synchronously at the call site; conditions of the wire (the peer left,
 * the connection closed) reject the returned promise with `WebSocketDisconnect` or
 * `SocketClosedError`. Those promises are pre-handled: one nobody awaits never becomes an
 * unhandled rejection.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { ConnectionOutcome, ConnectionState } from "../../machines/connection.js";
import { createDecoder, type Decoded, type Decoder, jsonText } from "../codec/message-codec.js";
import { encodeMsgpack } from "../codec/msgpack.js";
import { isEffectSchema } from "../codec/effect.js";
import type { MessageSchema, SchemaOutput } from "../codec/schema.js";
import { MessageError, WebSocketDisconnect } from "../wire/errors.js";
import { caseInsensitiveHeaders, headerValue } from "./headers.js";
import type { InboundMessage, ReceiveOptions } from "./mailbox.js";
import { queryOf } from "./query.js";

/** The server's answer to a handshake it accepts. */
export interface AcceptInit {
  /** One of the subprotocols the client offered (`socket.subprotocols`); none when omitted. */
  readonly subprotocol?: string;
  /** Extra response headers on the 101 response. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** An HTTP denial of the handshake. */
export interface RejectInit {
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** The peer's address. */
export interface ClientAddress {
  readonly host: string;
  readonly port: number;
}

/** What the Socket needs from its connection (implemented by the connection runtime). */
export interface SocketRuntime {
  readonly id: number;
  readonly lifecycle: ConnectionState;
  /** The request's path and query, normalised at the edge (`/chat/lobby?x=1`). */
  readonly requestUrl: string;
  /** The `Host` header, checked at the edge to be a URL authority (`localhost` when absent). */
  readonly requestHost: string;
  readonly requestHeaders: IncomingHttpHeaders;
  readonly client: ClientAddress;
  readonly acceptedSubprotocol: string | undefined;
  readonly signal: AbortSignal;
  readonly closed: Promise<ConnectionOutcome>;
  accept(init: AcceptInit): void;
  reject(status: number, init: RejectInit): void;
  close(code: number, reason: string): void;
  send(data: string | Uint8Array, isBinary: boolean, operation: string): Promise<void>;
  take(operation: string, bound?: ReceiveOptions): Promise<InboundMessage>;
  /** The next message as `map` makes it, or `ended` once the peer is gone (no rejection). */
  takeAs<T, E>(operation: string, map: (data: Buffer, isBinary: boolean) => T, ended: E): Promise<T | E>;
  offeredSubprotocols(): readonly string[];
}

/** A data message as `receive()` gives it: text frames as strings, binary frames as Buffers. */
export type Message = string | Buffer;

const HANDLED = (): void => {};
const NOTHING = (): void => {};
const DONE: IteratorResult<Message> = Object.freeze({ value: undefined, done: true });
const toIteratorResult = (data: Buffer, isBinary: boolean): IteratorResult<Message> => ({
  value: isBinary ? data : data.toString("utf8"),
  done: false,
});

/** `for await` over a socket: one object per loop, its methods on the prototype (docs/architecture.md §5). */
class MessageIterator implements AsyncIterator<Message> {
  readonly #runtime: SocketRuntime;

  constructor(runtime: SocketRuntime) {
    this.#runtime = runtime;
  }

  next(): Promise<IteratorResult<Message>> {
    return this.#runtime.takeAs("iterate", toIteratorResult, DONE);
  }

  return(): Promise<IteratorResult<Message>> {
    return Promise.resolve(DONE);
  }
}

/** Rejects like `Promise.reject`, but never reported as unhandled when nobody awaits it. */
export function handledRejection<T>(error: unknown): Promise<T> {
  const promise = Promise.reject(error as Error);
  promise.catch(HANDLED);
  return promise;
}

/**
 * `receiveJson` / `receiveMsgpack` decode with the codec's decoders, as listeners do (one meaning
 * of "json": either frame kind here, UTF-8 JSON, 1007 when it does not parse or validate). One
 * decoder per schema, built on its first use.
 */
const ANY_JSON = createDecoder("json", undefined);
const MSGPACK = createDecoder("msgpack", "binary");
const jsonDecoders = new WeakMap<MessageSchema, Decoder>();
const msgpackDecoders = new WeakMap<MessageSchema, Decoder>();

function decoderFor(cache: WeakMap<MessageSchema, Decoder>, schema: MessageSchema, make: () => Decoder): Decoder {
  let decoder = cache.get(schema);
  if (decoder === undefined) cache.set(schema, (decoder = make()));
  return decoder;
}

function decodedValue(decoded: Decoded<unknown>): unknown {
  if (!decoded.ok) throw new MessageError(decoded.code, decoded.problem);
  return decoded.value;
}

async function decode(decoder: Decoder, message: InboundMessage): Promise<unknown> {
  const decoded = decoder(message.data, message.isBinary);
  return decodedValue(decoded instanceof Promise ? await decoded : decoded);
}

/** A schema (effect or Standard Schema) rather than `{ timeoutMs, signal }`. */
function isSchema(value: MessageSchema | ReceiveOptions | undefined): value is MessageSchema {
  return value !== undefined && (isEffectSchema(value) || "~standard" in value);
}

function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  if (header === undefined) return cookies;
  for (const pair of header.split(";")) {
    const separator = pair.indexOf("=");
    if (separator <= 0) continue;
    const name = pair.slice(0, separator).trim();
    let value = pair.slice(separator + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (!(name in cookies)) {
      try {
        cookies[name] = decodeURIComponent(value);
      } catch {
        cookies[name] = value;
      }
    }
  }
  return cookies;
}

export class Socket<
  Params extends object = Readonly<Record<string, string | undefined>>,
  State extends object = Record<string, unknown>,
  Query extends object = Readonly<Record<string, string>>,
> implements AsyncIterable<Message>
{
  /** Path parameters of the matched route, typed from its path literal. */
  readonly params: Params;
  readonly #runtime: SocketRuntime;
  #url: URL | undefined;
  #query: object | undefined;
  #cookies: Readonly<Record<string, string>> | undefined;
  #headers: IncomingHttpHeaders | undefined;
  #state: State | undefined;

  constructor(runtime: SocketRuntime, params: Params) {
    this.#runtime = runtime;
    this.params = params;
  }

  /** The connection's id, unique in this process (the inspector and observers use it). */
  get id(): number {
    return this.#runtime.id;
  }

  /** Where the connection is in its lifecycle. */
  get lifecycle(): ConnectionState {
    return this.#runtime.lifecycle;
  }

  /** The request URL (host from the `Host` header; path as routed, normalised). */
  get url(): URL {
    // Both parts were checked at the edge (a request whose target or Host does not parse is answered 400), so this cannot throw.
    return (this.#url ??= new URL(this.#runtime.requestUrl, `ws://${this.#runtime.requestHost}`));
  }

  /**
   * Query parameters; the first value of each name (all values: `socket.url.searchParams`).
   * On a route with a `query` schema: the decoded value, typed from the schema.
   */
  get query(): Query {
    return (this.#query ??= queryOf(this.#runtime.requestUrl)) as Query;
  }

  /** Replace the query with its decoded form; only the route's `query` schema guard calls it, before the handler runs. */
  static decodedQuery(socket: AnySocket, query: object): void {
    socket.#query = query;
  }

  /**
   * Request headers. Enumerated, the names are lower case; read, any spelling works
   * (`headers["Authorization"]` is `headers.authorization`).
   */
  get headers(): IncomingHttpHeaders {
    return (this.#headers ??= caseInsensitiveHeaders(this.#runtime.requestHeaders));
  }

  /** One request header by name, in any case; repeated values joined with `", "`. */
  header(name: string): string | undefined {
    return headerValue(this.#runtime.requestHeaders, name);
  }

  /** Cookies sent with the handshake. */
  get cookies(): Readonly<Record<string, string>> {
    return (this.#cookies ??= parseCookies(this.#runtime.requestHeaders.cookie));
  }

  /** The peer's address and port. */
  get client(): ClientAddress {
    return this.#runtime.client;
  }

  /** The subprotocols the client offered, in its order of preference. */
  get subprotocols(): readonly string[] {
    return this.#runtime.offeredSubprotocols();
  }

  /** The subprotocol chosen at accept, if any. */
  get subprotocol(): string | undefined {
    return this.#runtime.acceptedSubprotocol;
  }

  /** Per-connection state: set it in guards or on accept, read it in every later handler call. */
  get state(): State {
    return (this.#state ??= {} as State);
  }

  /** Aborted as soon as the connection starts closing, whoever closed it. */
  get signal(): AbortSignal {
    return this.#runtime.signal;
  }

  /** Settles once the connection is closed, with its close code, reason and initiator. */
  get closed(): Promise<ConnectionOutcome> {
    return this.#runtime.closed;
  }

  /**
   * Complete the handshake. Throws `RangeError` when `subprotocol` was not offered by the client
   * and `SocketStateError` when the connection was already accepted or closed by the server.
   * Rejects with `WebSocketDisconnect` when the client left before the answer.
   */
  accept(init: AcceptInit = {}): Promise<void> {
    this.#runtime.accept(init);
    const lifecycle = this.#runtime.lifecycle;
    return lifecycle === "open" ? Promise.resolve() : handledRejection(new WebSocketDisconnect(1006, ""));
  }

  /**
   * Refuse the handshake with an HTTP response (403 by default); the client never gets a
   * WebSocket. Only before accept; browsers cannot read the status, so prefer `close(code)`
   * when a browser must learn why.
   */
  reject(status = 403, init: RejectInit = {}): void {
    this.#runtime.reject(status, init);
  }

  /**
   * Close with `code` (default 1000) and `reason` (at most 123 bytes of UTF-8). Before accept
   * this completes the handshake and then closes, so the client sees the code. Closing twice is
   * harmless. Throws `RangeError` for a code that cannot be sent or a reason that does not fit.
   * The close frame is sent at once; the promise resolves once the connection is closed — the
   * peer answered, or the close timeout gave up on it (`socket.closed` says how it ended).
   * Nobody needs to await it.
   */
  close(code = 1000, reason = ""): Promise<void> {
    this.#runtime.close(code, reason);
    return this.#runtime.closed.then(NOTHING);
  }

  /**
   * The next message: text frames as strings, binary frames as Buffers. Every `receive*()` takes
   * `{ timeoutMs, signal }`: past the deadline it rejects with `ReceiveTimeoutError` (on abort,
   * with the signal's reason) and withdraws, so the next receive works and no message is lost.
   */
  async receive(options?: ReceiveOptions): Promise<Message> {
    const message = await this.#runtime.take("receive", options);
    return message.isBinary ? message.data : message.data.toString("utf8");
  }

  /** The next text message. A binary frame instead throws `MessageError` (close 1003 if it escapes). */
  async receiveText(options?: ReceiveOptions): Promise<string> {
    const message = await this.#runtime.take("receiveText", options);
    if (message.isBinary) throw new MessageError(1003, "expected a text message");
    return message.data.toString("utf8");
  }

  /** The next binary message. A text frame instead throws `MessageError` (close 1003 if it escapes). */
  async receiveBytes(options?: ReceiveOptions): Promise<Buffer> {
    const message = await this.#runtime.take("receiveBytes", options);
    if (!message.isBinary) throw new MessageError(1003, "expected a binary message");
    return message.data;
  }

  /**
   * The next message parsed as JSON (text or binary frame), validated by `schema` when given
   * (an effect Schema or any Standard Schema). Bad JSON or a failed validation throws
   * `MessageError` (close 1007 with a reason naming the problem if it escapes).
   */
  async receiveJson(options?: ReceiveOptions): Promise<unknown>;
  async receiveJson<S extends MessageSchema>(schema: S, options?: ReceiveOptions): Promise<SchemaOutput<S>>;
  async receiveJson(first?: MessageSchema | ReceiveOptions, second?: ReceiveOptions): Promise<unknown> {
    const [schema, options] = isSchema(first) ? [first, second] : [undefined, first];
    const message = await this.#runtime.take("receiveJson", options);
    return decode(schema === undefined ? ANY_JSON : decoderFor(jsonDecoders, schema, () => createDecoder(schema, undefined)), message);
  }

  /**
   * The next message decoded from MessagePack (a binary frame; a text frame throws `MessageError`
   * 1003), validated by `schema` when given. Invalid MessagePack or a failed validation throws
   * `MessageError` 1007.
   */
  async receiveMsgpack(options?: ReceiveOptions): Promise<unknown>;
  async receiveMsgpack<S extends MessageSchema>(schema: S, options?: ReceiveOptions): Promise<SchemaOutput<S>>;
  async receiveMsgpack(first?: MessageSchema | ReceiveOptions, second?: ReceiveOptions): Promise<unknown> {
    const [schema, options] = isSchema(first) ? [first, second] : [undefined, first];
    const message = await this.#runtime.take("receiveMsgpack", options);
    return decode(schema === undefined ? MSGPACK : decoderFor(msgpackDecoders, schema, () => createDecoder({ msgpack: schema }, "binary")), message);
  }

  /** Text messages until the peer leaves; then the loop ends quietly (Litestar's `iter_data`). A binary frame throws `MessageError` 1003. */
  iterText(): AsyncIterable<string> {
    return this.#quiet(() => this.receiveText());
  }

  /** Binary messages until the peer leaves; then the loop ends quietly. A text frame throws `MessageError` 1003. */
  iterBytes(): AsyncIterable<Buffer> {
    return this.#quiet(() => this.receiveBytes());
  }

  /** JSON messages (validated by `schema` when given) until the peer leaves; then the loop ends quietly. */
  iterJson(): AsyncIterable<unknown>;
  iterJson<S extends MessageSchema>(schema: S): AsyncIterable<SchemaOutput<S>>;
  iterJson(schema?: MessageSchema): AsyncIterable<unknown> {
    return this.#quiet(() => (schema === undefined ? this.receiveJson() : this.receiveJson(schema)));
  }

  /** An iterable over `receive` that ends, instead of throwing, when the peer leaves. */
  #quiet<T>(receive: () => Promise<T>): AsyncIterable<T> {
    return {
      [Symbol.asyncIterator]: () => ({
        next: () =>
          receive().then(
            (value): IteratorResult<T> => ({ value, done: false }),
            (error: unknown): IteratorResult<T> => {
              if (error instanceof WebSocketDisconnect) return { value: undefined, done: true };
              throw error;
            },
          ),
        return: () => Promise.resolve({ value: undefined, done: true }),
      }),
    };
  }

  /** Send `value` as MessagePack in a binary frame. */
  sendMsgpack(value: unknown): Promise<void> {
    return this.#runtime.send(encodeMsgpack(value), true, "sendMsgpack");
  }

  /** Send a text frame. */
  sendText(text: string): Promise<void> {
    if (typeof text !== "string") throw new TypeError(`sendText() takes a string, got ${typeof text}`);
    return this.#runtime.send(text, false, "sendText");
  }

  /** Send a binary frame. */
  sendBytes(bytes: Uint8Array | ArrayBuffer): Promise<void> {
    const view = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes;
    if (!(view instanceof Uint8Array)) throw new TypeError("sendBytes() takes a Uint8Array, Buffer or ArrayBuffer");
    return this.#runtime.send(view, true, "sendBytes");
  }

  /** Send `value` as JSON in a text frame, or with `{ binary: true }` as UTF-8 in a binary frame (Starlette's `mode="binary"`). */
  sendJson(value: unknown, options?: { readonly binary?: boolean }): Promise<void> {
    const text = jsonText(value);
    if (options?.binary === true) return this.#runtime.send(Buffer.from(text, "utf8"), true, "sendJson");
    return this.#runtime.send(text, false, "sendJson");
  }

  /** Messages until the peer leaves; the loop then ends without an exception. */
  [Symbol.asyncIterator](): AsyncIterator<Message> {
    // Hand-written rather than an async generator: the mailbox resolves each wait with the
    // iterator result itself, and with "done" at the end — one promise per message.
    return new MessageIterator(this.#runtime);
  }

}

/** A socket of any route, as the runtime holds it. */
export type AnySocket = Socket<object, object, object>;
