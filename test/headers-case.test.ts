/** Request header names are case-insensitive when read (socket, guard), and enumerate lower case. */
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { createApp, type Logger, websocket } from "../src/index.js";
import { testClient } from "../src/testing/index.js";

const runs = process.env.STATEWIRE_DEEP === "1" ? 2000 : 200;
const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

const app = createApp({
  logger: quiet,
  routes: [
    websocket(
      "/h",
      async (socket) => {
        await socket.accept();
        const name = await socket.receiveText();
        await socket.sendJson({
          indexed: socket.headers[name] ?? null,
          header: socket.header(name) ?? null,
          has: name in socket.headers,
          guard: socket.state.guardSaw ?? null,
          names: Object.keys(socket.headers).filter((key) => key.startsWith("x-")),
        });
      },
      {
        guards: [
          async (context, next) => {
            context.state.guardSaw = context.headers["Authorization"] ?? null;
            await next();
          },
        ],
      },
    ),
  ],
});
afterAll(() => app.close({ timeoutMs: 1000 }));

describe("header names ignore case", () => {
  for (const transport of ["memory", "tcp"] as const) {
    test(`headers["Authorization"], header("AUTHORIZATION") and the guard's view read the same value (${transport})`, async () => {
      const client = testClient(app, { transport });
      const ws = await client.connect("/h", { headers: { Authorization: "Bearer t", "X-Trace-Id": "abc" } });
      ws.sendText("AuThOrIzAtIoN");
      expect(await ws.receiveJson()).toEqual({ indexed: "Bearer t", header: "Bearer t", has: true, guard: "Bearer t", names: ["x-trace-id"] });
      await ws.close();
    });
  }

  test("property: any casing of a sent header name reads its value; an absent one reads undefined", async () => {
    const client = testClient(app);
    const letters = fc.stringMatching(/^[a-z][a-z-]{0,15}[a-z]$/);
    await fc.assert(
      fc.asyncProperty(letters, fc.array(fc.boolean(), { minLength: 17, maxLength: 17 }), fc.boolean(), async (name, upper, sent) => {
        const spelled = [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join("");
        const headerName = `x-${name}`;
        const ws = await client.connect("/h", { headers: sent ? { [headerName]: "v" } : {} });
        ws.sendText(`X-${spelled}`);
        const seen = (await ws.receiveJson()) as { indexed: unknown; header: unknown; has: boolean };
        expect(seen).toMatchObject(sent ? { indexed: "v", header: "v", has: true } : { indexed: null, header: null, has: false });
        await ws.close();
      }),
      { numRuns: runs },
    );
  });

  test("built-in object keys are not headers: constructor and toString read as the plain object would", async () => {
    const client = testClient(app);
    const ws = await client.connect("/h");
    ws.sendText("Constructor");
    expect(await ws.receiveJson()).toMatchObject({ header: null, has: false });
    await ws.close();
  });
});
