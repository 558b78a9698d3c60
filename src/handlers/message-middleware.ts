/**
 * Middleware around each inbound message (the `message` part of a `Middleware`): it runs before
 * the handler sees the message, in wire order, and hands it on with `next()` — or drops it by not
 * calling `next()` (counted as discarded). It is synchronous by contract: a middleware that hands
 * a message on later could let the next message overtake it, so an async middleware, or a
 * `next()` after the middleware returned, fails the connection with a clear error instead.
 *
 * A route whose layers list no message middleware keeps its handler logic unwrapped: it pays
 * nothing (docs/architecture.md §5).
 */
import type { AnySocket } from "../connection/socket.js";
import type { HandlerLogic, HandlerParent, HandlerRun } from "../connection/handler.js";

/** One inbound data frame, as message middleware sees it. */
export interface MiddlewareMessage {
  /** The connection's socket (its `state`, `params`, `query`, …). */
  readonly socket: AnySocket;
  /** The payload as it arrived (text frames as UTF-8 bytes). */
  readonly data: Buffer;
  readonly isBinary: boolean;
  /** The payload decoded as UTF-8 text. */
  text(): string;
}

/**
 * `(message, next) => { …; next(); … }`: call `next()` (synchronously, once) to hand the message
 * on, or return without calling it to drop the message. Throwing closes the connection with 1011.
 */
export type MessageMiddleware = (message: MiddlewareMessage, next: () => void) => void;

class Message implements MiddlewareMessage {
  constructor(
    readonly socket: AnySocket,
    readonly data: Buffer,
    readonly isBinary: boolean,
  ) {}
  #text: string | undefined;
  /** Decoded once, however many middleware ask. */
  text(): string {
    return (this.#text ??= this.data.toString("utf8"));
  }
}

const isThenable = (value: unknown): boolean =>
  typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";

/** A handler run with `wrappers` between the connection and its messages. */
class MessageMiddlewareRun implements HandlerRun {
  constructor(
    private readonly parent: HandlerParent,
    private readonly inner: HandlerRun,
    private readonly wrappers: readonly MessageMiddleware[],
  ) {}

  message(data: Buffer, isBinary: boolean): void {
    const message = new Message(this.parent.socket, data, isBinary);
    let delivered = false;
    let returned = false;
    const run = (index: number): void => {
      const wrapper = this.wrappers[index];
      if (wrapper === undefined) {
        delivered = true;
        this.inner.message(data, isBinary);
        return;
      }
      let called = false;
      const result: unknown = wrapper(message, () => {
        if (returned) {
          this.parent.fail(new Error(`message middleware ${describe(wrapper, index)} called next() after it returned: message middleware is synchronous, so that messages keep their order`));
          return;
        }
        if (called) throw new Error(`message middleware ${describe(wrapper, index)} called next() more than once`);
        called = true;
        run(index + 1);
      });
      if (isThenable(result)) {
        // The promise is the middleware's own; it must not become an unhandled rejection here.
        (result as PromiseLike<unknown>).then(undefined, () => {});
        throw new TypeError(`message middleware ${describe(wrapper, index)} returned a promise: message middleware is synchronous, so that messages keep their order`);
      }
    };
    try {
      run(0);
    } catch (error) {
      this.parent.fail(error);
      return;
    } finally {
      returned = true;
    }
    if (!delivered) this.parent.discarded();
  }

  disconnect(code: number, reason: string): void {
    this.inner.disconnect(code, reason);
  }
}

function describe(wrapper: MessageMiddleware, index: number): string {
  return wrapper.name === "" || wrapper.name === "message" ? `#${index + 1}` : `"${wrapper.name}"`;
}

/** `logic` with `wrappers` (outermost first) around each of its messages; `logic` itself when there are none. */
export function withMessageMiddleware(logic: HandlerLogic, wrappers: readonly MessageMiddleware[]): HandlerLogic {
  if (wrappers.length === 0) return logic;
  return { ...logic, start: (parent) => new MessageMiddlewareRun(parent, logic.start(parent), wrappers) };
}
