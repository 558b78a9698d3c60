/**
 * One message at a time, in order: decode, call the function, encode and send its result.
 * Synchronous all the way when the function is (no promise per message); when a step awaits,
 * later frames queue in the inbound queue it extends (`connection/inbound-queue.ts`: the push
 * face; the pull face is the mailbox), which stops the transport past the high-water mark.
 */
import type { Decoded, Decoder, Encoder, InvalidMessage } from "../codec/message-codec.js";
import { MessageError } from "../wire/errors.js";
import type { HandlerParent } from "../connection/handler.js";
import { InboundQueue } from "../connection/inbound-queue.js";

/** What to do with a message that does not decode: close (1003 / 1007), reply with an error frame, or decide. */
export type OnInvalid<Context> = "close" | "reply" | ((invalid: InvalidMessage, context: Context) => unknown);

export interface PipelineSpec<Context> {
  readonly decode: Decoder;
  readonly encode: Encoder;
  readonly handle: (data: unknown, context: Context) => unknown;
  readonly onInvalid: OnInvalid<Context>;
  /** Called with a handler's error before the connection closes for it; `keepOpen(reply?)` keeps it open. */
  readonly onError: ((error: unknown, context: Context) => unknown) | undefined;
}

/** What `onError` returns to keep the connection open: the reply to send (none when `undefined`). */
export class KeepOpen {
  constructor(readonly reply: unknown) {}
}

/**
 * Return from a listener's `onError` to answer the failed message with `reply` (encoded like a
 * handler's result; nothing when omitted) and keep the connection open for the next message.
 */
export function keepOpen(reply?: unknown): KeepOpen {
  return new KeepOpen(reply);
}

export class MessagePipeline<Context> extends InboundQueue<HandlerParent> {
  readonly #spec: PipelineSpec<Context>;
  readonly #context: Context;
  #busy = false;
  /** Until `release()`: messages queue and nothing runs. */
  #held = true;
  #failed = false;
  #onIdle: (() => void) | undefined;

  /** Starts held: nothing runs until `release()` (after accept and `onAccept`). */
  constructor(parent: HandlerParent, spec: PipelineSpec<Context>, context: Context) {
    super(parent);
    this.#spec = spec;
    this.#context = context;
  }

  get failed(): boolean {
    return this.#failed;
  }

  push(data: Buffer, isBinary: boolean): void {
    if (this.#failed) return;
    // Observed only: no clock read per message when nothing watches (docs/architecture.md §5).
    const arrivedAt = this.arrival();
    if (this.#held || this.#busy || this.size > 0) {
      this.enqueue(data, isBinary, arrivedAt);
      return;
    }
    this.#run(data, isBinary, arrivedAt);
  }

  /** Let queued and future messages through. */
  release(): void {
    this.#held = false;
    this.#drain();
  }

  /**
   * Call `callback` once no message is in flight or queued (at once if none is). A pipeline
   * never released will never run what it queued: it is idle.
   */
  whenIdle(callback: () => void): void {
    if (this.#held || (!this.#busy && (this.size === 0 || this.#failed))) callback();
    else this.#onIdle = callback;
  }

  /** `arrivedAt`: see `InboundMessage`; the message counts as handled once its result settled and its reply was written. */
  #run(data: Buffer, isBinary: boolean, arrivedAt: number): void {
    let pending: Promise<void> | undefined;
    try {
      pending = this.#step(data, isBinary);
    } catch (error) {
      if (arrivedAt !== 0) this.handled(arrivedAt);
      this.#fail(error);
      return;
    }
    if (pending === undefined) {
      if (arrivedAt !== 0) this.handled(arrivedAt);
      return;
    }
    this.#busy = true;
    pending.then(
      () => {
        if (arrivedAt !== 0) this.handled(arrivedAt);
        this.#busy = false;
        this.#drain();
      },
      (error: unknown) => {
        if (arrivedAt !== 0) this.handled(arrivedAt);
        this.#busy = false;
        this.#fail(error);
      },
    );
  }

  #drain(): void {
    while (!this.#busy && !this.#failed && this.size > 0) {
      const frame = this.dequeue();
      this.#run(frame.data, frame.isBinary, frame.arrivedAt);
    }
    if (!this.#busy && (this.size === 0 || this.#failed)) {
      const onIdle = this.#onIdle;
      this.#onIdle = undefined;
      onIdle?.();
    }
  }

  #step(data: Buffer, isBinary: boolean): Promise<void> | undefined {
    const decoded = this.#spec.decode(data, isBinary);
    return decoded instanceof Promise ? decoded.then((settled) => this.#afterDecode(settled)) : this.#afterDecode(decoded);
  }

  #afterDecode(decoded: Decoded<unknown>): Promise<void> | undefined {
    if (!decoded.ok) return this.#invalid(decoded);
    const result = this.#spec.handle(decoded.value, this.#context);
    return result instanceof Promise ? result.then((value) => this.#sendLater(value)) : this.#send(result);
  }

  /** An async handler's reply: through the interleaving gate when a test set one. */
  #sendLater(value: unknown): Promise<void> | undefined {
    const gate = this.flow.interleave("handler:reply");
    return gate === undefined ? this.#send(value) : gate.then(() => this.#send(value));
  }

  #send(value: unknown): Promise<void> | undefined {
    const frame = this.#spec.encode(value);
    if (frame instanceof Promise) return frame.then((ready) => (ready === undefined ? undefined : this.flow.reply(ready.data, ready.isBinary)));
    return frame === undefined ? undefined : this.flow.reply(frame.data, frame.isBinary);
  }

  #invalid(invalid: InvalidMessage): Promise<void> | undefined {
    const { onInvalid } = this.#spec;
    if (onInvalid === "close") throw new MessageError(invalid.code, invalid.problem);
    if (onInvalid === "reply") return this.#send({ error: invalid.problem, code: invalid.code });
    const result = onInvalid(invalid, this.#context);
    return result instanceof Promise ? result.then((value) => this.#send(value)) : this.#send(result);
  }

  /**
   * A handler error: `onError` first (Velithon's `on_error`), which may return `keepOpen(reply?)`
   * to answer and carry on with the next message; otherwise the connection fails (1011).
   */
  #fail(error: unknown): void {
    if (this.#spec.onError === undefined || error instanceof MessageError) return this.#close(error);
    let handled: unknown;
    try {
      handled = this.#spec.onError(error, this.#context);
    } catch (hookError) {
      // Both are faults: the hook's, and the handler's own error it was called with.
      this.flow.fail(hookError);
      return this.#close(error);
    }
    if (!(handled instanceof Promise)) return this.#afterOnError(error, handled);
    this.#busy = true;
    handled.then(
      (value: unknown) => {
        this.#busy = false;
        this.#afterOnError(error, value);
        this.#drain();
      },
      (hookError: unknown) => {
        this.#busy = false;
        this.flow.fail(hookError);
        this.#close(error);
      },
    );
  }

  #afterOnError(error: unknown, handled: unknown): void {
    if (!(handled instanceof KeepOpen)) return this.#close(error);
    let sent: Promise<void> | undefined;
    try {
      sent = handled.reply === undefined ? undefined : this.#send(handled.reply);
    } catch (sendError) {
      return this.#close(sendError);
    }
    if (sent === undefined) return; // the caller's drain goes on with the next message
    this.#busy = true;
    sent.then(
      () => {
        this.#busy = false;
        this.#drain();
      },
      (sendError: unknown) => {
        this.#busy = false;
        this.#close(sendError);
      },
    );
  }

  #close(error: unknown): void {
    this.#failed = true;
    this.clear();
    this.flow.fail(error);
    const onIdle = this.#onIdle;
    this.#onIdle = undefined;
    onIdle?.();
  }
}
