/**
 * examples/workers.ts as a real process: a primary and 2 workers sharing one port, clients over
 * TCP. A broadcast reaches every client of every worker (Redis); the primary's metrics endpoint
 * shows both workers; a worker killed with -9 is replaced while the other's clients stay open;
 * SIGTERM to the primary closes every client with 1001, every worker prints final counts with
 * every cleanup run, and the primary exits 0.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, test } from "vitest";
import { WebSocket } from "ws";
import { type EchoProcess, freePort, startServer } from "./support/process.js";
import { startPrometheus } from "./support/prometheus.js";
import { PROMETHEUS, skipWithout } from "./support/system-tools.js";
import { deleteKeys, redisUrl, uniquePrefix } from "./support/redis-server.js";

// The aggregated metrics are also checked through a real Prometheus when it is installed (always under CI).
const withPrometheus = !(await skipWithout(PROMETHEUS, "the aggregated metrics through a real Prometheus", import.meta.url));

interface Client {
  readonly ws: WebSocket;
  readonly worker: number;
  readonly pid: number;
  readonly received: string[];
  readonly closed: Promise<number>;
}

function connect(base: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base}/live`);
    const received: string[] = [];
    const closed = new Promise<number>((done) => ws.once("close", (code) => done(code)));
    ws.once("message", (data) => {
      const hello = JSON.parse(String(data)) as { worker: number; pid: number };
      ws.on("message", (more) => received.push(String(more)));
      resolve({ ws, worker: hello.worker, pid: hello.pid, received, closed });
    });
    ws.once("error", reject);
  });
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(50);
  }
}

let url = "";
const prefix = uniquePrefix("workers");
let primary: EchoProcess;
let metricsUrl = "";

beforeAll(async () => {
  url = await redisUrl();
  const metricsPort = await freePort();
  metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  primary = await startServer(
    { command: process.execPath, args: ["--conditions=statewire-source", "--import", "tsx", "examples/workers.ts"], env: { WORKERS: "2", REDIS_URL: url, REDIS_PREFIX: prefix, METRICS_PORT: String(metricsPort) } },
    120_000,
  );
}, 150_000);

afterAll(async () => {
  await primary?.stop(15_000);
  await deleteKeys(url, prefix);
});

test("primary + 2 workers: broadcast everywhere, a killed worker replaced, SIGTERM closes all with 1001", async () => {
  const clients: Client[] = [];
  for (let i = 0; i < 16 || new Set(clients.map((c) => c.worker)).size < 2; i++) {
    if (i >= 64) throw new Error(`64 connections all landed on worker ${clients[0]?.worker}`);
    clients.push(await connect(primary.wsBase));
  }
  const workers = [...new Set(clients.map((c) => c.worker))].sort();
  expect(workers).toHaveLength(2);

  const broadcast = async (text: string): Promise<void> => {
    const response = await fetch(`${primary.httpBase}/broadcast`, { method: "POST", body: text });
    expect(response.status).toBe(200);
  };
  await broadcast("one");
  await until(() => clients.every((c) => c.received.includes("one")), "'one' at every client");

  // The primary serves every worker's metrics, each series labelled by its worker.
  const open = async (): Promise<Map<string, number>> => {
    const text = await (await fetch(metricsUrl)).text();
    const counts = new Map<string, number>();
    for (const match of text.matchAll(/^statewire_connections\{route="\/live",state="open",worker="(\d+)"\} (\d+)$/gm)) counts.set(match[1]!, Number(match[2]));
    return counts;
  };
  const byWorker = new Map<string, number>();
  for (const c of clients) byWorker.set(String(c.worker), (byWorker.get(String(c.worker)) ?? 0) + 1);
  expect(await open()).toEqual(byWorker);
  if (withPrometheus) {
    const prometheus = await startPrometheus([{ url: metricsUrl, job: "workers" }]);
    try {
      const perWorker = await prometheus.until('statewire_connections{route="/live",state="open"}', (samples) => samples.length === 2);
      expect(new Map(perWorker.map((sample) => [sample.labels.worker!, sample.value]))).toEqual(byWorker);
      const total = await prometheus.query('sum(statewire_connections{route="/live",state="open"})');
      expect(total.map((sample) => sample.value)).toEqual([clients.length]);
    } finally {
      await prometheus.stop();
    }
  }

  // kill -9 one worker: its clients see 1006, the other's stay open, a replacement starts.
  const victim = clients[0]!;
  const [doomed, survivors] = [clients.filter((c) => c.worker === victim.worker), clients.filter((c) => c.worker !== victim.worker)];
  process.kill(victim.pid, "SIGKILL");
  expect(new Set(await Promise.all(doomed.map((c) => c.closed)))).toEqual(new Set([1006]));
  const fresh: Client[] = [];
  await until(async () => {
    const client = await connect(primary.wsBase).catch(() => undefined);
    if (client !== undefined) fresh.push(client);
    return client !== undefined && !workers.includes(client.worker);
  }, "a replacement worker to take connections", 90_000);
  const live = [...survivors, ...fresh];
  for (const c of live) expect(c.ws.readyState).toBe(WebSocket.OPEN);
  await broadcast("two");
  await until(() => live.every((c) => c.received.includes("two")), "'two' at every live client");

  // SIGTERM to the primary: every client gets 1001, the primary exits 0.
  primary.child.kill("SIGTERM");
  const codes = await Promise.all(live.map((c) => c.closed));
  expect(new Set(codes)).toEqual(new Set([1001]));
  const exit = await primary.exited;
  expect(exit).toEqual({ code: 0, signal: null });
  // Each live worker printed its final counts once every cleanup had run.
  const finals = [...primary.stdout().matchAll(/^worker (\d+) closed (\{.*\})$/gm)].map((m) => JSON.parse(m[2]!) as {
    worker: number;
    open: number;
    started: number;
    closed: number;
    handlers: { started: number; finished: number };
  });
  expect(finals.map((f) => f.worker).sort()).toEqual([...new Set(live.map((c) => c.worker))].sort());
  for (const final of finals) {
    expect(final.open).toBe(0);
    expect(final.closed).toBe(final.started);
    expect(final.handlers.finished).toBe(final.handlers.started);
  }
  const perWorker = (id: number): number => live.filter((c) => c.worker === id).length + (id === victim.worker ? doomed.length : 0);
  for (const final of finals) expect(final.started).toBe(perWorker(final.worker));
}, 300_000);
