/**
 * `maxPayload` as a layer option: the app's default, a group's, a route's — the nearest wins —
 * enforced at the wire per connection (close 1009), over TCP (ws's receiver) and memory.
 */
import { describe, expect, test } from "vitest";
import { createApp, group, websocket } from "../src/index.js";
import { testClient } from "../src/testing/index.js";

const KiB = 1024;
const echo = (path: string, options = {}) =>
  websocket(
    path,
    async (socket) => {
      await socket.accept();
      for await (const message of socket) if (typeof message !== "string") await socket.sendBytes(message);
    },
    options,
  );

const app = () =>
  createApp({
    heartbeat: false,
    maxPayload: 4 * KiB,
    routes: [
      echo("/app"),
      group("/big", [echo("/group"), echo("/route", { maxPayload: 64 * KiB }), echo("/small", { maxPayload: KiB })], { maxPayload: 16 * KiB }),
    ],
  });

describe.each(["tcp", "memory"] as const)("over %s", (transport) => {
  test("each route takes the nearest layer's limit: larger messages close 1009, smaller ones pass", async () => {
    const client = testClient(app(), { transport });
    try {
      for (const [path, limit] of [
        ["/app", 4 * KiB],
        ["/big/group", 16 * KiB],
        ["/big/route", 64 * KiB],
        ["/big/small", KiB],
      ] as const) {
        const fits = await client.connect(path);
        fits.sendBytes(new Uint8Array(limit));
        expect((await fits.receiveBytes()).byteLength, path).toBe(limit);
        fits.sendBytes(new Uint8Array(limit + 1));
        expect((await fits.closed).code, path).toBe(1009);
      }
    } finally {
      await client.close();
    }
  });
});

test("a limit that is not a positive whole number is refused when the app is created", () => {
  expect(() => createApp({ routes: [echo("/x", { maxPayload: 0 })] })).toThrow(/Route \/x: maxPayload/);
  expect(() => createApp({ routes: [group("/g", [echo("/x")], { maxPayload: 1.5 })] })).toThrow(RangeError);
});
