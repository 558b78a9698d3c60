/**
 * statewire's echo servers (the routes from the README / examples, without the "Echo: " prefix
 * so every server answers the same bytes), one per process, on `/ws`:
 * - HANDLER=websocket (default): the low-level handler, `for await` + `sendText`;
 * - HANDLER=listener: `websocketListener("/ws", (text) => text)`;
 * - HANDLER=json: a listener whose messages are JSON validated by an effect schema
 *   (`{ data: string }`), answered with the decoded value (encoded back to JSON).
 * - HANDLER=listener-middleware: the listener behind one pass-through message middleware (what
 *   middleware costs per message where it is used).
 * - HANDLER=machine: `websocketMachine` with a one-state machine whose `message` transition runs
 *   one `sendMessage` action (the per-message cost of the protocol-machine kind).
 * - HANDLER=listener-metrics: the listener with the metrics plugin (as METRICS=1), so that
 *   `bench/micro.ts --handlers=listener,listener-metrics` compares the two in one run.
 * METRICS=1: with the metrics plugin from `statewire/metrics` (its per-message cost: the bench's
 * metrics-on row against the same handler without it).
 * `node --import tsx bench/servers/statewire-echo.ts` (PORT=0 by default, 127.0.0.1 only).
 * STATEWIRE_ENTRY: the statewire build to load (the harness compiles one with tsc, as the package
 * ships); by default the TypeScript sources through tsx.
 */
import { Schema } from "effect";
import { setup } from "xstate";
import { serveControl } from "./control.js";
import { loadStatewire, loadStatewireMetrics } from "./entry.js";

const { createApp, sendMessage, websocket, websocketListener, websocketMachine } = await loadStatewire();

const echoMachine = setup({ types: { events: {} as { type: "message"; data: string } | { type: "disconnect" } } }).createMachine({
  id: "echo",
  initial: "open",
  states: { open: { on: { message: { actions: sendMessage(({ event }) => event.data) } } } },
});

const Message = Schema.Struct({ data: Schema.String });

const handler = process.env.HANDLER ?? "websocket";
const route =
  handler === "listener" || handler === "listener-metrics"
    ? websocketListener("/ws", (text) => text)
    : handler === "listener-middleware"
      ? websocketListener("/ws", { handler: (text: string) => text, middleware: [{ message: (_message, next) => next() }] })
    : handler === "json"
      ? websocketListener("/ws", { receive: Message, handler: (message) => message })
      : handler === "machine"
        ? websocketMachine("/ws", { machine: echoMachine, receive: "text" })
      : handler === "websocket"
        ? websocket("/ws", async (socket) => {
            await socket.accept();
            for await (const m of socket) await socket.sendText(m as string);
          })
        : undefined;
if (route === undefined) throw new Error(`unknown HANDLER ${handler}: websocket, listener, listener-metrics, listener-middleware, json or machine`);

const plugins = process.env.METRICS === "1" || handler === "listener-metrics" ? [(await loadStatewireMetrics()).metrics()] : [];
const app = createApp({ routes: [route], plugins });

const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: "127.0.0.1" });
serveControl(address.port, () => app.connectionCount);
