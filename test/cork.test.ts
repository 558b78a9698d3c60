/**
 * Cork per read: the replies to the frames that arrived in one TCP read leave the server in one
 * write (one `writev`), in order, whether the handler answers synchronously or a few promise
 * turns later; and a close frame sent after replies still follows them. The server
 * (`test/support/cork-server.ts`) counts its reads and writes per client port.
 */
import { spawn } from "node:child_process";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CorkReply, CorkRequest, Counts } from "./support/cork-server.js";
import { ROOT } from "./support/process.js";
import { encodeFrame, Opcode, RawClient } from "./support/raw-client.js";

const DEEP = process.env.STATEWIRE_DEEP === "1";

let port = 0;
let counts: (clientPort: number) => Promise<Counts>;
let stop: () => void = () => {};

beforeAll(async () => {
  const child = spawn(process.execPath, ["--import", "tsx", "test/support/cork-server.ts"], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: "" },
    stdio: ["ignore", "ignore", "pipe", "ipc"],
    detached: true,
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const pid = child.pid!;
  stop = () => {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  process.once("exit", stop);
  let nextId = 1;
  const pending = new Map<number, (counts: Counts) => void>();
  port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cork-server not ready in 20 s: ${stderr}`)), 20_000);
    child.once("exit", (code) => reject(new Error(`cork-server exited (${code}): ${stderr}`)));
    child.on("message", (message: CorkReply) => {
      if (message.type === "ready") {
        clearTimeout(timer);
        resolve(message.port);
      } else pending.get(message.id)?.(message.counts);
    });
  });
  counts = (clientPort) =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, (found) => (pending.delete(id), resolve(found)));
      child.send({ type: "counts", id, port: clientPort } satisfies CorkRequest);
    });
}, 30_000);

afterAll(() => stop());

/** Write `texts` as masked text frames in one `write`; wait for as many replies; what the server read and wrote meanwhile. */
async function batch(path: string, texts: readonly string[]): Promise<{ replies: string[]; reads: number; writes: number }> {
  const client = await RawClient.connect(port, path);
  try {
    const local = client.socket.localPort!;
    const before = await counts(local);
    await client.write(Buffer.concat(texts.map((text) => encodeFrame({ opcode: Opcode.TEXT, payload: text }))));
    const replies: string[] = [];
    let from = 0;
    while (replies.length < texts.length) {
      const { frame, index } = await client.dataFrame(from, 5000);
      replies.push(frame.payload.toString("utf8"));
      from = index + 1;
    }
    const after = await counts(local);
    return { replies, reads: after.reads - before.reads, writes: after.writes - before.writes };
  } finally {
    client.destroy();
  }
}

describe("cork per read", () => {
  for (const path of ["/echo", "/listener", "/async"]) {
    it(`${path}: 16 frames in one read are answered in one write, in order`, async () => {
      const texts = Array.from({ length: 16 }, (_, i) => `message ${i} `.repeat(4));
      const { replies, reads, writes } = await batch(path, texts);
      expect(replies).toEqual(texts);
      // The 16 frames arrive in one read on loopback (under 1 KiB, one write); whatever the
      // kernel did, the server writes at most once per read, never once per reply.
      expect(writes).toBeGreaterThan(0);
      expect(writes).toBeLessThanOrEqual(reads);
      expect(writes).toBeLessThan(texts.length);
    });
  }

  it("a lone message is answered at once: nothing waits for more input", async () => {
    const client = await RawClient.connect(port, "/listener");
    try {
      for (let i = 0; i < 20; i++) {
        await client.sendText(`ping ${i}`);
        const { frame } = await client.dataFrame(client.frames.length, 1000);
        expect(frame.payload.toString("utf8")).toBe(`ping ${i}`);
      }
    } finally {
      client.destroy();
    }
  });

  it("a close frame sent after replies follows them, in the same write", async () => {
    const client = await RawClient.connect(port, "/bye");
    try {
      const local = client.socket.localPort!;
      const before = await counts(local);
      const texts = ["a", "b", "c", "bye", "after"];
      await client.write(Buffer.concat(texts.map((text) => encodeFrame({ opcode: Opcode.TEXT, payload: text }))));
      const close = await client.closeFrame(5000);
      expect(close.code).toBe(4000);
      const data = client.frames.filter((frame) => frame.opcode === Opcode.TEXT).map((frame) => frame.payload.toString("utf8"));
      expect(data).toEqual(["a", "b", "c", "bye"]);
      expect(client.frames.at(-1)?.opcode).toBe(Opcode.CLOSE);
      const after = await counts(local);
      expect(after.writes - before.writes).toBeLessThanOrEqual(after.reads - before.reads);
    } finally {
      client.destroy();
    }
  });

  it("property: any batch of frames, any handler kind: replies in order, at most one write per read", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("/echo", "/listener", "/async"),
        fc.array(fc.string({ unit: "grapheme", maxLength: 200 }), { minLength: 1, maxLength: 40 }),
        async (path, texts) => {
          const { replies, reads, writes } = await batch(path, texts);
          expect(replies).toEqual(texts);
          expect(writes).toBeLessThanOrEqual(reads);
        },
      ),
      { numRuns: DEEP ? 300 : 30 },
    );
  }, 120_000);
});
