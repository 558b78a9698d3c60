/**
 * The app inside other servers: `attach()` to plain node:http and to Express without touching
 * their HTTP handlers, `requestListener` for statewire's HTTP routes, and a pino logger.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import express from "express";
import { pino } from "pino";
import { afterEach, describe, expect, test } from "vitest";
import { WebSocket } from "ws";
import { createApp, get, websocket } from "../src/index.js";

const echo = websocket("/ws", async (socket) => {
  await socket.accept();
  for await (const message of socket) await socket.sendText(`Echo: ${String(message)}`);
});

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function roundTrip(url: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on("open", () => ws.send(text));
    ws.on("message", (data) => {
      resolve(String(data));
      ws.close();
    });
    ws.on("error", reject);
  });
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("attach()", () => {
  test("serves WebSocket routes on a plain node:http server and leaves its HTTP handler alone", async () => {
    const server = createServer((_request, response) => response.end("from the host server"));
    const app = createApp({ routes: [echo] });
    app.attach(server);
    const host = await listen(server);
    cleanups.push(async () => {
      await app.close();
      await new Promise((resolve) => server.close(resolve));
    });
    expect(await roundTrip(`ws://${host}/ws`, "hi")).toBe("Echo: hi");
    expect(await (await fetch(`http://${host}/ws`)).text()).toBe("from the host server");
    expect(await (await fetch(`http://${host}/anything`)).text()).toBe("from the host server");
  });

  test("works beside Express, and requestListener mounts statewire's HTTP routes into it", async () => {
    const app = createApp({ routes: [echo, get("/stats", () => ({ open: app.connectionCount }))] });
    const expressApp = express();
    expressApp.get("/express", (_request, response) => void response.send("express says hi"));
    expressApp.use(app.requestListener);
    const server = createServer(expressApp);
    app.attach(server);
    const host = await listen(server);
    cleanups.push(async () => {
      await app.close();
      await new Promise((resolve) => server.close(resolve));
    });
    expect(await roundTrip(`ws://${host}/ws`, "x")).toBe("Echo: x");
    expect(await (await fetch(`http://${host}/express`)).text()).toBe("express says hi");
    expect(await (await fetch(`http://${host}/stats`)).json()).toEqual({ open: 0 });
    expect((await fetch(`http://${host}/ws`)).status).toBe(426);
  });
});

describe("logger", () => {
  test("a pino logger receives handler errors as structured records", async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString("utf8"));
        callback();
      },
    });
    const app = createApp({
      logger: pino({ level: "info" }, destination),
      routes: [
        websocket("/boom", async (socket) => {
          await socket.accept();
          throw new TypeError("kaboom");
        }),
      ],
    });
    const { url } = await app.listen();
    cleanups.push(() => app.close());
    const code = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${url.replace("http", "ws")}/boom`);
      ws.on("close", (closeCode) => resolve(closeCode));
    });
    expect(code).toBe(1011);
    const record = JSON.parse(lines.find((line) => line.includes("kaboom")) ?? "{}") as Record<string, unknown>;
    expect(record.level).toBe(50);
    expect(record.msg).toBe("WebSocket handler failed");
    expect(record.route).toBe("/boom");
    expect((record.err as { message: string }).message).toBe("kaboom");
  });
});

describe("listen()", () => {
  test("resolves to the bound address and refuses to listen once closing", async () => {
    const app = createApp({ routes: [echo] });
    const address = await app.listen({ port: 0, host: "127.0.0.1" });
    expect(address.host).toBe("127.0.0.1");
    expect(address.port).toBeGreaterThan(0);
    expect(address.url).toBe(`http://127.0.0.1:${address.port}`);
    await app.close();
    await expect(app.listen()).rejects.toThrow(/closing/);
  });
});
