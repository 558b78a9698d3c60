/**
 * What `test/support/fault-server.ts` is configured with, and the IPC messages between it and
 * the test (kept apart so that importing them does not start a server).
 */
import type { StatsSnapshot } from "../../src/index.js";

export interface FaultServerOptions {
  readonly maxPayload: number;
  readonly heartbeat: { readonly intervalMs: number; readonly timeoutMs: number };
  readonly handshakeTimeoutMs: number;
  readonly closeTimeoutMs: number;
}

export const FAULT_SERVER_OPTIONS: FaultServerOptions = {
  maxPayload: 64 * 1024,
  heartbeat: { intervalMs: 200, timeoutMs: 300 },
  handshakeTimeoutMs: 500,
  closeTimeoutMs: 500,
};

export type ToServer = { readonly type: "stats"; readonly id: number; readonly gc: boolean };

export type FromServer =
  | { readonly type: "ready"; readonly port: number }
  | {
      readonly type: "stats";
      readonly id: number;
      readonly stats: StatsSnapshot;
      /** `process.memoryUsage().heapUsed` (after gc when asked). */
      readonly heapUsed: number;
      /** `process.memoryUsage().arrayBuffers`: Buffers live outside the V8 heap. */
      readonly arrayBuffers: number;
      readonly rss: number;
      /** `process.getActiveResourcesInfo().length`, when the server reports it. */
      readonly handles?: number;
    };
