/**
 * The node:cluster worker id of this process, or undefined outside a cluster worker (stats,
 * inspector, metrics label). A worker always has an IPC channel, and Node has already loaded
 * node:cluster in it; elsewhere loading it would cost startup time for nothing, so a process
 * without IPC never loads it.
 */
import { createRequire } from "node:module";
import type { Cluster } from "node:cluster";

function clusterWorkerId(): number | undefined {
  if (typeof process.send !== "function") return undefined;
  const cluster = createRequire(import.meta.url)("node:cluster") as Cluster;
  return cluster.isWorker && cluster.worker !== undefined ? cluster.worker.id : undefined;
}

export const workerId: number | undefined = clusterWorkerId();
