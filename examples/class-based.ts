/**
 * A class-based listener (Litestar's `WebsocketListener`, Starlette's `WebSocketEndpoint`): one
 * instance per connection, hooks for accept, each message, disconnect and errors.
 * `PORT=8000 node --conditions=statewire-source --import tsx examples/class-based.ts`
 */
import { type AnySocket, createApp, type Socket, WebSocketListener } from "statewire";
import { isMain, serve } from "./serve.js";

const members = new Set<ChatRoom>();

export class ChatRoom extends WebSocketListener {
  readonly path = "/class/room";
  name = "anonymous";
  socket: AnySocket | undefined;

  override onAccept(socket: Socket): void {
    this.name = socket.query.name ?? "anonymous";
    this.socket = socket;
    members.add(this);
  }

  override async onReceive(text: string): Promise<string> {
    const line = `${this.name}: ${text}`;
    for (const member of members) if (member !== this) await member.socket?.sendText(line).catch(() => {});
    return line;
  }

  override onDisconnect(): void {
    members.delete(this);
  }
}

export const app = createApp({ routes: [ChatRoom] });

if (isMain(import.meta.url)) await serve(app);
