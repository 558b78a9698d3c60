import { Schema } from "effect";
import { createDecoder, createEncoder } from "../../src/codec/message-codec.ts";
import { validator } from "../../src/codec/schema.ts";
const Message = Schema.Struct({ data: Schema.String });
const size = Number(process.argv[2] ?? 4096);
const buf = Buffer.from(`{"data":"${"x".repeat(size - 11)}"}`);
const dec = createDecoder(Message as never, "text");
const enc = createEncoder(undefined, undefined);
const v = validator(Message as never);
function time(label: string, fn: () => unknown) {
  for (let i = 0; i < 20000; i++) fn();
  const N = 100000;
  const t = process.cpuUsage();
  for (let i = 0; i < N; i++) fn();
  const d = process.cpuUsage(t);
  console.log(label.padEnd(30), ((d.user + d.system) / N).toFixed(3), "µs");
}
const obj = JSON.parse(buf.toString());
time("toString", () => buf.toString("utf8"));
time("JSON.parse(toString)", () => JSON.parse(buf.toString("utf8")));
time("validate(obj)", () => v(obj));
time("decoder", () => dec(buf, false));
time("JSON.stringify", () => JSON.stringify(obj));
time("encoder", () => enc(obj));
time("decode+encode", () => enc((dec(buf, false) as { value: unknown }).value));
time("ref parse+stringify", () => JSON.stringify(JSON.parse(buf.toString("utf8"))));
