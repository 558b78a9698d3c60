/**
 * The memory presence store: the Redis store's model in one process (expiries by the clock,
 * reaped by heartbeats, events to every instance sharing the store). Share one store between
 * instances to model several processes.
 */
import type { PresenceEvent, PresenceStore } from "./presence-store.js";

interface Held {
  readonly meta: string;
}

class MemoryPresenceStore implements PresenceStore {
  readonly kind = "memory";
  /** Process → when it expires (ms). */
  readonly #alive = new Map<string, number>();
  /** Room → `process\nid` → member. */
  readonly #rooms = new Map<string, Map<string, Held>>();
  readonly #listeners = new Set<(event: PresenceEvent) => void>();

  #emit(event: PresenceEvent): void {
    // Delivered asynchronously, as Redis pub/sub would.
    queueMicrotask(() => {
      for (const listener of this.#listeners) listener(event);
    });
  }

  async join(process: string, room: string, id: string, meta: string, ttlMs: number): Promise<void> {
    this.#alive.set(process, Date.now() + ttlMs);
    let members = this.#rooms.get(room);
    if (members === undefined) this.#rooms.set(room, (members = new Map()));
    members.set(`${process}\n${id}`, { meta });
    this.#emit({ type: "join", room, id, meta: JSON.parse(meta) as unknown, process });
  }

  async leave(process: string, room: string, id: string): Promise<void> {
    const members = this.#rooms.get(room);
    const held = members?.get(`${process}\n${id}`);
    if (members === undefined || held === undefined) return;
    members.delete(`${process}\n${id}`);
    if (members.size === 0) this.#rooms.delete(room);
    this.#emit({ type: "leave", room, id, meta: JSON.parse(held.meta) as unknown, process });
  }

  async list(room: string): Promise<{ id: string; meta: string; process: string }[]> {
    const now = Date.now();
    const out: { id: string; meta: string; process: string }[] = [];
    for (const [field, { meta }] of this.#rooms.get(room) ?? []) {
      const cut = field.indexOf("\n");
      const process = field.slice(0, cut);
      if ((this.#alive.get(process) ?? 0) > now) out.push({ id: field.slice(cut + 1), meta, process });
    }
    return out;
  }

  async heartbeat(process: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const known = this.#alive.has(process);
    this.#alive.set(process, now + ttlMs);
    for (const [other, expires] of this.#alive) if (expires <= now) this.#reap(other);
    return known;
  }

  async leaveAll(process: string): Promise<void> {
    this.#reap(process);
  }

  #reap(process: string): void {
    this.#alive.delete(process);
    const prefix = `${process}\n`;
    for (const [room, members] of [...this.#rooms]) {
      for (const [field, { meta }] of [...members]) {
        if (!field.startsWith(prefix)) continue;
        members.delete(field);
        this.#emit({ type: "leave", room, id: field.slice(prefix.length), meta: JSON.parse(meta) as unknown, process });
      }
      if (members.size === 0) this.#rooms.delete(room);
    }
  }

  subscribe(listener: (event: PresenceEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    // Shared by every instance of this process: nothing to release.
  }
}

/** Presence in this process only: instances sharing one store see each other (tests, one process). */
export function memoryPresence(): PresenceStore {
  return new MemoryPresenceStore();
}
