import { createActor } from "xstate";
import { connectionMachine } from "../machines/connection.ts";
let n = 0;
const provided = connectionMachine.provide({ actions: { completeHandshake: () => { n++; }, releaseResources: () => { n++; } } });
const N = 20000;
for (let i = 0; i < 2000; i++) { const a = createActor(provided); a.start(); a.send({ type: "accept" }); a.send({ type: "close", code: 1000, reason: "" }); a.send({ type: "transportClosed", code: 1000, reason: "", wasClean: true }); }
let t = process.hrtime.bigint();
for (let i = 0; i < N; i++) { const a = createActor(provided); a.start(); }
console.log("createActor+start µs", Number(process.hrtime.bigint() - t) / N / 1000);
t = process.hrtime.bigint();
for (let i = 0; i < N; i++) { const a = createActor(provided); a.start(); a.send({ type: "accept" }); a.send({ type: "close", code: 1000, reason: "" }); a.send({ type: "transportClosed", code: 1000, reason: "", wasClean: true }); }
console.log("full lifecycle µs", Number(process.hrtime.bigint() - t) / N / 1000);
globalThis.gc?.();
const before = process.memoryUsage().heapUsed;
const keep: unknown[] = [];
for (let i = 0; i < N; i++) { const a = createActor(provided); a.start(); a.send({ type: "accept" }); keep.push(a); }
globalThis.gc?.();
console.log("heap per open actor KB", (process.memoryUsage().heapUsed - before) / N / 1024, keep.length, n > 0);
