/** `statewire/cluster`: one app on every core, over node:cluster. */
export { runWorkers } from "./run-workers.js";
export type { Primary, WorkerProcess, WorkersOptions } from "./run-workers.js";
export { workerId } from "./worker-id.js";
