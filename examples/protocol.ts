/**
 * A protocol as a statechart (`websocketMachine`): the client says hello first (within 5 s),
 * then subscribes, unsubscribes, pings, and says bye. The machine is the whole handler; the
 * runtime decodes frames into its events, refuses what the current state does not accept
 * (1008 naming the event and the state), and closes with the final state's output.
 * `PORT=8000 node --import tsx examples/protocol.ts`
 */
import { Schema } from "effect";
import { assign, setup } from "xstate";
import { createApp, type DisconnectEvent, type MachineOutput, sendMessage, websocketMachine } from "statewire";
import { isMain, serve } from "./serve.js";

const Hello = Schema.Struct({ type: Schema.Literal("hello"), name: Schema.String.check(Schema.isMinLength(1)) });
const Subscribe = Schema.Struct({ type: Schema.Literal("subscribe"), topic: Schema.String });
const Unsubscribe = Schema.Struct({ type: Schema.Literal("unsubscribe"), topic: Schema.String });
const Ping = Schema.Struct({ type: Schema.Literal("ping") });
const Bye = Schema.Struct({ type: Schema.Literal("bye") });

/** Every message a client may send; anything else (bad JSON, unknown shape) closes 1007. */
export const ProtocolMessage = Schema.Union([Hello, Subscribe, Unsubscribe, Ping, Bye]);
export type ProtocolMessage = typeof ProtocolMessage.Type;

interface ProtocolContext {
  readonly name: string;
  /** How the connection closes once `done` is reached. */
  readonly close: Required<MachineOutput>;
}

export const protocolMachine = setup({
  types: {
    context: {} as ProtocolContext,
    events: {} as ProtocolMessage | DisconnectEvent,
    output: {} as Required<MachineOutput>,
  },
  delays: { helloTimeout: 5000 },
  actions: {
    rememberName: assign({ name: ({ event }) => (event.type === "hello" ? event.name : "") }),
    welcome: sendMessage(({ event }) => (event.type === "hello" ? { type: "welcome", name: event.name } : undefined)),
    subscribed: sendMessage(({ event }) => (event.type === "subscribe" ? { type: "subscribed", topic: event.topic } : undefined)),
    unsubscribed: sendMessage(({ event }) =>
      event.type === "unsubscribe" ? { type: "unsubscribed", topic: event.topic } : undefined,
    ),
    pong: sendMessage({ type: "pong" }),
    helloTimedOut: assign({ close: { code: 4408, reason: "hello timeout" } }),
  },
}).createMachine({
  id: "protocol",
  initial: "greeting",
  context: { name: "", close: { code: 1000, reason: "bye" } },
  states: {
    greeting: {
      on: { hello: { target: "ready", actions: ["rememberName", "welcome"] } },
      after: { helloTimeout: { target: "done", actions: "helloTimedOut" } },
    },
    ready: {
      on: {
        subscribe: { actions: "subscribed" },
        unsubscribe: { actions: "unsubscribed" },
        ping: { actions: "pong" },
        bye: { target: "done" },
      },
    },
    done: { type: "final" },
  },
  output: ({ context }) => context.close,
});

export const protocol = websocketMachine("/protocol", { machine: protocolMachine, receive: ProtocolMessage });

export const app = createApp({ routes: [protocol] });

if (isMain(import.meta.url)) await serve(app);
