/** `statewire/machines`: the statecharts themselves, pure and drawable. */
export { connectionMachine, connectionStates, outcomeOf } from "./connection.js";
export type {
  CloseInitiator,
  ConnectionContext,
  ConnectionEvent,
  ConnectionEventType,
  ConnectionMachine,
  ConnectionOutcome,
  ConnectionState,
} from "./connection.js";
