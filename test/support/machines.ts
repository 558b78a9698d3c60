/**
 * Handler machines the property tests share: parallel regions, a nested state, a guard, a
 * delayed transition and both of statewire's actions — a machine route with every moving part.
 */
import { setup } from "xstate";
import { closeConnection, type DisconnectEvent, type MessageEvent, sendMessage } from "../../src/index.js";

type EchoEvent = MessageEvent<string> | DisconnectEvent;

export const echoMachine = setup({
  types: { events: {} as EchoEvent },
  delays: { tick: 10 },
  guards: { isBye: ({ event }) => event.type === "message" && event.data === "bye" },
  actions: {
    echo: sendMessage(({ event }: { event: EchoEvent }) => (event.type === "message" ? event.data : undefined)),
    tick: sendMessage("tick"),
    leave: closeConnection(4000, "bye"),
  },
}).createMachine({
  id: "echo",
  type: "parallel",
  states: {
    talk: {
      initial: "listening",
      states: {
        listening: { on: { message: [{ guard: "isBye", target: "leaving", actions: "leave" }, { actions: "echo" }] } },
        leaving: {},
      },
    },
    timer: {
      initial: "waiting",
      states: { waiting: { after: { tick: { target: "ticked", actions: "tick" } } }, ticked: {} },
    },
  },
});
