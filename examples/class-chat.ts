/**
 * A class-based chat with header authentication (Litestar's `WebsocketListener` with a guard,
 * Starlette's `WebSocketEndpoint`): `Authorization: Bearer alice-token` (or `bob-token`) joins
 * the room `general` on accept and leaves it on disconnect; each message goes to every other
 * member, and back to its sender once, as the reply. A bad or missing token completes the
 * handshake and then closes with 4001 `Invalid token`, which browsers can read.
 * `PORT=8000 node --conditions=statewire-source --import tsx examples/class-chat.ts`
 */
import { type AnySocket, createApp, type ListenerDependencies, provide, WebSocketError, WebSocketListener } from "statewire";
import { isMain, serve } from "./serve.js";

// A Map, not an object literal: `users["constructor"]` would find Object's own constructor.
const users = new Map([
  ["alice-token", "Alice"],
  ["bob-token", "Bob"],
]);

/** The user named by `Authorization: Bearer <token>`; anything else closes with 4001 before accept. */
export const bearerUser = provide(({ headers }) => {
  const token = /^Bearer (.+)$/.exec(headers.authorization ?? "")?.[1];
  const user = token === undefined ? undefined : users.get(token);
  if (user === undefined) throw new WebSocketError(4001, "Invalid token");
  return user;
});

const rooms = new Map<string, Set<ChatEndpoint>>();

export class ChatEndpoint extends WebSocketListener {
  readonly path = "/class/chat";
  override readonly dependencies = { user: bearerUser };
  readonly room = "general";
  user = "";
  socket: AnySocket | undefined;

  override onAccept(socket: AnySocket, dependencies: ListenerDependencies): void {
    this.user = String(dependencies.user);
    this.socket = socket;
    const members = rooms.get(this.room) ?? new Set<ChatEndpoint>();
    rooms.set(this.room, members.add(this));
  }

  /** To every other member, then back to the sender as the reply. */
  override async onReceive(text: string): Promise<string> {
    const line = `${this.user}: ${text}`;
    for (const member of rooms.get(this.room) ?? []) {
      if (member !== this) await member.socket?.sendText(line).catch(() => {}); // a member that just left misses it
    }
    return line;
  }

  override onDisconnect(): void {
    rooms.get(this.room)?.delete(this);
  }
}

export const app = createApp({ routes: [ChatEndpoint] });

if (isMain(import.meta.url)) await serve(app);
