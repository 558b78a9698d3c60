/**
 * The primary's side of metrics under node:cluster: one endpoint serving every worker's
 * metrics, gathered over IPC by prom-client's AggregatorRegistry. Each worker's series keep
 * their `worker` label, so Prometheus sees them per worker and `sum()` aggregates them.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { AggregatorRegistry } from "prom-client";

export interface ClusterMetricsServer {
  readonly server: Server;
  /** `http://host:port/metrics` */
  readonly url: string;
  close(): Promise<void>;
}

/** Serve the workers' metrics from the primary on `host:port` (default 127.0.0.1, any free port) at `path` (default `/metrics`). */
export async function serveClusterMetrics(options: { port?: number; host?: string; path?: string } = {}): Promise<ClusterMetricsServer> {
  const aggregator = new AggregatorRegistry();
  const path = options.path ?? "/metrics";
  const server = createServer((request, response) => {
    if (request.method !== "GET" || (request.url ?? "").split("?")[0] !== path) {
      response.writeHead(404).end("Not Found");
      return;
    }
    aggregator.clusterMetrics().then(
      (text) => response.writeHead(200, { "content-type": aggregator.contentType }).end(text),
      (error: unknown) => response.writeHead(500, { "content-type": "text/plain" }).end(`Could not gather worker metrics: ${error instanceof Error ? error.message : String(error)}`),
    );
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host}:${port}${path}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
