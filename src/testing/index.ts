/**
 * `statewire/testing`: drive an app like a client would (over memory or real TCP), generate
 * client flows with fast-check, play them, and check the lifecycle invariants on any app.
 */
export { HandshakeRejected, TestSocket, testClient } from "./client.js";
export type { CloseInfo, ConnectOptions, TestClient, TestClientOptions } from "./client.js";
export { clientFlow, clientFlows, clientStep, closeCode, closeReason, flowEnding } from "./flows.js";
export type { ClientFlow, FlowOptions, FlowStep, StepOptions } from "./flows.js";
export { runFlows } from "./run.js";
export type { FlowOutcome, ReceivedMessage, RunOptions, RunResult } from "./run.js";
export { assertInvariants, checkInvariants, InvariantViolation } from "./invariants.js";
export type { InvariantOptions, Violation } from "./invariants.js";
export { Probe, ResourceLedger } from "./probe.js";
export type { ConnectionRecord, MessageRecord } from "./probe.js";
export { initialReaction, machineModel } from "./machine-model.js";
export type { MachineModel, MachineModelOptions, ModelReaction, ModelRun } from "./machine-model.js";
export { checkMachinePaths, drivePath, MachinePathError, machinePaths } from "./machine-paths.js";
export type { CheckPathsOptions, DriveOptions, MachinePath, MachinePathStep, MachinePathsOptions, TransitionCoverage } from "./machine-paths.js";
export { checkMachineScript, machineScript, scriptVerdict } from "./machine-property.js";
export type { ScriptOptions, ScriptRunOptions, ScriptVerdict } from "./machine-property.js";
export { receiveOf, routeFlows, schemaValues } from "./route-flows.js";
