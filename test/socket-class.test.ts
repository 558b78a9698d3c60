/**
 * The socket class is decided when the app is created: a plugin's class, refined (extended) by
 * the app, a group or a route; two that disagree are a `SocketClassConflictError`, never a
 * silent override at run time.
 */
import { describe, expect, test } from "vitest";
import { createApp, createChannels, group, type Logger, type Plugin, Socket, SocketClassConflictError, websocket } from "../src/index.js";
import { testClient } from "../src/testing/index.js";

const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };
const route = websocket("/r", async (socket) => {
  await socket.accept();
  await socket.sendText(socket.constructor.name);
});

class OtherSocket extends Socket<object, object, object> {}
const otherPlugin: Plugin = { name: "other", socketClass: OtherSocket };

describe("conflicting socket classes are an error when the app is created", () => {
  test("two plugins with unrelated socket classes", () => {
    const channels = createChannels();
    const create = () => createApp({ logger: quiet, plugins: [channels, otherPlugin], routes: [route] });
    expect(create).toThrow(SocketClassConflictError);
    expect(create).toThrow(/"channels" and "other" each provide a socket class/);
    expect(() => create()).toThrow(expect.objectContaining({ errorCode: "SW_ERR_SOCKET_CLASS_CONFLICT" }));
  });

  test("an app-level socketClass that does not extend the plugin's", () => {
    const channels = createChannels();
    expect(() => createApp({ logger: quiet, plugins: [channels], socketClass: OtherSocket, routes: [route] })).toThrow(
      /The app's socketClass OtherSocket does not extend the socket class a plugin provides/,
    );
  });

  test("a group's or a route's socketClass that does not extend the plugin's names the route", () => {
    const channels = createChannels();
    expect(() => createApp({ logger: quiet, plugins: [channels], routes: [group("/g", [route], { socketClass: OtherSocket })] })).toThrow(
      /Route \/g\/r: its socketClass OtherSocket does not extend/,
    );
    const own = websocket("/own", async () => {}, { socketClass: OtherSocket });
    expect(() => createApp({ logger: quiet, plugins: [channels], routes: [own] })).toThrow(SocketClassConflictError);
  });

  test("a subclass of the plugin's class refines it: handlers get the subclass, with the plugin's methods", async () => {
    const channels = createChannels();
    class Greeting extends channels.socketClass {
      hello(): string {
        return `hello from ${this.rooms.length} rooms`;
      }
    }
    const app = createApp({
      logger: quiet,
      plugins: [channels],
      routes: [
        route,
        websocket(
          "/greet",
          async (socket) => {
            await socket.accept();
            await socket.join("a");
            await socket.sendText(socket.hello());
          },
          { socketClass: Greeting },
        ),
      ],
    });
    const client = testClient(app);
    try {
      const plain = await client.connect("/r");
      expect(await plain.receiveText()).toBe("BoundChannelSocket");
      await plain.close();
      const greet = await client.connect("/greet");
      expect(await greet.receiveText()).toBe("hello from 1 rooms");
      await greet.close();
    } finally {
      await app.close({ timeoutMs: 1000 });
    }
  });

  test("without plugins any socketClass goes, as before", () => {
    expect(() => createApp({ logger: quiet, socketClass: OtherSocket, routes: [route] }).close()).not.toThrow();
  });
});
