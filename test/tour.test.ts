/**
 * The seed tour (`examples/tour.ts`) run as its own OS process, the way a user starts it, and
 * every row of its contract checked over real TCP on 127.0.0.1 by clients that know nothing of
 * statewire: the plain `ws` client for every row, Python's `websockets` for a subset
 * (test/support/tour_client.py), `fetch` for the HTTP rows, and headless Chromium for the page.
 */
import { execFile, spawn } from "node:child_process";
import type { IncomingMessage } from "node:http";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { WebSocket } from "ws";
import { type EchoProcess, freePort, NODE_TS, ROOT, startServer } from "./support/process.js";
import { CHROMIUM as CHROMIUM_TOOL, PYTHON_WEBSOCKETS, skipWithout } from "./support/system-tools.js";

const PYTHON = "/usr/bin/python3";
const CHROMIUM = "/usr/bin/chromium";
const noPython = await skipWithout(PYTHON_WEBSOCKETS, "the tour's rows through Python's websockets", import.meta.url);
const noChromium = await skipWithout(CHROMIUM_TOOL, "the tour's page in headless Chromium", import.meta.url);

let server: EchoProcess | undefined;
const tour = (): EchoProcess => {
  if (server === undefined) throw new Error("examples/tour.ts was not started");
  return server;
};

beforeAll(async () => {
  server = await startServer({ args: ["examples/tour.ts"] });
}, 30_000);

afterAll(async () => {
  if (server === undefined) return;
  const exit = await server.stop(3000);
  expect(server.killed(), `the tour needed SIGKILL; stderr:\n${server.stderr()}`).toBe(false);
  expect(exit.code, `stderr:\n${server.stderr()}`).toBe(0);
}, 15_000);

/** Resolve with `promise`, or reject after `ms` naming `what`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface Frame {
  readonly data: Buffer;
  readonly isBinary: boolean;
  /** `Date.now()` when it arrived. */
  readonly at: number;
}

interface Closed {
  readonly code: number;
  readonly reason: string;
}

interface PeerOptions {
  readonly headers?: Record<string, string>;
  readonly protocols?: string[];
}

/** A plain `ws` client with a queue of received frames. */
class Peer {
  readonly ws: WebSocket;
  readonly closed: Promise<Closed>;
  /** The 101 response (its headers). */
  response: IncomingMessage | undefined;
  readonly #frames: Frame[] = [];
  readonly #waiters: ((frame: Frame) => void)[] = [];

  private constructor(url: string, options: PeerOptions) {
    this.ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? {} });
    this.ws.on("upgrade", (response) => (this.response = response));
    this.ws.on("error", () => {}); // reported through `open` / `closed`
    this.closed = new Promise((resolve) => this.ws.once("close", (code, reason) => resolve({ code, reason: reason.toString("utf8") })));
    this.ws.on("message", (data, isBinary) => {
      const frame = { data: data as Buffer, isBinary, at: Date.now() };
      const waiter = this.#waiters.shift();
      if (waiter !== undefined) waiter(frame);
      else this.#frames.push(frame);
    });
  }

  /** Open `path` on the tour; rejects with the HTTP status when the handshake is refused. */
  static open(path: string, options: PeerOptions = {}): Promise<Peer> {
    const peer = new Peer(`${tour().wsBase}${path}`, options);
    return within(
      new Promise<Peer>((resolve, reject) => {
        peer.ws.once("open", () => resolve(peer));
        peer.ws.once("unexpected-response", (_request, response) => reject(new HandshakeStatus(response.statusCode ?? 0)));
        peer.ws.once("error", reject);
      }),
      5000,
      `opening ${path}`,
    );
  }

  /** Frames received and not read yet. */
  get pending(): number {
    return this.#frames.length;
  }

  next(ms = 5000): Promise<Frame> {
    const frame = this.#frames.shift();
    if (frame !== undefined) return Promise.resolve(frame);
    return within(new Promise<Frame>((resolve) => this.#waiters.push(resolve)), ms, "waiting for a frame");
  }

  async text(): Promise<string> {
    const frame = await this.next();
    expect(frame.isBinary, "expected a text frame").toBe(false);
    return frame.data.toString("utf8");
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown;
  }

  async bytes(): Promise<Buffer> {
    const frame = await this.next();
    expect(frame.isBinary, "expected a binary frame").toBe(true);
    return frame.data;
  }

  send(data: string | Buffer): void {
    this.ws.send(data);
  }

  /** Close from the client and wait for the closing handshake. */
  async close(code = 1000): Promise<Closed> {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code);
    return within(this.closed, 5000, "closing");
  }

  /** How the server closed, waited for. */
  serverClose(): Promise<Closed> {
    return within(this.closed, 5000, "waiting for the server's close");
  }
}

class HandshakeStatus extends Error {
  constructor(readonly status: number) {
    super(`handshake refused with HTTP ${status}`);
  }
}

/** The status an upgrade to `path` is refused with. */
async function refusedWith(path: string, options: PeerOptions = {}): Promise<number> {
  const error = await Peer.open(path, options).then(
    async (peer) => {
      await peer.close();
      throw new Error(`${path} opened`);
    },
    (e: unknown) => e,
  );
  if (!(error instanceof HandshakeStatus)) throw error;
  return error.status;
}

interface TourStats {
  readonly open: number;
  readonly accepted: number;
  readonly closed: number;
  readonly dependencies: { readonly acquired: number; readonly released: number };
  readonly streams: { readonly started: number; readonly finalized: number };
  readonly errors: number;
}

async function stats(): Promise<TourStats> {
  const response = await fetch(`${tour().httpBase}/stats`);
  expect(response.status).toBe(200);
  return (await response.json()) as TourStats;
}

/** The stats once no connection is open and every dependency and stream has been cleaned up. */
async function settledStats(): Promise<TourStats> {
  let last: TourStats | undefined;
  await expect
    .poll(async () => {
      last = await stats();
      return last.open === 0 && last.dependencies.acquired === last.dependencies.released && last.streams.started === last.streams.finalized;
    }, { timeout: 5000, interval: 20 })
    .toBe(true);
  return last!;
}

const isIsoTimestamp = (text: string): boolean => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(text) && !Number.isNaN(Date.parse(text));

describe("low-level routes (ws client)", () => {
  test("/ws: text M → `Echo: M`", async () => {
    const peer = await Peer.open("/ws");
    peer.send("hello");
    expect(await peer.text()).toBe("Echo: hello");
    peer.send("second");
    expect(await peer.text()).toBe("Echo: second");
    expect(await peer.close()).toMatchObject({ code: 1000 });
  });

  test("/echo: every message back unchanged, text as text, binary as binary (empty, fragmented, 16 MiB)", async () => {
    const peer = await Peer.open("/echo");
    peer.send("héllo ✓");
    expect(await peer.text()).toBe("héllo ✓");
    peer.send("");
    expect(await peer.text()).toBe("");
    peer.send(Buffer.from([0, 1, 254, 255]));
    expect((await peer.bytes()).toString("hex")).toBe("0001feff");
    peer.send(Buffer.alloc(0));
    expect((await peer.bytes()).length).toBe(0);
    // A text message in three fragments comes back as one text message.
    peer.ws.send("frag", { fin: false });
    peer.ws.send("men", { fin: false });
    peer.ws.send("ted", { fin: true });
    expect(await peer.text()).toBe("fragmented");
    // Autobahn's largest echo case: 16 MiB.
    const big = Buffer.alloc(16 * 1024 * 1024, 7);
    big[big.length - 1] = 9;
    peer.send(big);
    const back = await peer.bytes();
    expect(back.length).toBe(big.length);
    expect(back.equals(big)).toBe(true);
    expect(await peer.close()).toMatchObject({ code: 1000 });
  });

  test("production limits everywhere but /echo: a 2 MiB message closes /ws and /json with 1009, /echo echoes it", async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 7);
    for (const path of ["/ws", "/json", "/listener/echo"]) {
      const peer = await Peer.open(path);
      peer.send(big);
      expect((await peer.serverClose()).code, path).toBe(1009);
    }
    const echo = await Peer.open("/echo");
    echo.send(big);
    expect((await echo.bytes()).equals(big)).toBe(true);
    await echo.close();
  });

  test("/json: JSON J → JSON {received: J}", async () => {
    const peer = await Peer.open("/json");
    peer.send(JSON.stringify({ a: [1, "two", null] }));
    expect(await peer.json()).toEqual({ received: { a: [1, "two", null] } });
    peer.send("42");
    expect(await peer.json()).toEqual({ received: 42 });
    await peer.close();
  });

  test("/bytes: binary B → binary B", async () => {
    const peer = await Peer.open("/bytes");
    peer.send(Buffer.from("0a0b0c", "hex"));
    expect((await peer.bytes()).toString("hex")).toBe("0a0b0c");
    await peer.close();
  });

  test("/quit: `quit` closes 1000 `User requested disconnect`, anything else is echoed", async () => {
    const peer = await Peer.open("/quit");
    peer.send("stay");
    expect(await peer.text()).toBe("Echo: stay");
    peer.send("quit");
    expect(await peer.serverClose()).toEqual({ code: 1000, reason: "User requested disconnect" });
    expect(peer.pending).toBe(0);
  });

  test("/errors: doubled values, validation failures with details, a caught internal error; the connection stays open", async () => {
    const peer = await Peer.open("/errors");
    peer.send(JSON.stringify({ value: 21 }));
    expect(await peer.json()).toEqual({ success: true, data: 42 });
    peer.send(JSON.stringify({ value: -1.5 }));
    expect(await peer.json()).toEqual({ success: true, data: -3 });
    for (const bad of [JSON.stringify({ value: "x" }), JSON.stringify({}), "[1]", "not json", JSON.stringify({ value: null })]) {
      peer.send(bad);
      const reply = (await peer.json()) as { success: boolean; error: string; details: unknown[] };
      expect(reply, bad).toMatchObject({ success: false, error: "Validation failed" });
      expect(Array.isArray(reply.details) && reply.details.length > 0, bad).toBe(true);
    }
    peer.send("boom");
    expect(await peer.json()).toEqual({ success: false, error: "Internal error" });
    peer.send(JSON.stringify({ value: 1 }));
    expect(await peer.json()).toEqual({ success: true, data: 2 });
    expect(peer.ws.readyState).toBe(WebSocket.OPEN);
    await peer.close();
  });

  test("/crash: close 1011 with a reason free of internals; errors counted; the server keeps serving", async () => {
    const before = await settledStats();
    const peer = await Peer.open("/crash");
    peer.send("anything");
    const closed = await peer.serverClose();
    expect(closed.code).toBe(1011);
    expect(closed.reason).toBe("Internal error");
    const after = await settledStats();
    expect(after.errors).toBe(before.errors + 1);

    const again = await Peer.open("/ws");
    again.send("still here");
    expect(await again.text()).toBe("Echo: still here");
    await again.close();
  });

  test("/custom-accept: X-Custom header, chat-v1 only when offered, then an echo", async () => {
    const offered = await Peer.open("/custom-accept", { protocols: ["chat-v1"] });
    expect(offered.ws.protocol).toBe("chat-v1");
    expect(offered.response?.headers["x-custom"]).toBe("value");
    offered.send("as is");
    expect(await offered.text()).toBe("as is");
    await offered.close();

    const plain = await Peer.open("/custom-accept");
    expect(plain.ws.protocol).toBe("");
    expect(plain.response?.headers["sec-websocket-protocol"]).toBeUndefined();
    expect(plain.response?.headers["x-custom"]).toBe("value");
    await plain.close();
  });

  test("/secure: anything but good-token → handshake, then close 4001 `Invalid token`; good-token echoes", async () => {
    for (const path of ["/secure", "/secure?token=bad", "/secure?token="]) {
      const peer = await Peer.open(path);
      expect(await peer.serverClose(), path).toEqual({ code: 4001, reason: "Invalid token" });
      expect(peer.pending).toBe(0);
    }
    const good = await Peer.open("/secure?token=good-token");
    good.send("hi");
    expect(await good.text()).toBe("hi");
    await good.close();
  });

  test("/stream/:dataType: stocks, weather, news answer ping with pong and push nothing; others close 1008", async () => {
    for (const dataType of ["stocks", "weather", "news"]) {
      const peer = await Peer.open(`/stream/${dataType}`);
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(peer.pending, `${dataType} pushed something`).toBe(0);
      peer.send("ping");
      expect(await peer.text()).toBe("pong");
      await peer.close();
    }
    const bad = await Peer.open("/stream/sports");
    expect(await bad.serverClose()).toEqual({ code: 1008, reason: "Invalid data type" });
  });
});

describe("listeners (ws client)", () => {
  test("/listener/echo: text M → `Echo: M`", async () => {
    const peer = await Peer.open("/listener/echo");
    peer.send("hi");
    expect(await peer.text()).toBe("Echo: hi");
    await peer.close();
  });

  test("/listener/chat: {user, content} → {user, response}; invalid JSON or schema → 1007", async () => {
    const peer = await Peer.open("/listener/chat");
    peer.send(JSON.stringify({ user: "ann", content: "yo" }));
    expect(await peer.json()).toEqual({ user: "ann", response: "Received: yo" });
    peer.send(JSON.stringify({ user: "ann" }));
    expect((await peer.serverClose()).code).toBe(1007);

    const invalid = await Peer.open("/listener/chat");
    invalid.send("{oops");
    expect((await invalid.serverClose()).code).toBe(1007);
  });

  test("/listener/binary: binary B → B reversed; a text frame → 1003", async () => {
    const peer = await Peer.open("/listener/binary");
    peer.send(Buffer.from([1, 2, 3, 4]));
    expect([...(await peer.bytes())]).toEqual([4, 3, 2, 1]);
    peer.send("text");
    expect((await peer.serverClose()).code).toBe(1003);
  });

  test("/listener/socket: `Hello 127.0.0.1` first, then `Received: M`", async () => {
    const peer = await Peer.open("/listener/socket");
    expect(await peer.text()).toBe("Hello 127.0.0.1");
    peer.send("m");
    expect(await peer.text()).toBe("Received: m");
    await peer.close();
  });

  test("/listener/secured: the user from the token; missing or unknown → HTTP 403", async () => {
    for (const [token, user] of [["alice-token", "Alice"], ["bob-token", "Bob"]] as const) {
      const peer = await Peer.open(`/listener/secured?token=${token}`);
      peer.send("x");
      expect(await peer.text()).toBe(`Hello ${user}, you sent: x`);
      await peer.close();
    }
    expect(await refusedWith("/listener/secured")).toBe(403);
    expect(await refusedWith("/listener/secured?token=mallory-token")).toBe(403);
  });

  test("/listener/db: `Result: M`; the resource is acquired per connection and released after close", async () => {
    const before = await settledStats();
    const peer = await Peer.open("/listener/db");
    peer.send("q");
    expect(await peer.text()).toBe("Result: q");
    const during = await stats();
    expect(during.open).toBe(1);
    expect(during.dependencies.acquired).toBe(before.dependencies.acquired + 1);
    expect(during.dependencies.released).toBe(before.dependencies.released);
    await peer.close();
    const after = await settledStats();
    expect(after.dependencies.released).toBe(before.dependencies.released + 1);
  });

  test("/crash is a listener too: each new connection gets 1011 on its first message", async () => {
    const peers = await Promise.all([Peer.open("/crash"), Peer.open("/crash")]);
    for (const peer of peers) peer.send("x");
    for (const peer of peers) expect((await peer.serverClose()).code).toBe(1011);
  });
});

describe("streams (ws client)", () => {
  test("/time: a timestamp at once, then every interval; the generator is finalized when the client leaves", async () => {
    const before = await settledStats();
    const opened = Date.now();
    const peer = await Peer.open("/time?interval=50");
    const frames = [await peer.next(), await peer.next(), await peer.next()];
    for (const frame of frames) expect(isIsoTimestamp(frame.data.toString()), frame.data.toString()).toBe(true);
    expect(frames[0]!.at - opened).toBeLessThan(1000);
    expect(frames[2]!.at - frames[0]!.at).toBeGreaterThanOrEqual(90);
    expect(Date.parse(frames[2]!.data.toString()) - Date.parse(frames[0]!.data.toString())).toBeGreaterThanOrEqual(95);
    const during = await stats();
    expect(during.streams.started).toBe(before.streams.started + 1);
    expect(during.streams.finalized).toBe(before.streams.finalized);
    await peer.close();
    const after = await settledStats();
    expect(after.streams.finalized).toBe(before.streams.finalized + 1);
  });

  test("/time: the default interval is 1000 ms", async () => {
    const peer = await Peer.open("/time");
    const first = await peer.next();
    const second = await peer.next(3000);
    expect(second.at - first.at).toBeGreaterThanOrEqual(950);
    expect(second.at - first.at).toBeLessThan(2500);
    await peer.close();
  });

  test("/progress: 100 updates i/100 with timestamps, `delay` ms apart, then close 1000", async () => {
    const peer = await Peer.open("/progress?task=t1&delay=5");
    const updates: { status: string; progress: number; timestamp: string }[] = [];
    for (let i = 0; i < 100; i++) updates.push((await peer.json()) as (typeof updates)[number]);
    updates.forEach((update, i) => {
      expect(update).toEqual({ status: "processing", progress: i / 100, timestamp: update.timestamp });
      expect(isIsoTimestamp(update.timestamp)).toBe(true);
    });
    expect(Date.parse(updates[99]!.timestamp) - Date.parse(updates[0]!.timestamp)).toBeGreaterThanOrEqual(99 * 5 - 5);
    expect((await peer.serverClose()).code).toBe(1000);
    expect(peer.pending).toBe(0);
  });

  test("/progress: the default delay is 100 ms", async () => {
    const peer = await Peer.open("/progress?task=t2");
    const first = await peer.next();
    const second = await peer.next();
    expect(second.at - first.at).toBeGreaterThanOrEqual(90);
    expect(JSON.parse(second.data.toString())).toMatchObject({ status: "processing", progress: 0.01 });
    await peer.close();
  });

  test("/notifications: {user, n} for n = 1, 2, 3 … every 100 ms", async () => {
    const peer = await Peer.open("/notifications?user=ann");
    const frames = [await peer.next(), await peer.next(), await peer.next()];
    expect(frames.map((frame) => JSON.parse(frame.data.toString()) as unknown)).toEqual([
      { user: "ann", n: 1 },
      { user: "ann", n: 2 },
      { user: "ann", n: 3 },
    ]);
    expect(frames[2]!.at - frames[0]!.at).toBeGreaterThanOrEqual(190);
    await peer.close();
  });
});

describe("class-based chat, rooms, one controller (ws client)", () => {
  test("/class/chat: joins general; others get `Alice: M`, Alice exactly one reply; bad or missing token → 4001", async () => {
    const alice = await Peer.open("/class/chat", { headers: { Authorization: "Bearer alice-token" } });
    const bob = await Peer.open("/class/chat", { headers: { Authorization: "Bearer bob-token" } });
    // Bob's reply proves he has joined (messages are handled only after onAccept); Alice hears him, so she has too.
    bob.send("ready");
    expect(await bob.text()).toBe("Bob: ready");
    expect(await alice.text()).toBe("Bob: ready");

    alice.send("hello");
    expect(await alice.text()).toBe("Alice: hello");
    expect(await bob.text()).toBe("Alice: hello");
    alice.send("again"); // the next frame Alice sees is this reply: she got "hello" exactly once
    expect(await alice.text()).toBe("Alice: again");
    expect(await bob.text()).toBe("Alice: again");

    // On disconnect Bob leaves: Alice's messages reach nobody else, and the server does not fail.
    await bob.close();
    alice.send("alone");
    expect(await alice.text()).toBe("Alice: alone");
    await alice.close();

    for (const headers of [{}, { Authorization: "Bearer mallory-token" }, { Authorization: "alice-token" }]) {
      const peer = await Peer.open("/class/chat", { headers });
      expect(await peer.serverClose(), JSON.stringify(headers)).toEqual({ code: 4001, reason: "Invalid token" });
    }
  });

  test("/rooms/:room: every member of the room gets each message, the sender too; members from the handshake on", async () => {
    const a = await Peer.open("/rooms/r1");
    const b = await Peer.open("/rooms/r1");
    const other = await Peer.open("/rooms/r2");
    b.send("from b"); // right after its handshake: a and b are both members already
    expect(await a.text()).toBe("from b");
    expect(await b.text()).toBe("from b");
    a.send("from a");
    expect(await a.text()).toBe("from a");
    expect(await b.text()).toBe("from a");
    other.send("elsewhere");
    expect(await other.text()).toBe("elsewhere");
    expect(a.pending + b.pending).toBe(0);
    await b.close();
    a.send("after b left");
    expect(await a.text()).toBe("after b left");
    expect(other.pending).toBe(0);
    await a.close();
    await other.close();
  });

  test("/chat/live stores and echoes; GET /chat/history returns the last 50 as a JSON array of strings", async () => {
    const peer = await Peer.open("/chat/live");
    const sent = Array.from({ length: 55 }, (_, i) => `line ${i}`);
    for (const line of sent) {
      peer.send(line);
      expect(await peer.text()).toBe(line);
    }
    await peer.close();
    const response = await fetch(`${tour().httpBase}/chat/history`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/json");
    expect(await response.json()).toEqual(sent.slice(-50));
  });
});

describe("HTTP rows (fetch, ws client)", () => {
  test("GET /stats: the documented shape, and counts that move with connections", async () => {
    const before = await settledStats();
    expect(Object.keys(before).sort()).toEqual(["accepted", "closed", "dependencies", "errors", "open", "streams"]);
    for (const value of [before.open, before.accepted, before.closed, before.errors, before.dependencies.acquired, before.dependencies.released, before.streams.started, before.streams.finalized]) {
      expect(Number.isInteger(value)).toBe(true);
    }
    const peer = await Peer.open("/ws");
    const during = await stats();
    expect(during.open).toBe(1);
    expect(during.accepted).toBe(before.accepted + 1);
    await peer.close();
    const after = await settledStats();
    expect(after.closed).toBe(before.closed + 1);
    expect(after.open).toBe(0);
  });

  test("GET /: an HTML page without external scripts that chats in /rooms/lobby", async () => {
    const response = await fetch(`${tour().httpBase}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    const page = await response.text();
    expect(page).toContain("/rooms/lobby");
    expect(page).not.toMatch(/<script[^>]+src=/i);
    expect(page).not.toMatch(/https?:\/\//);
  });

  test("an upgrade to an unknown path → 404; a plain GET to a WebSocket-only route → 426", async () => {
    for (const path of ["/nope", "/listener", "/rooms", "/chat/history/live", "/stats/ws"]) expect(await refusedWith(path), path).toBe(404);
    const wsOnly = [
      "/ws", "/echo", "/json", "/bytes", "/listener/echo", "/listener/chat", "/listener/binary", "/listener/socket",
      "/listener/secured?token=alice-token", "/listener/db", "/time", "/progress", "/notifications", "/class/chat",
      "/custom-accept", "/secure", "/errors", "/crash", "/quit", "/stream/stocks", "/rooms/lobby", "/chat/live",
    ];
    for (const path of wsOnly) {
      const response = await fetch(`${tour().httpBase}${path}`);
      expect(response.status, path).toBe(426);
      expect(response.headers.get("upgrade")?.toLowerCase(), path).toBe("websocket");
      await response.body?.cancel();
    }
    const unknown = await fetch(`${tour().httpBase}/nope`);
    expect(unknown.status).toBe(404);
    await unknown.body?.cancel();
  });
});

interface PythonScenarios {
  readonly importError?: string;
  readonly version: string;
  readonly [name: string]: unknown;
}

function runPython(): Promise<PythonScenarios> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [`${ROOT}test/support/tour_client.py`, tour().wsBase], { timeout: 40_000, killSignal: "SIGKILL" }, (error, stdout, stderr) => {
      if (error !== null) {
        reject(new Error(`${PYTHON} tour client failed: ${error.message}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as PythonScenarios);
      } catch {
        reject(new Error(`${PYTHON} tour client printed no JSON line.\nstdout:\n${stdout}\nstderr:\n${stderr}`));
      }
    });
  });
}

describe.skipIf(noPython)("Python's websockets (asyncio client)", () => {
  let python: PythonScenarios;
  beforeAll(async () => {
    python = await runPython();
    if (python.importError !== undefined) {
      throw new Error(`${PYTHON} cannot import websockets (${python.importError}); install it with: apt-get install -y python3-websockets`);
    }
  }, 45_000);

  test("/ws", () => {
    expect(python.ws).toEqual({ reply: "Echo: hello" });
  });

  test("/echo: text as str, binary as bytes, unchanged", () => {
    expect(python.echo).toEqual({ text: "héllo ✓", textType: "str", binaryHex: "0001feff", binaryType: "bytes", closeCode: 1000 });
  });

  test("/listener/chat: a valid message answered; a schema failure and invalid JSON close 1007", () => {
    expect(python.chat).toEqual({
      valid: { user: "ann", response: "Received: hi" },
      schema: { code: 1007, reason: expect.any(String) as string },
      invalidJson: { code: 1007, reason: expect.any(String) as string },
    });
  });

  test("/custom-accept: chat-v1 when offered, none otherwise; X-Custom both times", () => {
    expect(python.customAccept).toEqual({
      offered: { subprotocol: "chat-v1", xCustom: "value", echo: "same" },
      plain: { subprotocol: null, xCustom: "value" },
    });
  });

  test("/secure: 4001 `Invalid token` without the token; an echo with it", () => {
    expect(python.secure).toEqual({ missing: { code: 4001, reason: "Invalid token" }, good: "let me in" });
  });

  test("/quit: an echo, then 1000 `User requested disconnect`", () => {
    expect(python.quit).toEqual({ echo: "Echo: hi", closed: { code: 1000, reason: "User requested disconnect" } });
  });

  test("/listener/secured: HTTP 403 for an unknown token; Bob by his token", () => {
    expect(python.secured).toEqual({ deniedStatus: 403, reply: "Hello Bob, you sent: yo" });
  });
});

describe("every example is mounted (ws client)", () => {
  test("/class/room (class-based.ts): each member's line goes to the others and back to the sender", async () => {
    const ann = await Peer.open("/class/room?name=ann");
    const ben = await Peer.open("/class/room?name=ben");
    ann.send("hi");
    expect(await ann.text()).toBe("ann: hi");
    expect(await ben.text()).toBe("ann: hi");
    await Promise.all([ann.close(), ben.close()]);
  });

  test("/countdown (streams.ts): counts down every interval, answers messages, closes 1000 `liftoff`", async () => {
    const peer = await Peer.open("/countdown?from=3&interval=20");
    expect(await peer.json()).toEqual({ remaining: 3 });
    peer.send("stop");
    const closed = await peer.serverClose();
    const rest: unknown[] = [];
    while (peer.pending > 0) rest.push(await peer.json());
    expect(rest).toContainEqual({ ack: "stop" });
    expect(closed).toEqual({ code: 1000, reason: "liftoff" });
  });

  test("/streamer/stream/:topic (data-streamer.ts): readings of the topic from the producer the app started; unknown topic → 1008", async () => {
    const peer = await Peer.open("/streamer/stream/humidity");
    const reading = (await peer.json()) as { topic: string; seq: number };
    expect(reading.topic).toBe("humidity");
    expect(((await peer.json()) as { seq: number }).seq).toBeGreaterThan(reading.seq);
    await peer.close();
    const status = (await (await fetch(`${tour().httpBase}/streamer/producer`)).json()) as { running: boolean };
    expect(status.running).toBe(true);
    const unknown = await Peer.open("/streamer/stream/noise");
    expect((await unknown.serverClose()).code).toBe(1008);
  });

});

describe("the middleware example on the tour", () => {
  test("/mw (middleware.ts): HTTP answers carry the request id; empty messages never reach the echo; the close code is seen", async () => {
    const hello = await fetch(`${tour().httpBase}/mw/hello`);
    expect(await hello.text()).toBe("hello");
    expect(hello.headers.get("x-request-id")).toMatch(/^\d+$/);
    const peer = await Peer.open("/mw/echo");
    peer.send("");
    peer.send("one");
    expect(await peer.text()).toBe("echo: one");
    expect(peer.pending).toBe(0);
    await peer.close();
    await expect.poll(async () => (await (await fetch(`${tour().httpBase}/mw/log`)).json()) as string[]).toEqual(
      expect.arrayContaining(["message dropped: empty", expect.stringMatching(/^connection \/mw\/echo closed 1000 after \d+ ms$/), expect.stringMatching(/^request \d+ GET \/mw\/hello 200$/)]),
    );
  });
});

describe("the channels example on the tour (ws client)", () => {
  test("/channels/rooms/:room (chat-rooms.ts): a message reaches every member through the channels plugin; GET …/history lists it", async () => {
    const room = `tour-${Date.now()}`;
    const a = await Peer.open(`/channels/rooms/${room}`);
    a.send("a here"); // handled once a has joined: its own copy proves it is a member
    expect(await a.text()).toBe("a here");
    const b = await Peer.open(`/channels/rooms/${room}`);
    expect(await b.text()).toBe("a here"); // the room's history, on join
    b.send("b here");
    expect(await b.text()).toBe("b here");
    expect(await a.text()).toBe("b here");
    a.send("hello channels");
    expect(await a.text()).toBe("hello channels");
    expect(await b.text()).toBe("hello channels");
    const history = await (await fetch(`${tour().httpBase}/channels/rooms/${room}/history`)).json();
    expect(history).toEqual(["a here", "b here", "hello channels"]);
    await Promise.all([a.close(), b.close()]);
  });
});

describe.skipIf(noChromium)("the page in headless Chromium", () => {
  test("GET / chats in /rooms/lobby: the page sends one message and receives it, and one from another client", async () => {
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on("pageerror", (error) => problems.push(error.message));
      page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()}`));
      await page.goto(`${tour().httpBase}/`);
      await page.locator("#status", { hasText: "open" }).waitFor({ timeout: 5000 });

      const listener = await Peer.open("/rooms/lobby");
      await page.fill("#text", "hello from chromium");
      await page.click("button");
      await page.locator(".message", { hasText: "hello from chromium" }).waitFor({ timeout: 5000 });
      expect(await listener.text()).toBe("hello from chromium");

      listener.send("hello from ws");
      await page.locator(".message", { hasText: "hello from ws" }).waitFor({ timeout: 5000 });
      expect(await listener.text()).toBe("hello from ws");
      expect(await page.locator(".message").allTextContents()).toEqual(["hello from chromium", "hello from ws"]);
      expect(problems).toEqual([]);
      await listener.close();
    } finally {
      await browser.close();
    }
  }, 30_000);
});

describe("the start contract", () => {
  test("`PORT=… node --conditions=statewire-source --import tsx examples/tour.ts` prints exactly `listening on http://127.0.0.1:PORT` (HOST defaults to 127.0.0.1)", async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), NODE_OPTIONS: "" };
    delete env.HOST;
    delete env.INSPECTOR;
    const child = spawn(process.execPath, [...NODE_TS, "examples/tour.ts"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      await expect.poll(() => out.includes("\n"), { timeout: 15_000, interval: 50 }).toBe(true);
      expect(out.split("\n")[0], `stderr:\n${err}`).toBe(`listening on http://127.0.0.1:${port}`);
      const response = await fetch(`http://127.0.0.1:${port}/stats`);
      expect(response.status).toBe(200);
      await response.body?.cancel();
    } finally {
      try {
        process.kill(-(child.pid ?? 0), "SIGTERM");
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-(child.pid ?? 0), "SIGKILL");
        } catch {
          // already gone
        }
      }, 3000);
      await exited;
      clearTimeout(timer);
    }
  }, 30_000);
});

describe("the protocol machine in the tour", () => {
  test("/protocol: hello → welcome, ping → pong, bye → close 1000 bye", async () => {
    const peer = await Peer.open("/protocol");
    peer.send(JSON.stringify({ type: "hello", name: "tour" }));
    expect(JSON.parse(await peer.text())).toEqual({ type: "welcome", name: "tour" });
    peer.send(JSON.stringify({ type: "ping" }));
    expect(JSON.parse(await peer.text())).toEqual({ type: "pong" });
    peer.send(JSON.stringify({ type: "bye" }));
    expect(await peer.closed).toMatchObject({ code: 1000, reason: "bye" });
  });
});
