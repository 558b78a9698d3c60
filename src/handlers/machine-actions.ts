/**
 * The two things a handler machine may ask of its connection — send a frame, close — as
 * actions built on xstate's `emit`: the machine stays free of I/O, and the runtime performs
 * what it emits (it listens with `actor.on`). A machine run elsewhere (a test, the graph
 * walker) simply emits them.
 */
import { type ActionFunction, type EventObject, type MachineContext, emit } from "xstate";
import { assertCloseFrame, truncateReason } from "../wire/close-codes.js";

/** The emitted event type of `sendMessage`. */
export const SEND_MESSAGE = "statewire.sendMessage";
/** The emitted event type of `closeConnection`. */
export const CLOSE_CONNECTION = "statewire.closeConnection";

export interface SendMessageEmitted {
  readonly type: typeof SEND_MESSAGE;
  /** Encoded like a listener's return value: string → text, bytes → binary, else JSON (through the route's `send` schema). */
  readonly value: unknown;
}

export interface CloseConnectionEmitted {
  readonly type: typeof CLOSE_CONNECTION;
  readonly code: number;
  readonly reason: string;
}

/** What statewire's actions emit; a machine that declares `types.emitted` includes it. */
export type MachineEmitted = SendMessageEmitted | CloseConnectionEmitted;

/** What a `sendMessage` function gets: the machine's context and the event being handled. */
export interface MessageArgs<TContext extends MachineContext, TEvent extends EventObject> {
  readonly context: TContext;
  readonly event: TEvent;
}

type EmitAction<TContext extends MachineContext, TExpressionEvent extends EventObject, TEvent extends EventObject = TExpressionEvent> = ActionFunction<
  TContext,
  TExpressionEvent,
  TEvent,
  unknown,
  never,
  never,
  never,
  never,
  MachineEmitted
>;

/**
 * Send one frame to the client: a value, or a function of `{ context, event }` computing it.
 *
 * ```ts
 * on: { ping: { actions: sendMessage({ type: "pong" }) } }
 * on: { hello: { actions: sendMessage(({ event }) => ({ type: "welcome", name: event.name })) } }
 * ```
 */
export function sendMessage<TContext extends MachineContext, TExpressionEvent extends EventObject, TEvent extends EventObject = TExpressionEvent>(
  value: ((args: MessageArgs<TContext, TExpressionEvent>) => unknown) | string | number | boolean | object | null,
): EmitAction<TContext, TExpressionEvent, TEvent> {
  if (typeof value === "function") {
    const compute = value as (args: MessageArgs<TContext, TExpressionEvent>) => unknown;
    return emit(({ context, event }: MessageArgs<TContext, TExpressionEvent>) => ({ type: SEND_MESSAGE, value: compute({ context, event }) })) as unknown as EmitAction<
      TContext,
      TExpressionEvent,
      TEvent
    >;
  }
  return emit({ type: SEND_MESSAGE, value } satisfies SendMessageEmitted) as unknown as EmitAction<TContext, TExpressionEvent, TEvent>;
}

/**
 * Close the connection with `code` and `reason` — a string, or a function of `{ context, event }`
 * (cut to the 123 bytes a close frame holds). The code is checked now: one not valid on the wire
 * is an error where the machine is defined, not at run time.
 */
export function closeConnection<TContext extends MachineContext, TExpressionEvent extends EventObject, TEvent extends EventObject = TExpressionEvent>(
  code: number,
  reason: string | ((args: MessageArgs<TContext, TExpressionEvent>) => string) = "",
): EmitAction<TContext, TExpressionEvent, TEvent> {
  if (typeof reason === "function") {
    assertCloseFrame(code, "");
    return emit(({ context, event }: MessageArgs<TContext, TExpressionEvent>) => ({
      type: CLOSE_CONNECTION,
      code,
      reason: truncateReason(String(reason({ context, event }))),
    })) as unknown as EmitAction<TContext, TExpressionEvent, TEvent>;
  }
  assertCloseFrame(code, reason);
  return emit({ type: CLOSE_CONNECTION, code, reason } satisfies CloseConnectionEmitted) as unknown as EmitAction<TContext, TExpressionEvent, TEvent>;
}
