import { afterEach, describe, expect, test } from "vitest";
import { app } from "../examples/echo.js";
import { testClient } from "../src/testing/index.js";

describe.each(["memory", "tcp"] as const)("echo over %s", (transport) => {
  afterEach(async () => {});
  test("echoes", async () => {
    const client = testClient(app, { transport });
    const ws = await client.connect("/ws");
    ws.sendText("hi");
    expect(await ws.receiveText()).toBe("Echo: hi");
    const info = await ws.close(1000, "bye");
    expect(info.code).toBe(1000);
    await client.close();
  });
});
