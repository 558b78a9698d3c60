/**
 * src/handlers/pipeline.ts on its own: one message at a time, in order — decode, handle, encode,
 * reply — held until released, bounded (pause at the high-water mark, resume at half), and what
 * happens to a message that does not decode and to a handler that fails. The parent is a
 * recorder of what the pipeline asks its connection to do; decoder and encoder are the real ones.
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import { createDecoder, createEncoder, type Decoder } from "../../src/codec/message-codec.js";
import { MessageError } from "../../src/wire/errors.js";
import { ObserverHub } from "../../src/connection/observer.js";
import type { HandlerParent } from "../../src/connection/handler.js";
import { keepOpen, KeepOpen, MessagePipeline, type OnInvalid, type PipelineSpec } from "../../src/handlers/pipeline.js";
import type { Encoder } from "../../src/codec/message-codec.js";

interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}
function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Parent {
  readonly log: unknown[][];
  readonly parent: HandlerParent;
  /** What `reply` returns next (backpressure), and what `interleave` returns. */
  replyWith: Promise<void> | undefined;
  gate: Promise<void> | undefined;
}

function recordingParent(inboundHighWater = 8, observers = new ObserverHub()): Parent {
  const state: Parent = {
    log: [],
    replyWith: undefined,
    gate: undefined,
    parent: undefined as unknown as HandlerParent,
  };
  const parent: Partial<HandlerParent> = {
    id: 7,
    observers,
    inboundHighWater,
    inboundHighWaterBytes: Infinity,
    fail: (error) => void state.log.push(["fail", error]),
    reply: (data, isBinary) => {
      state.log.push(["reply", data, isBinary]);
      return state.replyWith;
    },
    pause: () => void state.log.push(["pause"]),
    resume: () => void state.log.push(["resume"]),
    interleave: (label) => {
      state.log.push(["interleave", label]);
      return state.gate;
    },
  };
  (state as { parent: HandlerParent }).parent = parent as HandlerParent;
  return state;
}

const CONTEXT = { who: "context" };
const frame = (text: string): Buffer => Buffer.from(text);

function pipeline(
  parent: Parent,
  handle: PipelineSpec<typeof CONTEXT>["handle"],
  options: {
    onInvalid?: OnInvalid<typeof CONTEXT>;
    onError?: PipelineSpec<typeof CONTEXT>["onError"];
    decode?: Decoder;
    encode?: Encoder;
  } = {},
): MessagePipeline<typeof CONTEXT> {
  return new MessagePipeline(
    parent.parent,
    {
      decode: options.decode ?? createDecoder("json", "text"),
      encode: options.encode ?? createEncoder(undefined, undefined),
      handle,
      onInvalid: options.onInvalid ?? "close",
      onError: options.onError,
    },
    CONTEXT,
  );
}

describe("MessagePipeline", () => {
  test("holds messages until released, then runs them in order with the context, replying synchronously", () => {
    const p = recordingParent();
    const seen: unknown[] = [];
    const pipe = pipeline(p, (data, context) => {
      seen.push([data, context]);
      return { echo: data };
    });
    pipe.push(frame("1"), false);
    pipe.push(frame("2"), false);
    expect(seen).toStrictEqual([]);
    expect(p.log).toStrictEqual([]);
    pipe.release();
    expect(seen).toStrictEqual([
      [1, CONTEXT],
      [2, CONTEXT],
    ]);
    pipe.push(frame("3"), false);
    expect(p.log).toStrictEqual([
      ["reply", '{"echo":1}', false],
      ["reply", '{"echo":2}', false],
      ["reply", '{"echo":3}', false],
    ]);
    expect(pipe.failed).toBe(false);
  });

  test("a handler that returns undefined sends nothing", () => {
    const p = recordingParent();
    const pipe = pipeline(p, () => undefined);
    pipe.release();
    pipe.push(frame("1"), false);
    expect(p.log).toStrictEqual([]);
  });

  test("while an async handler works, later messages wait, then run in order", async () => {
    const p = recordingParent();
    const pending: Deferred<unknown>[] = [];
    const started: unknown[] = [];
    const pipe = pipeline(p, (data) => {
      started.push(data);
      const d = deferred<unknown>();
      pending.push(d);
      return d.promise;
    });
    pipe.release();
    pipe.push(frame("1"), false);
    pipe.push(frame("2"), false);
    expect(started).toStrictEqual([1]);
    pending[0]!.resolve("one");
    await tick();
    expect(started).toStrictEqual([1, 2]);
    pending[1]!.resolve(undefined);
    await tick();
    expect(p.log).toStrictEqual([
      ["interleave", "handler:reply"],
      ["reply", "one", false],
      ["interleave", "handler:reply"],
    ]);
  });

  test("a reply that has to wait for the outbound buffer holds the next message until it drained", async () => {
    const p = recordingParent();
    const drained = deferred();
    p.replyWith = drained.promise;
    const started: unknown[] = [];
    const pipe = pipeline(p, (data) => {
      started.push(data);
      return data;
    });
    pipe.release();
    pipe.push(frame("1"), false);
    p.replyWith = undefined;
    pipe.push(frame("2"), false);
    expect(started).toStrictEqual([1]);
    drained.resolve();
    await tick();
    expect(started).toStrictEqual([1, 2]);
  });

  test("an async reply goes through the interleaving gate when a test set one", async () => {
    const p = recordingParent();
    const gate = deferred();
    p.gate = gate.promise;
    const pipe = pipeline(p, async (data) => data);
    pipe.release();
    pipe.push(frame('"x"'), false);
    await tick();
    expect(p.log).toStrictEqual([["interleave", "handler:reply"]]);
    gate.resolve();
    await tick();
    expect(p.log).toStrictEqual([["interleave", "handler:reply"], ["reply", "x", false]]);
  });

  test("an asynchronous decoder is awaited before the handler", async () => {
    const p = recordingParent();
    const pipe = pipeline(p, (data) => ({ got: data }), { decode: async (data) => ({ ok: true, value: data.toString() }) });
    pipe.release();
    pipe.push(frame("a"), false);
    pipe.push(frame("b"), false);
    await tick();
    expect(p.log).toStrictEqual([
      ["reply", '{"got":"a"}', false],
      ["reply", '{"got":"b"}', false],
    ]);
  });

  test("pauses the transport once at the high-water mark and resumes once at half of it", async () => {
    const p = recordingParent(4);
    const gates: Deferred<unknown>[] = [];
    const pipe = pipeline(p, () => {
      const d = deferred<unknown>();
      gates.push(d);
      return d.promise;
    });
    pipe.release();
    pipe.push(frame("0"), false); // running
    for (let i = 1; i <= 3; i++) pipe.push(frame(String(i)), false); // 3 queued
    expect(p.log).toStrictEqual([]);
    pipe.push(frame("4"), false); // 4 queued
    expect(p.log).toStrictEqual([["pause"]]);
    pipe.push(frame("5"), false); // 5 queued
    expect(p.log).toStrictEqual([["pause"]]);
    gates[0]!.resolve(undefined); // 5 → 4 queued, runs 1
    await tick();
    gates[1]!.resolve(undefined); // 4 → 3, runs 2
    await tick();
    expect(p.log.filter(([what]) => what !== "interleave")).toStrictEqual([["pause"]]);
    gates[2]!.resolve(undefined); // 3 → 2 = 4 >> 1: resume
    await tick();
    expect(p.log.filter(([what]) => what !== "interleave")).toStrictEqual([["pause"], ["resume"]]);
    for (let i = 3; i <= 5; i++) {
      gates[i]!.resolve(undefined);
      await tick();
    }
    expect(p.log.filter(([what]) => what !== "interleave")).toStrictEqual([["pause"], ["resume"]]);
    expect(gates).toHaveLength(6);
  });

  test("queued bytes pause the transport at inboundHighWaterBytes and resume at half of it", () => {
    const p = recordingParent(1000);
    (p.parent as { inboundHighWaterBytes: number }).inboundHighWaterBytes = 10;
    const pipe = pipeline(p, () => undefined);
    pipe.push(frame("12345"), false);
    pipe.push(frame("1234"), false);
    expect(p.log).toStrictEqual([]);
    pipe.push(frame("1"), false); // 10 bytes queued
    expect(p.log).toStrictEqual([["pause"]]);
    pipe.release();
    expect(p.log.filter(([what]) => what === "pause" || what === "resume")).toStrictEqual([["pause"], ["resume"]]);
  });

  test("a held pipeline also bounds what it queues", () => {
    const p = recordingParent(2);
    const pipe = pipeline(p, () => undefined);
    pipe.push(frame("1"), false);
    expect(p.log).toStrictEqual([]);
    pipe.push(frame("2"), false);
    expect(p.log).toStrictEqual([["pause"]]);
    pipe.release();
    expect(p.log).toStrictEqual([["pause"], ["resume"]]);
  });

  test('onInvalid "close": the connection fails with a MessageError carrying the code and problem; onError is not called', () => {
    const p = recordingParent();
    const errors: unknown[] = [];
    const handled: unknown[] = [];
    const pipe = pipeline(p, (data) => void handled.push(data), { onError: (error) => void errors.push(error) });
    pipe.release();
    pipe.push(frame("{bad"), false);
    expect(pipe.failed).toBe(true);
    expect(p.log).toHaveLength(1);
    const [what, error] = p.log[0] as [string, MessageError];
    expect(what).toBe("fail");
    expect(error).toBeInstanceOf(MessageError);
    expect({ closeCode: error.closeCode, reason: error.reason }).toStrictEqual({ closeCode: 1007, reason: "invalid JSON" });
    expect(errors).toStrictEqual([]);
    // Nothing runs after a failure.
    pipe.push(frame("1"), false);
    expect(handled).toStrictEqual([]);
    expect(p.log).toHaveLength(1);
  });

  test('onInvalid "reply": an error frame with the problem and code, and the connection goes on', () => {
    const p = recordingParent();
    const pipe = pipeline(p, (data) => data, { onInvalid: "reply" });
    pipe.release();
    pipe.push(frame("{bad"), false);
    pipe.push(frame("{}"), true);
    pipe.push(frame("7"), false);
    expect(p.log).toStrictEqual([
      ["reply", '{"error":"invalid JSON","code":1007}', false],
      ["reply", '{"error":"expected a text message","code":1003}', false],
      ["reply", "7", false],
    ]);
    expect(pipe.failed).toBe(false);
  });

  test("onInvalid as a function decides, with the context; its result (or its promise's) is the reply", async () => {
    const p = recordingParent();
    const seen: unknown[] = [];
    const pipe = pipeline(p, () => "handled", {
      onInvalid: (invalid, context) => {
        seen.push([invalid, context]);
        return invalid.code === 1007 ? `bad: ${invalid.problem}` : Promise.resolve(`kind: ${invalid.problem}`);
      },
    });
    pipe.release();
    pipe.push(frame("{bad"), false);
    pipe.push(frame("1"), true);
    await tick();
    expect(seen).toStrictEqual([
      [{ ok: false, code: 1007, problem: "invalid JSON" }, CONTEXT],
      [{ ok: false, code: 1003, problem: "expected a text message" }, CONTEXT],
    ]);
    expect(p.log).toStrictEqual([
      ["reply", "bad: invalid JSON", false],
      ["reply", "kind: expected a text message", false],
    ]);
  });

  test("a handler that throws: onError sees it first with the context, then the connection fails, and the queue is dropped", () => {
    const p = recordingParent(2);
    const boom = new Error("boom");
    const handled: unknown[] = [];
    const pipe = pipeline(
      p,
      (data) => {
        handled.push(data);
        throw boom;
      },
      { onError: (error, context) => void p.log.push(["onError", error, context]) },
    );
    pipe.push(frame("1"), false);
    pipe.push(frame("2"), false); // paused: 2 queued
    pipe.release();
    expect(handled).toStrictEqual([1]);
    expect(p.log).toStrictEqual([["pause"], ["resume"], ["onError", boom, CONTEXT], ["fail", boom]]);
    expect(pipe.failed).toBe(true);
  });

  test("a handler that throws while paused resumes the transport when the queue is dropped", async () => {
    const p = recordingParent(2);
    const gate = deferred<unknown>();
    const pipe = pipeline(p, () => gate.promise);
    pipe.release();
    pipe.push(frame("1"), false);
    pipe.push(frame("2"), false);
    pipe.push(frame("3"), false);
    expect(p.log).toStrictEqual([["pause"]]);
    const boom = new Error("async boom");
    gate.reject(boom);
    await tick();
    expect(p.log).toStrictEqual([["pause"], ["resume"], ["fail", boom]]);
  });

  test("an onError hook that throws, or rejects, fails the connection with that error too", async () => {
    const thrown = recordingParent();
    const hookError = new Error("hook");
    const boom = new Error("boom");
    const a = pipeline(thrown, () => {
      throw boom;
    }, {
      onError: () => {
        throw hookError;
      },
    });
    a.release();
    a.push(frame("1"), false);
    expect(thrown.log).toStrictEqual([
      ["fail", hookError],
      ["fail", boom],
    ]);

    const rejected = recordingParent();
    const b = pipeline(rejected, () => {
      throw boom;
    }, { onError: () => Promise.reject(hookError) });
    b.release();
    b.push(frame("1"), false);
    // An async onError is awaited (it may answer keepOpen): nothing fails until it settles.
    expect(rejected.log).toStrictEqual([]);
    await tick();
    expect(rejected.log).toStrictEqual([
      ["fail", hookError],
      ["fail", boom],
    ]);
  });

  test("whenIdle: at once when held or idle; after the last message otherwise; at once or on failure once failed", async () => {
    const p = recordingParent();
    const gate = deferred<unknown>();
    const pipe = pipeline(p, () => gate.promise);
    const calls: string[] = [];
    pipe.push(frame("1"), false);
    pipe.whenIdle(() => calls.push("held"));
    expect(calls).toStrictEqual(["held"]);
    pipe.release();
    pipe.push(frame("2"), false);
    pipe.whenIdle(() => calls.push("after"));
    expect(calls).toStrictEqual(["held"]);
    gate.resolve(undefined);
    await tick();
    expect(calls).toStrictEqual(["held", "after"]);
    pipe.whenIdle(() => calls.push("idle"));
    expect(calls).toStrictEqual(["held", "after", "idle"]);

    const q = recordingParent();
    const failing = deferred<unknown>();
    const failed = pipeline(q, () => failing.promise);
    failed.release();
    failed.push(frame("1"), false);
    failed.push(frame("2"), false);
    failed.whenIdle(() => calls.push("failed"));
    failing.reject(new Error("x"));
    await tick();
    expect(calls).toStrictEqual(["held", "after", "idle", "failed"]);
    failed.whenIdle(() => calls.push("failed again"));
    expect(calls).toStrictEqual(["held", "after", "idle", "failed", "failed again"]);
  });

  test("whenIdle while the only message is in flight waits for it", async () => {
    const p = recordingParent();
    const gate = deferred<unknown>();
    const pipe = pipeline(p, () => gate.promise);
    pipe.release();
    pipe.push(frame("1"), false);
    const calls: string[] = [];
    pipe.whenIdle(() => calls.push("idle"));
    await tick();
    expect(calls).toStrictEqual([]);
    gate.resolve(undefined);
    await tick();
    expect(calls).toStrictEqual(["idle"]);
  });

  test("whenIdle with a message queued behind a busy one waits for both", async () => {
    const p = recordingParent();
    const gates = [deferred<unknown>(), deferred<unknown>()];
    let n = 0;
    const pipe = pipeline(p, () => gates[n++]!.promise);
    pipe.release();
    pipe.push(frame("1"), false);
    pipe.push(frame("2"), false);
    const calls: string[] = [];
    pipe.whenIdle(() => calls.push("idle"));
    gates[0]!.resolve(undefined);
    await tick();
    expect(calls).toStrictEqual([]);
    gates[1]!.resolve(undefined);
    await tick();
    expect(calls).toStrictEqual(["idle"]);
  });

  test("a synchronous failure calls a waiting whenIdle once", async () => {
    const p = recordingParent();
    const gate = deferred<unknown>();
    let n = 0;
    const pipe = pipeline(p, () => {
      if (n++ === 0) return gate.promise;
      throw new Error("second");
    });
    pipe.release();
    pipe.push(frame("1"), false);
    pipe.push(frame("2"), false);
    const calls: string[] = [];
    pipe.whenIdle(() => calls.push("idle"));
    gate.resolve(undefined);
    await tick();
    expect(calls).toStrictEqual(["idle"]);
  });

  test("a message pushed while the queue drains (from inside a handler) waits its turn behind the queued ones", () => {
    const p = recordingParent();
    const seen: unknown[] = [];
    const pipe = pipeline(p, (data) => {
      seen.push(data);
      if (data === 1) pipe.push(frame("3"), false);
    });
    pipe.push(frame("1"), false);
    pipe.push(frame("2"), false);
    pipe.release();
    expect(seen).toStrictEqual([1, 2, 3]);
  });

  test("whenIdle asked from inside a handler while more is queued waits for the queue", () => {
    const p = recordingParent();
    const calls: string[] = [];
    const pipe = pipeline(p, (data) => {
      calls.push(`handle ${String(data)}`);
      if (data === 1) pipe.whenIdle(() => calls.push("idle"));
    });
    pipe.push(frame("1"), false);
    pipe.push(frame("2"), false);
    pipe.release();
    expect(calls).toStrictEqual(["handle 1", "handle 2", "idle"]);
  });

  test("draining resumes the transport as soon as the queued bytes are down to half, and not before", () => {
    const p = recordingParent(1000);
    (p.parent as { inboundHighWaterBytes: number }).inboundHighWaterBytes = 10;
    const pipe = pipeline(p, (data) => void p.log.push(["handle", data]));
    pipe.push(frame("1"), false);
    pipe.push(frame("1234"), false);
    pipe.push(frame("12345"), false); // 10 bytes
    expect(p.log).toStrictEqual([["pause"]]);
    pipe.release();
    expect(p.log).toStrictEqual([
      ["pause"],
      ["handle", 1], // 9 bytes left: above half
      ["resume"], // 5 bytes left: half
      ["handle", 1234],
      ["handle", 12345],
    ]);
  });

  test("an asynchronous encoder is awaited: its frame is sent, nothing when it gives undefined, and the next message waits", async () => {
    const p = recordingParent();
    const encoding: Deferred<{ data: string; isBinary: boolean } | undefined>[] = [];
    const encode: Encoder = () => {
      const d = deferred<{ data: string; isBinary: boolean } | undefined>();
      encoding.push(d);
      return d.promise;
    };
    const started: unknown[] = [];
    const pipe = pipeline(
      p,
      (data) => {
        started.push(data);
        return data;
      },
      { encode },
    );
    pipe.release();
    pipe.push(frame("1"), false);
    pipe.push(frame("2"), false);
    pipe.push(frame("3"), false);
    expect(started).toStrictEqual([1]);
    encoding[0]!.resolve({ data: "one", isBinary: true });
    await tick();
    expect(p.log).toStrictEqual([["reply", "one", true]]);
    expect(started).toStrictEqual([1, 2]);
    encoding[1]!.resolve(undefined);
    await tick();
    expect(started).toStrictEqual([1, 2, 3]);
    expect(p.log).toStrictEqual([["reply", "one", true]]);
    encoding[2]!.resolve({ data: "three", isBinary: false });
    await tick();
    expect(p.log).toStrictEqual([
      ["reply", "one", true],
      ["reply", "three", false],
    ]);
    expect(pipe.failed).toBe(false);
  });

  test("keepOpen(reply) makes a KeepOpen carrying the reply; keepOpen() carries undefined", () => {
    const withReply = keepOpen({ error: "nope" });
    expect(withReply).toBeInstanceOf(KeepOpen);
    expect(withReply.reply).toStrictEqual({ error: "nope" });
    const bare = keepOpen();
    expect(bare).toBeInstanceOf(KeepOpen);
    expect(bare.reply).toBeUndefined();
  });

  test("onError returning keepOpen(reply): the reply is sent and the next message runs; keepOpen() sends nothing", () => {
    const p = recordingParent();
    const boom = new Error("boom");
    const pipe = pipeline(
      p,
      (data) => {
        if (data === 1 || data === 2) throw boom;
        return { ok: data };
      },
      {
        onError: (error, context) => {
          p.log.push(["onError", error, context]);
          return p.log.filter(([what]) => what === "onError").length === 1 ? keepOpen({ failed: true }) : keepOpen();
        },
      },
    );
    pipe.push(frame("1"), false);
    pipe.push(frame("2"), false);
    pipe.push(frame("3"), false);
    pipe.release();
    expect(p.log).toStrictEqual([
      ["onError", boom, CONTEXT],
      ["reply", '{"failed":true}', false],
      ["onError", boom, CONTEXT],
      ["reply", '{"ok":3}', false],
    ]);
    expect(pipe.failed).toBe(false);
    pipe.push(frame("4"), false);
    expect(p.log.at(-1)).toStrictEqual(["reply", '{"ok":4}', false]);
  });

  test("onError returning something other than keepOpen fails the connection with the handler's error", () => {
    const p = recordingParent();
    const boom = new Error("boom");
    const pipe = pipeline(p, () => {
      throw boom;
    }, { onError: () => ({ reply: "looks like keepOpen but is not" }) });
    pipe.release();
    pipe.push(frame("1"), false);
    expect(p.log).toStrictEqual([["fail", boom]]);
    expect(pipe.failed).toBe(true);
  });

  test("an async onError is awaited: later messages wait; keepOpen then answers and the queue goes on", async () => {
    const p = recordingParent();
    const boom = new Error("boom");
    const hook = deferred<unknown>();
    const seen: unknown[] = [];
    const pipe = pipeline(
      p,
      (data) => {
        seen.push(data);
        if (data === 1) throw boom;
        return { ok: data };
      },
      { onError: () => hook.promise },
    );
    pipe.release();
    pipe.push(frame("1"), false);
    pipe.push(frame("2"), false);
    await tick();
    // Still deciding: the second message waits, and so does whenIdle.
    expect(seen).toStrictEqual([1]);
    const calls: string[] = [];
    pipe.whenIdle(() => calls.push("idle"));
    expect(calls).toStrictEqual([]);
    pipe.push(frame("3"), false);
    expect(seen).toStrictEqual([1]);
    hook.resolve(keepOpen("sorry"));
    await tick();
    expect(seen).toStrictEqual([1, 2, 3]);
    expect(p.log).toStrictEqual([
      ["reply", "sorry", false],
      ["reply", '{"ok":2}', false],
      ["reply", '{"ok":3}', false],
    ]);
    expect(calls).toStrictEqual(["idle"]);
    expect(pipe.failed).toBe(false);
  });

  test("an async onError that is not keepOpen fails the connection once it settles", async () => {
    const p = recordingParent();
    const boom = new Error("boom");
    const pipe = pipeline(p, () => {
      throw boom;
    }, { onError: async () => "no" });
    pipe.release();
    pipe.push(frame("1"), false);
    pipe.push(frame("2"), false);
    expect(p.log).toStrictEqual([]);
    expect(pipe.failed).toBe(false);
    await tick();
    expect(p.log).toStrictEqual([["fail", boom]]);
    expect(pipe.failed).toBe(true);
  });

  test("after an async onError rejects, the pipeline is idle: whenIdle runs at once", async () => {
    const p = recordingParent();
    const hookError = new Error("hook");
    const pipe = pipeline(p, () => {
      throw new Error("boom");
    }, { onError: () => Promise.reject(hookError) });
    pipe.release();
    pipe.push(frame("1"), false);
    await tick();
    expect(pipe.failed).toBe(true);
    const calls: string[] = [];
    pipe.whenIdle(() => calls.push("idle"));
    expect(calls).toStrictEqual(["idle"]);
  });

  test("keepOpen's reply waiting on the outbound buffer holds the next message until it drained", async () => {
    const p = recordingParent();
    const drained = deferred();
    const seen: unknown[] = [];
    const pipe = pipeline(
      p,
      (data) => {
        seen.push(data);
        if (data === 1) throw new Error("boom");
        return undefined;
      },
      {
        onError: () => {
          p.replyWith = drained.promise;
          return keepOpen("sorry");
        },
      },
    );
    pipe.release();
    pipe.push(frame("1"), false);
    p.replyWith = undefined;
    pipe.push(frame("2"), false);
    expect(seen).toStrictEqual([1]);
    expect(p.log).toStrictEqual([["reply", "sorry", false]]);
    const calls: string[] = [];
    pipe.whenIdle(() => calls.push("idle"));
    await tick();
    expect(seen).toStrictEqual([1]);
    expect(calls).toStrictEqual([]);
    drained.resolve();
    await tick();
    expect(seen).toStrictEqual([1, 2]);
    expect(calls).toStrictEqual(["idle"]);
    expect(pipe.failed).toBe(false);
  });

  test("keepOpen's reply that cannot be encoded, or whose send rejects, fails the connection with that error", async () => {
    const encodeFailed = recordingParent();
    const a = pipeline(encodeFailed, () => {
      throw new Error("boom");
    }, { onError: () => keepOpen(Symbol("unsendable")) });
    a.release();
    a.push(frame("1"), false);
    a.push(frame("2"), false);
    expect(encodeFailed.log).toHaveLength(1);
    const [what, error] = encodeFailed.log[0] as [string, Error];
    expect(what).toBe("fail");
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe("Cannot send symbol as JSON");
    expect(a.failed).toBe(true);

    const sendFailed = recordingParent();
    const sendError = new Error("socket gone");
    const seen: unknown[] = [];
    const b = pipeline(
      sendFailed,
      (data) => {
        seen.push(data);
        throw new Error("boom");
      },
      {
        onError: () => {
          sendFailed.replyWith = Promise.reject(sendError);
          return keepOpen("sorry");
        },
      },
    );
    b.release();
    b.push(frame("1"), false);
    sendFailed.replyWith = undefined;
    b.push(frame("2"), false);
    expect(b.failed).toBe(false);
    await tick();
    expect(sendFailed.log).toStrictEqual([
      ["reply", "sorry", false],
      ["fail", sendError],
    ]);
    expect(seen).toStrictEqual([1]);
    expect(b.failed).toBe(true);
    const calls: string[] = [];
    b.whenIdle(() => calls.push("idle"));
    expect(calls).toStrictEqual(["idle"]);
  });

  test("keepOpen() with no reply sends nothing, even with an encoder that would encode undefined", () => {
    const p = recordingParent();
    const pipe = pipeline(
      p,
      (data) => {
        if (data === 1) throw new Error("boom");
        return data;
      },
      { onError: () => keepOpen(), encode: (value) => ({ data: `encoded ${String(value)}`, isBinary: false }) },
    );
    pipe.release();
    pipe.push(frame("1"), false);
    pipe.push(frame("2"), false);
    expect(p.log).toStrictEqual([["reply", "encoded 2", false]]);
    expect(pipe.failed).toBe(false);
  });
});

describe("MessagePipeline: message-handling latency for observers", () => {
  afterEach(() => void vi.restoreAllMocks());

  /** An observer hub recording `messageHandled`, and the parent around it. */
  function observed(): { p: Parent; handled: [number, number][]; hub: ObserverHub } {
    const hub = new ObserverHub();
    const handled: [number, number][] = [];
    hub.add({ messageHandled: (id, durationMs) => void handled.push([id, durationMs]) });
    return { p: recordingParent(8, hub), handled, hub };
  }

  test("unobserved, a message costs no clock read; observed, two per turn (arrival, end) and one report per message at the turn's end", async () => {
    const now = vi.spyOn(performance, "now");
    const quiet = recordingParent();
    const a = pipeline(quiet, (data) => data);
    a.release();
    for (let i = 0; i < 50; i++) a.push(frame(String(i)), false);
    expect(now).toHaveBeenCalledTimes(0);
    expect(quiet.log).toHaveLength(50);

    const { p, handled } = observed();
    const b = pipeline(p, (data) => data);
    b.release();
    for (let i = 0; i < 50; i++) b.push(frame(String(i)), false);
    expect(now).toHaveBeenCalledTimes(1);
    expect(handled).toStrictEqual([]);
    await Promise.resolve();
    expect(now).toHaveBeenCalledTimes(2);
    expect(handled).toHaveLength(50);
    expect(handled.every(([id, ms]) => id === 7 && ms >= 0)).toBe(true);
  });

  test("the time runs from arrival: a message queued behind a slow one counts its wait, and ends when the result settles", async () => {
    const { p, handled } = observed();
    const first = deferred<string>();
    const pipe = pipeline(p, (data) => (data === 1 ? first.promise : "two"));
    pipe.release();
    pipe.push(frame("1"), false);
    pipe.push(frame("2"), false); // queued behind the first
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(handled).toStrictEqual([]);
    first.resolve("one");
    await tick();
    expect(p.log.filter(([what]) => what === "reply")).toStrictEqual([
      ["reply", "one", false],
      ["reply", "two", false],
    ]);
    expect(handled).toHaveLength(2);
    // Both arrived before the 40 ms wait; the second ran only after it, synchronously.
    expect(handled[0]![1]).toBeGreaterThanOrEqual(35);
    expect(handled[1]![1]).toBeGreaterThanOrEqual(35);
  });

  test("a handler that throws or rejects is done with its message too", async () => {
    const { p, handled } = observed();
    const sync = pipeline(p, () => {
      throw new Error("sync");
    });
    sync.release();
    sync.push(frame("1"), false);
    await tick();
    expect(handled).toHaveLength(1);
    const later = pipeline(p, () => Promise.reject(new Error("async")));
    later.release();
    later.push(frame("1"), false);
    await tick();
    expect(handled).toHaveLength(2);
  });

  test("an observer attached while a message waits does not report a duration from a missing arrival time", async () => {
    const hub = new ObserverHub();
    const p = recordingParent(8, hub);
    const first = deferred<string>();
    const pipe = pipeline(p, () => first.promise);
    pipe.release();
    pipe.push(frame("1"), false);
    const handled: number[] = [];
    hub.add({ messageHandled: (_id, ms) => void handled.push(ms) });
    first.resolve("one");
    await tick();
    expect(p.log.filter(([what]) => what === "reply")).toStrictEqual([["reply", "one", false]]);
    expect(handled).toStrictEqual([]);
  });
});
