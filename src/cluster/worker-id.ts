/** The node:cluster worker id of this process, or undefined outside a cluster worker (stats, inspector, metrics label). */
import cluster from "node:cluster";

export const workerId: number | undefined = cluster.isWorker && cluster.worker !== undefined ? cluster.worker.id : undefined;
