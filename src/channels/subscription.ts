/**
 * `channels.subscribe(channels, options)`: an async iterable of the channels' messages (each in
 * its wire form: a string for text and JSON, a Buffer for bytes). Bound to a connection
 * (`socket`) it ends when that connection starts closing, and each channel's subscription is
 * reported once to the app; bound to a `signal`, when it aborts. Breaking out of `for await`
 * or calling `unsubscribe()` ends it too.
 */
import type { AnySocket } from "../connection/socket.js";
import type { ChannelMessage } from "./backend.js";
import type { ChannelsCore } from "./core.js";
import { type BacklogOptions, Subscriber } from "./subscriber.js";

export interface SubscribeOptions {
  /** The connection the subscription belongs to: it ends when the connection starts closing. */
  readonly socket?: AnySocket;
  /** Ends the subscription when aborted. */
  readonly signal?: AbortSignal;
  /** Replay each channel's last `history` messages first, then live ones (no gap, no duplicate). Default 0. */
  readonly history?: number;
  /** This subscriber's backlog, instead of the plugin's. */
  readonly backlog?: BacklogOptions;
}

const IGNORE = (): void => {};

export class Subscription extends Subscriber {
  /** The channels it listens to. */
  readonly channels: readonly string[];
  /** Resolves once every later publish reaches this subscription (and the history, if asked, is queued). */
  readonly ready: Promise<void>;

  /** `onEnd`: told once when it ends (the plugin forgets it). */
  constructor(core: ChannelsCore, channels: readonly string[], options: SubscribeOptions, onEnd: () => void = IGNORE) {
    const { socket, signal } = options;
    let cleanup: () => void = IGNORE;
    super(
      options.backlog ?? core.backlog,
      {
        onDrop: core.onDrop,
        ...(socket === undefined
          ? {}
          : {
              onOverflow: () => {
                core.counters.disconnected++;
                try {
                  void socket.close(1008, "Slow consumer");
                } catch {
                  // already closing
                }
              },
            }),
        onEnd: () => {
          cleanup();
          onEnd();
        },
      },
      socket?.id,
    );
    this.channels = channels;
    const gone = socket !== undefined && (socket.lifecycle === "closing" || socket.lifecycle === "closed" || socket.signal.aborted);
    if (gone || signal?.aborted === true) {
      this.end();
      this.ready = Promise.resolve();
      return;
    }
    const end = (): void => this.end();
    for (const channel of channels) if (socket !== undefined) core.reporter?.subscribed(socket.id, channel);
    const replay = Math.max(0, options.history ?? 0);
    this.ready = Promise.all(channels.map((channel) => core.fanOut.add(this, channel, replay))).then(IGNORE);
    // Not listening (the backend did not answer in time): the subscription ends with the error,
    // which its consumer's next read gets.
    this.ready.catch((error: unknown) => this.end(error));
    socket?.signal.addEventListener("abort", end, { once: true });
    signal?.addEventListener("abort", end, { once: true });
    if (socket !== undefined) void socket.closed.then(end, end);
    cleanup = () => {
      socket?.signal.removeEventListener("abort", end);
      signal?.removeEventListener("abort", end);
      for (const channel of channels) {
        core.fanOut.remove(this, channel);
        if (socket !== undefined) core.reporter?.unsubscribed(socket.id, channel);
      }
    };
  }

  /** End the subscription; a pending `next()` resolves as done. */
  unsubscribe(): void {
    this.end();
  }

  /** The same messages with their channel and id (`{ channel, id, payload }`), for subscribers of several channels. */
  messages(): AsyncIterableIterator<ChannelMessage> {
    const iterator: AsyncIterableIterator<ChannelMessage> = {
      next: () => this.take().then((message) => (message === undefined ? { value: undefined, done: true } : { value: message, done: false })),
      return: () => {
        this.end();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}
