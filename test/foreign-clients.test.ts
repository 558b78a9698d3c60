/**
 * `examples/echo.ts` run as its own OS process (`PORT=… node --conditions=statewire-source --import tsx examples/echo.ts`), driven by
 * clients that know nothing of statewire: Python's `websockets` and the plain `ws` client.
 */
import { execFile } from "node:child_process";
import type { IncomingMessage } from "node:http";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { WebSocket } from "ws";
import { type EchoProcess, startEcho } from "./support/process.js";
import { PYTHON_WEBSOCKETS, skipWithout } from "./support/system-tools.js";

const PYTHON = "/usr/bin/python3";
const noPython = await skipWithout(PYTHON_WEBSOCKETS, "the Python websockets client against examples/echo.ts", import.meta.url);

/**
 * Connects to argv[1], sends "hello" and b"\x00\x01\x02", reads both replies, closes with 1000,
 * and prints one JSON line. Uses `websockets.sync.client` (websockets >= 11) when available and
 * the asyncio client otherwise (Debian bookworm ships 10.4, which has no sync client).
 */
const PYTHON_CLIENT = String.raw`
import json, sys
try:
    import websockets
except Exception as error:
    print(json.dumps({"importError": repr(error), "python": sys.executable}))
    sys.exit(0)

url = sys.argv[1]
version = getattr(websockets, "__version__", "unknown")

def report(ws, api, text, binary):
    received = getattr(ws, "close_rcvd", None)
    sent = getattr(ws, "close_sent", None)
    return {
        "version": version,
        "api": api,
        "textType": type(text).__name__,
        "text": text if isinstance(text, str) else None,
        "binaryType": type(binary).__name__,
        "binaryHex": bytes(binary).hex() if isinstance(binary, (bytes, bytearray)) else None,
        "closeCode": ws.close_code,
        "closeReceived": received.code if received is not None else None,
        "closeSent": sent.code if sent is not None else None,
    }

try:
    from websockets.sync.client import connect as sync_connect
except ImportError:
    sync_connect = None

if sync_connect is not None:
    with sync_connect(url, open_timeout=10, close_timeout=10) as ws:
        ws.send("hello")
        text = ws.recv(10)
        ws.send(b"\x00\x01\x02")
        binary = ws.recv(10)
        ws.close(code=1000)
        result = report(ws, "sync", text, binary)
else:
    import asyncio

    async def main():
        async with websockets.connect(url, open_timeout=10, close_timeout=10) as ws:
            await ws.send("hello")
            text = await asyncio.wait_for(ws.recv(), 10)
            await ws.send(b"\x00\x01\x02")
            binary = await asyncio.wait_for(ws.recv(), 10)
            await ws.close(code=1000)
            return report(ws, "asyncio", text, binary)

    result = asyncio.run(asyncio.wait_for(main(), 20))

print(json.dumps(result))
`;

interface PythonResult {
  readonly importError?: string;
  readonly version: string;
  readonly api: string;
  readonly textType: string;
  readonly text: string | null;
  readonly binaryType: string;
  readonly binaryHex: string | null;
  readonly closeCode: number | null;
  readonly closeReceived: number | null;
  readonly closeSent: number | null;
}

function runPythonClient(url: string): Promise<PythonResult> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, ["-c", PYTHON_CLIENT, url], { timeout: 30_000, killSignal: "SIGKILL" }, (error, stdout, stderr) => {
      if (error !== null) {
        reject(new Error(`${PYTHON} client failed: ${error.message}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
        return;
      }
      const line = stdout.trim().split("\n").at(-1) ?? "";
      try {
        resolve(JSON.parse(line) as PythonResult);
      } catch {
        reject(new Error(`${PYTHON} client printed no JSON line.\nstdout:\n${stdout}\nstderr:\n${stderr}`));
      }
    });
  });
}

/** Resolve with `promise`, or reject after `ms` naming `what`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

type Frame = { readonly data: Buffer; readonly isBinary: boolean };

/** A `ws` client with a queue of received frames, for request/reply exchanges. */
class WsProbe {
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #frames: Frame[] = [];
  readonly #waiters: ((frame: Frame) => void)[] = [];

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("error", reject);
    });
    this.closed = new Promise((resolve) => {
      this.ws.once("close", (code, reason) => resolve({ code, reason: reason.toString("utf8") }));
    });
    this.ws.on("error", () => {}); // reported through `opened` / `closed`
    this.ws.on("message", (data, isBinary) => {
      const frame = { data: data as Buffer, isBinary };
      const waiter = this.#waiters.shift();
      if (waiter !== undefined) waiter(frame);
      else this.#frames.push(frame);
    });
  }

  next(): Promise<Frame> {
    const frame = this.#frames.shift();
    if (frame !== undefined) return Promise.resolve(frame);
    return within(new Promise<Frame>((resolve) => this.#waiters.push(resolve)), 5000, "waiting for a reply");
  }
}

let server: EchoProcess | undefined;

function echoServer(): EchoProcess {
  if (server === undefined) throw new Error("examples/echo.ts was not started");
  return server;
}

beforeAll(async () => {
  server = await startEcho();
}, 30_000);

afterAll(async () => {
  const exit = await server?.stop(3000);
  // The example shuts down cleanly on SIGTERM; it must not need the SIGKILL fallback.
  if (server !== undefined) {
    expect(server.killed(), `echo needed SIGKILL; stderr:\n${server.stderr()}`).toBe(false);
    expect(exit?.code, `stderr:\n${server.stderr()}`).toBe(0);
  }
}, 15_000);

describe("examples/echo.ts as a separate process", () => {
  test.skipIf(noPython)("Python websockets client: text and binary echo, close 1000", async () => {
    const result = await runPythonClient(`${echoServer().wsBase}/ws`);
    if (result.importError !== undefined) {
      throw new Error(
        `Python's websockets library is not importable by ${PYTHON} (${result.importError}). ` +
          "Install it with: apt-get install -y python3-websockets",
      );
    }
    expect(result.textType).toBe("str");
    expect(result.text).toBe("Echo: hello");
    expect(result.binaryType).toBe("bytes");
    expect(result.binaryHex).toBe("000102");
    expect(result.closeSent).toBe(1000);
    expect(result.closeReceived).toBe(1000);
    expect(result.closeCode).toBe(1000);
  }, 40_000);

  test("ws client: text and binary echo, close 1000", async () => {
    const probe = new WsProbe(`${echoServer().wsBase}/ws`);
    await within(probe.opened, 5000, "opening /ws");

    probe.ws.send("hello");
    const text = await probe.next();
    expect(text.isBinary).toBe(false);
    expect(text.data.toString("utf8")).toBe("Echo: hello");

    probe.ws.send(Buffer.from([0x00, 0x01, 0x02]));
    const binary = await probe.next();
    expect(binary.isBinary).toBe(true);
    expect(binary.data.toString("hex")).toBe("000102");

    probe.ws.close(1000);
    const closed = await within(probe.closed, 5000, "closing");
    expect(closed.code).toBe(1000);
  });

  test("ws client: an unknown path is refused with HTTP 404", async () => {
    const ws = new WebSocket(`${echoServer().wsBase}/nope`);
    ws.on("error", () => {}); // destroying the request below may surface as an error
    const response = await within(
      new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
        ws.once("open", () => reject(new Error("/nope was upgraded to a WebSocket")));
        ws.once("unexpected-response", (request, res: IncomingMessage) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (body += chunk));
          res.on("end", () => {
            resolve({ status: res.statusCode, body });
            request.destroy();
          });
          res.on("error", () => resolve({ status: res.statusCode, body }));
        });
      }),
      5000,
      "upgrade to /nope",
    );
    expect(response.status).toBe(404);
    expect(response.body).toBe("Not Found");
    expect(ws.readyState).not.toBe(WebSocket.OPEN);
    ws.terminate();
  });

  test("plain HTTP GET to /ws is answered 426 Upgrade Required", async () => {
    const response = await fetch(`${echoServer().httpBase}/ws`, { signal: AbortSignal.timeout(5000) });
    expect(response.status).toBe(426);
    expect(response.headers.get("upgrade")).toBe("websocket");
    await response.text();
  });
});
