/**
 * The HTTP / upgrade edge under hostile requests, one test per way it broke (issue 13, items 1,
 * 2, 3, 8, 10, 13), against a real server process (`test/support/edge-server.ts`) so that a
 * crash shows as an exit. The generated version of these is `edge-fuzz.test.ts`.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createApp, provide, Socket, websocket, type App } from "../src/index.js";
import { type FaultProcess, startFaultServer } from "./support/fault-process.js";
import { exchange, httpRequest, statuses, upgradeRequest } from "./support/raw-http.js";

let current: FaultProcess | undefined;

/** The edge server, restarted when a previous test killed it (so one crash fails one test). */
async function server(): Promise<FaultProcess> {
  if (current !== undefined && current.child.exitCode === null && current.child.signalCode === null) return current;
  current = await startFaultServer(20_000, "test/support/edge-server.ts");
  return current;
}

/** The server is still running and `/stats` answers 200. */
async function expectAlive(edge: FaultProcess): Promise<void> {
  const { response } = await exchange(edge.port, httpRequest("GET", "/stats", { Connection: "close" }));
  expect(edge.child.exitCode, `the server exited:\n${edge.stderr()}`).toBeNull();
  expect(edge.child.signalCode).toBeNull();
  expect(statuses(response)).toEqual([200]);
}

afterAll(async () => {
  await current?.stop();
});

describe("item 1: an upgrade refused before routing, then a TCP reset", () => {
  const refused: Record<string, string> = {
    "bad Sec-WebSocket-Key": upgradeRequest("/echo", { "Sec-WebSocket-Key": "short" }),
    "version 12": upgradeRequest("/echo", { "Sec-WebSocket-Version": "12" }),
    "Upgrade: h2c": upgradeRequest("/echo", { Upgrade: "h2c", "HTTP2-Settings": "AAMAAABkAAQAoAAAAAIAAAAA" }),
    POST: upgradeRequest("/echo", {}, "POST"),
    "unknown route": upgradeRequest("/nowhere"),
  };
  for (const [name, request] of Object.entries(refused)) {
    it(`${name}: answered with 4xx, and a client that resets mid-answer does not end the process`, async () => {
      const edge = await server();
      const { response } = await exchange(edge.port, request);
      expect(statuses(response)[0]).toBeGreaterThanOrEqual(400);
      // The reset races the server's answer: enough tries that the write meets ECONNRESET.
      await Promise.all(Array.from({ length: 40 }, () => exchange(edge.port, request, { then: "reset" })));
      await new Promise((resolve) => setTimeout(resolve, 100));
      await expectAlive(edge);
    });
  }
});

describe("item 2: plain HTTP requests with a Host that is no URL authority, or a forbidden method", () => {
  const hosts = ["x:99999", "[", "", "a b", "999.1.1.1", "a/b", "a@b", "xn--a.xn--"];
  for (const host of hosts) {
    it(`Host ${JSON.stringify(host)} → 400, process alive`, async () => {
      const edge = await server();
      const { response } = await exchange(edge.port, httpRequest("GET", "/stats", { Host: host, Connection: "close" }));
      expect(statuses(response)).toEqual([400]);
      await expectAlive(edge);
    });
  }
  // node's parser itself refuses TRACK (400); TRACE parses, and the web Request refuses it.
  for (const [method, status] of [["TRACE", 405], ["TRACK", 400]] as const) {
    it(`${method} /stats → ${status}, process alive`, async () => {
      const edge = await server();
      const { response } = await exchange(edge.port, httpRequest(method, "/stats", { Connection: "close" }));
      expect(statuses(response)).toEqual([status]);
      await expectAlive(edge);
    });
  }
  it("CONNECT (no listener for it): the connection is closed, the process lives", async () => {
    const edge = await server();
    const { response, end } = await exchange(edge.port, httpRequest("CONNECT", "127.0.0.1:80"));
    expect(end).toBeDefined();
    expect(statuses(response).every((status) => status >= 400)).toBe(true);
    await expectAlive(edge);
  });
});

describe("item 3: an upgrade with an unparsable Host", () => {
  for (const path of ["/deps?user=x", "/guarded?who=x", "/echo", "/stream"]) {
    for (const host of ["x:99999", "[", "", "a b"]) {
      it(`to ${path} with Host ${JSON.stringify(host)} → 400, process alive`, async () => {
        const edge = await server();
        const { response } = await exchange(edge.port, upgradeRequest(path, { Host: host }));
        expect(statuses(response)).toEqual([400]);
        await expectAlive(edge);
      });
    }
  }
});

describe("item 3: no admission promise is dropped", () => {
  it("a fault while admitting (a socket whose query throws, read for a dependency) answers 500 and leaves no unhandled rejection", async () => {
    class BrokenSocket extends Socket {
      override get query(): Readonly<Record<string, string>> {
        throw new Error("query broke");
      }
    }
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    const app = createApp({
      routes: [
        websocket("/d", async (socket) => void (await socket.accept()), {
          socketClass: BrokenSocket,
          dependencies: { q: provide(({ query }) => query.x) },
        }),
      ],
      logger: { error() {}, warn() {}, info() {}, debug() {} } as never,
    });
    const { port } = await app.listen();
    try {
      const { response } = await exchange(port, upgradeRequest("/d?x=1"));
      expect(statuses(response)).toEqual([500]);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
      expect(app.stats().errors).toBeGreaterThan(0);
    } finally {
      process.off("unhandledRejection", onUnhandled);
      await app.close({ timeoutMs: 500 });
    }
  });
});

describe("item 8: a request pipelined before an upgrade", () => {
  for (const first of ["/stats", "/slow"]) {
    it(`GET ${first} then an upgrade in one write: the HTTP response comes before the 101, never inside the WebSocket stream`, async () => {
      const edge = await server();
      const bytes = httpRequest("GET", first) + upgradeRequest("/deps?user=pipelined");
      const { response } = await exchange(edge.port, bytes, { quietMs: 500 });
      expect(statuses(response)).toEqual([200, 101]);
      const switched = response.indexOf("HTTP/1.1 101 ");
      // After the 101's head: only WebSocket frames, the first being our text frame.
      const frames = response.slice(response.indexOf("\r\n\r\n", switched) + 4);
      expect(frames.includes("HTTP/1.1")).toBe(false);
      expect(frames).toContain("hello pipelined");
      await expectAlive(edge);
    });
  }
  it("two pipelined requests, then an upgrade: both answered, in order, before the 101", async () => {
    const edge = await server();
    const bytes = httpRequest("GET", "/slow") + httpRequest("GET", "/stats") + upgradeRequest("/echo");
    const { response } = await exchange(edge.port, bytes, { quietMs: 500 });
    expect(statuses(response)).toEqual([200, 200, 101]);
  });
});

describe("item 10: Sec-WebSocket-Protocol is parsed once, linearly, bounded", () => {
  it("an absurd list (more than 64 names) is refused with 400", async () => {
    const edge = await server();
    const names = Array.from({ length: 2000 }, (_, i) => `p${i}`).join(", ");
    const { response } = await exchange(edge.port, upgradeRequest("/chat/a", { "Sec-WebSocket-Protocol": names }));
    expect(statuses(response)).toEqual([400]);
    const fine = Array.from({ length: 64 }, (_, i) => `p${i}`).join(", ");
    const accepted = await exchange(edge.port, upgradeRequest("/chat/a", { "Sec-WebSocket-Protocol": fine }));
    expect(statuses(accepted.response)).toEqual([101]);
    expect(accepted.response).toMatch(/Sec-WebSocket-Protocol: p0\r\n/i);
  });

  it("socket.subprotocols is the same parsed list on every read", async () => {
    const reads: (readonly string[])[] = [];
    const app = createApp({
      routes: [
        websocket("/p", async (socket) => {
          reads.push(socket.subprotocols, socket.subprotocols);
          await socket.accept({ subprotocol: "b" });
          reads.push(socket.subprotocols);
          await socket.close();
        }),
      ],
    });
    const { port } = await app.listen();
    try {
      const { response } = await exchange(port, upgradeRequest("/p", { "Sec-WebSocket-Protocol": "a, b" }));
      expect(statuses(response)).toEqual([101]);
      expect(reads[0]).toEqual(["a", "b"]);
      expect(reads[1]).toBe(reads[0]);
      expect(reads[2]).toBe(reads[0]);
    } finally {
      await app.close({ timeoutMs: 500 });
    }
  });
});

describe("item 13: one path normalisation for HTTP and WebSocket routes", () => {
  it("duplicate slashes are one: //stats is /stats over HTTP, //echo is /echo over WebSocket", async () => {
    const edge = await server();
    const http = await exchange(edge.port, httpRequest("GET", "//stats", { Connection: "close" }));
    expect(statuses(http.response)).toEqual([200]);
    expect(http.response).toContain('"started"');
    const ws = await exchange(edge.port, upgradeRequest("//echo"));
    expect(statuses(ws.response)).toEqual([101]);
    const room = await exchange(edge.port, upgradeRequest("/chat//lobby"));
    expect(statuses(room.response)).toEqual([101]);
    expect(room.response).toContain("room lobby");
  });

  for (const path of ["/stats/..", "/stats/../stats", "/./stats", "/stats/%2e%2e", "/x/%2E./stats", "/stats\\.."]) {
    it(`${path} is refused with 400 over HTTP and over WebSocket`, async () => {
      const edge = await server();
      const http = await exchange(edge.port, httpRequest("GET", path, { Connection: "close" }));
      expect(statuses(http.response)).toEqual([400]);
      const ws = await exchange(edge.port, upgradeRequest(path.replace("stats", "echo")));
      expect(statuses(ws.response)).toEqual([400]);
    });
  }

  it("a request target that is not a path (absolute-form, *) is refused with 400 over both protocols", async () => {
    const edge = await server();
    const http = await exchange(edge.port, httpRequest("GET", "http://127.0.0.1/stats", { Connection: "close" }));
    expect(statuses(http.response)).toEqual([400]);
    const ws = await exchange(edge.port, upgradeRequest("http://127.0.0.1/echo"));
    expect(statuses(ws.response)).toEqual([400]);
  });
});

afterEach(async () => {
  // No test may leave the process dead without failing itself; a crash is reported by expectAlive.
  if (current !== undefined && current.child.exitCode !== null) current = undefined;
});

export type { App };
