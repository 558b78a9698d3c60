/**
 * Dependencies (Litestar's `Provide`, FastAPI's `Depends`): resolved once per connection, before
 * the handler; a `yield` dependency is released after the connection closed.
 * `PORT=8000 node --conditions=statewire-source --import tsx examples/dependencies.ts`
 */
import { createApp, HandshakeDenied, provide, websocketListener } from "statewire";
import { isMain, serve } from "./serve.js";

// A Map, not an object literal: `users["constructor"]` would find Object's own constructor.
const users = new Map([
  ["alice-token", "Alice"],
  ["bob-token", "Bob"],
]);

/** The user named by `?token=`; a missing or unknown token refuses the handshake with HTTP 403. */
export const currentUser = provide(({ query }) => {
  const user = query.token === undefined ? undefined : users.get(query.token);
  if (user === undefined) throw new HandshakeDenied(403, "unknown token");
  return user;
});

export const secured = websocketListener("/listener/secured", {
  dependencies: { user: currentUser },
  handler: (text, { user }) => `Hello ${user}, you sent: ${text}`,
});

/** A resource per connection, released once the connection closed (the code after `yield`). */
export const resources = { acquired: 0, released: 0 };
export const database = provide(async function* () {
  resources.acquired++;
  try {
    yield { query: (text: string) => `Result: ${text}` };
  } finally {
    resources.released++;
  }
});

export const db = websocketListener("/listener/db", {
  dependencies: { db: database },
  handler: (text, { db }) => db.query(text),
});

export const app = createApp({ routes: [secured, db] });

if (isMain(import.meta.url)) await serve(app);
