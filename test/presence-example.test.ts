/**
 * examples/presence.ts as two OS processes sharing a Redis: each member sees everyone in the
 * room on both processes, joins arrive as events, and when one process is killed (-9, no
 * cleanup) its member leaves the other process's list and event stream within the bound.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, test } from "vitest";
import { WebSocket } from "ws";
import { type EchoProcess, startServer } from "./support/process.js";
import { deleteKeys, redisUrl, uniquePrefix } from "./support/redis-server.js";

interface Client {
  readonly ws: WebSocket;
  readonly received: Record<string, unknown>[];
}

function connect(base: string, name: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base}/rooms/lobby?name=${name}`);
    const received: Record<string, unknown>[] = [];
    ws.on("message", (data) => received.push(JSON.parse(String(data)) as Record<string, unknown>));
    ws.once("open", () => resolve({ ws, received }));
    ws.once("error", reject);
  });
}

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(20);
  }
}

const HEARTBEAT_MS = 200;
let url = "";
const prefix = uniquePrefix("presence-example");
let a: EchoProcess;
let b: EchoProcess;

beforeAll(async () => {
  url = await redisUrl();
  const env = { REDIS_URL: url, REDIS_PREFIX: prefix, PRESENCE_HEARTBEAT_MS: String(HEARTBEAT_MS) };
  const command = { command: process.execPath, args: ["--conditions=statewire-source", "--import", "tsx", "examples/presence.ts"], env };
  [a, b] = await Promise.all([startServer(command, 30_000), startServer(command, 30_000)]);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await deleteKeys(url, prefix);
});

test("members across two processes; a killed process's member leaves within the bound", async () => {
  const ann = await connect(a.wsBase, "ann");
  await until(() => ann.received.some((m) => "members" in m), "ann's member list");
  // Its own join may come first (events are watched before the list is read).
  expect(ann.received.find((m) => "members" in m)).toMatchObject({ members: [{ id: "1", meta: { name: "ann" } }] });

  const bob = await connect(b.wsBase, "bob");
  await until(() => bob.received.some((m) => "members" in m), "bob's member list");
  const names = (bob.received.find((m) => "members" in m)!.members as { meta: { name: string } }[]).map((m) => m.meta.name).sort();
  expect(names).toEqual(["ann", "bob"]);
  await until(() => ann.received.some((m) => (m.join as { meta?: { name?: string } } | undefined)?.meta?.name === "bob"), "bob's join at ann");

  const listed = async (): Promise<string[]> =>
    ((await (await fetch(`${a.httpBase}/rooms/lobby/members`)).json()) as { meta: { name: string } }[]).map((m) => m.meta.name).sort();
  expect(await listed()).toEqual(["ann", "bob"]);

  const killedAt = Date.now();
  process.kill(b.pid, "SIGKILL");
  await until(() => ann.received.some((m) => (m.leave as { meta?: { name?: string } } | undefined)?.meta?.name === "bob"), "bob's leave at ann");
  // Bound: ttl (3 heartbeats) plus one heartbeat of the reaper; generous slack for a loaded machine.
  expect(Date.now() - killedAt).toBeLessThan(HEARTBEAT_MS * 4 + 5000);
  expect(await listed()).toEqual(["ann"]);
  ann.ws.close();
}, 60_000);
