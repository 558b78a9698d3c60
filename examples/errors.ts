/**
 * Error handling, two ways. `/errors` (Velithon's and Nexios' try/except around each message):
 * the handler validates, catches its own failures and answers with an error message, and the
 * connection stays open. `/crash` (what happens when nobody catches): a listener that throws
 * closes with 1011 `Internal error`; the error goes to the logger and `onError`, never to the
 * client, and every other connection carries on.
 * `PORT=8000 node --conditions=statewire-source --import tsx examples/errors.ts`
 */
import { Result, Schema, SchemaIssue } from "effect";
import { createApp, websocket, websocketListener } from "statewire";
import { isMain, serve } from "./serve.js";

const Payload = Schema.Struct({ value: Schema.Finite });
const decodePayload = Schema.decodeUnknownResult(Payload);
const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1();

class ValidationError extends Error {
  constructor(readonly details: readonly { readonly path: string; readonly message: string }[]) {
    super("Validation failed");
  }
}

/** The work behind each message; it throws on bad input, and on `boom` it fails the way real code does. */
function double(text: string): number {
  if (text === "boom") throw new Error("the database went away"); // an internal failure, never shown to the client
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new ValidationError([{ path: "", message: "Invalid JSON" }]);
  }
  const result = decodePayload(data);
  if (Result.isFailure(result)) {
    const { issues } = formatIssues(result.failure.issue);
    throw new ValidationError(issues.map((issue) => ({ path: (issue.path ?? []).map(String).join("."), message: issue.message })));
  }
  return result.success.value * 2;
}

/** What to answer to one message: the result, or what went wrong, as data. */
function answer(message: string | Buffer): object {
  try {
    if (typeof message !== "string") throw new ValidationError([{ path: "", message: "Expected a text message" }]);
    return { success: true, data: double(message) };
  } catch (error) {
    if (error instanceof ValidationError) return { success: false, error: "Validation failed", details: error.details };
    console.error("examples/errors.ts: internal failure:", error instanceof Error ? error.message : error); // details stay in the log
    return { success: false, error: "Internal error" };
  }
}

/** `{"value": n}` → `{"success": true, "data": 2n}`; anything else → `{"success": false, …}`; the connection stays open. */
export const errors = websocket("/errors", async (socket) => {
  await socket.accept();
  for await (const message of socket) await socket.sendJson(answer(message));
});

/** Throws on every message: the client sees close 1011 `Internal error` and nothing of the error itself. */
export const crash = websocketListener("/crash", (text) => {
  throw new Error(`cannot handle ${JSON.stringify(text)}: secret connection string postgres://admin:hunter2@db`);
});

export const app = createApp({ routes: [errors, crash] });

if (isMain(import.meta.url)) await serve(app);
