/**
 * Presence: who is in a room, across processes. Each process joins members under its own
 * process id and heartbeats that id into the store with an expiry; a member counts only while
 * its process's heartbeat is fresh. A process that crashes stops heartbeating: its members drop
 * out of every `list()` once its expiry passes, and the next heartbeat of any live process reaps
 * them (removes them and sends their `leave` events). The store is the one source of truth, so
 * every process reads the same list; events tell processes what changed.
 *
 * `createPresence({ store })` is also a plugin: `app.close()` leaves this process's members.
 */
import { randomUUID } from "node:crypto";
import type { Plugin } from "../app/plugin.js";
import type { AnySocket } from "../connection/socket.js";
import { memoryPresence } from "./presence-memory.js";
import type { PresenceEvent, PresenceMember, PresenceStore } from "./presence-store.js";

export type { PresenceEvent, PresenceMember, PresenceStore } from "./presence-store.js";

export interface PresenceOptions {
  /** Default: a new `memoryPresence()` (this process only). */
  readonly store?: PresenceStore;
  /** How often this process refreshes its heartbeat and reaps dead processes. Default 5 000 ms. */
  readonly heartbeatMs?: number;
  /** How long after its last heartbeat a process's members stop counting. Default 3 × `heartbeatMs`. */
  readonly ttlMs?: number;
  /** Largest metadata of one member, in bytes of JSON. Default 4 096. */
  readonly maxMetaBytes?: number;
}

export interface PresenceCloseOptions {
  /** Remove this process's members now (default true). `false` leaves them to expire, as a crash would. */
  readonly leave?: boolean;
}

export interface Presence extends Plugin {
  readonly name: "presence";
  /** This instance's process id (the `process` of the members it joins). */
  readonly processId: string;
  /** The bound: members of a process that stopped heartbeating are gone from `list()` after this long, and reaped within `ttlMs + heartbeatMs`. */
  readonly ttlMs: number;
  /** Resolves once the first heartbeat is in (this process is known alive and receives events). */
  readonly ready: Promise<void>;
  /** Add (or update the metadata of) member `id` of `room`, held by this process. */
  join(room: string, id: string, meta?: unknown): Promise<void>;
  leave(room: string, id: string): Promise<void>;
  /** Members of `room` across every process, ordered by process then id. */
  list(room: string): Promise<PresenceMember[]>;
  /** Join `socket` (id: its connection id) to `room` until it leaves or its connection closes. */
  track(socket: AnySocket, room: string, meta?: unknown): Promise<void>;
  /** Listen to joins and leaves of every room (or of `room`). Returns the function that stops listening. */
  on(listener: (event: PresenceEvent) => void, room?: string): () => void;
  /** Stop heartbeating; by default leave this process's members first. */
  close(options?: PresenceCloseOptions): Promise<void>;
}

/** Longest room name or member id: they become Redis keys and fields. */
const MAX_NAME = 512;

/** Create a presence instance (one per process and store). See `PresenceOptions`. */
export function createPresence(options: PresenceOptions = {}): Presence {
  const heartbeatMs = options.heartbeatMs ?? 5000;
  const ttlMs = options.ttlMs ?? heartbeatMs * 3;
  const maxMetaBytes = options.maxMetaBytes ?? 4096;
  if (!(heartbeatMs > 0)) throw new RangeError(`heartbeatMs must be positive, got ${heartbeatMs}`);
  if (!(ttlMs > heartbeatMs)) throw new RangeError(`ttlMs (${ttlMs}) must exceed heartbeatMs (${heartbeatMs}): a live process would expire between heartbeats`);
  const store = options.store ?? memoryPresence();
  const processId = randomUUID();
  /** This process's members, room → id → meta (JSON): rejoined if the store reaped us while we were away. */
  const mine = new Map<string, Map<string, string>>();
  const listeners = new Set<{ room: string | undefined; fn: (event: PresenceEvent) => void }>();
  let closed: Promise<void> | undefined;

  const unsubscribe = store.subscribe((event) => {
    for (const { room, fn } of listeners) {
      if (room !== undefined && room !== event.room) continue;
      try {
        fn(event);
      } catch {
        // A listener's fault is its own.
      }
    }
  });

  let beating: Promise<void> = Promise.resolve();
  const beat = async (): Promise<void> => {
    const known = await store.heartbeat(processId, ttlMs);
    if (!known && closed === undefined) {
      // We were reaped (paused or cut off past the expiry): our members are gone everywhere; put them back.
      for (const [room, ids] of mine) for (const [id, meta] of ids) await store.join(processId, room, id, meta, ttlMs);
    }
  };
  const timer = setInterval(() => {
    beating = beating.then(beat).catch(() => {});
  }, heartbeatMs);
  timer.unref();

  const check = (room: string, id: string): void => {
    if (typeof room !== "string" || room.length === 0 || room.length > MAX_NAME) throw new TypeError(`presence: a room is a string of 1-${MAX_NAME} characters`);
    if (typeof id !== "string" || id.length === 0 || id.length > MAX_NAME) throw new TypeError(`presence: a member id is a string of 1-${MAX_NAME} characters`);
    if (closed !== undefined) throw new Error("presence: this instance is closed");
  };

  // First heartbeat at once: a process with no members yet is known alive.
  const ready = beat();
  beating = ready.catch(() => {});
  const presence: Presence = {
    name: "presence",
    processId,
    ttlMs,
    ready,

    async join(room, id, meta = null) {
      check(room, id);
      const json = JSON.stringify(meta) ?? "null";
      if (Buffer.byteLength(json) > maxMetaBytes) throw new RangeError(`presence: metadata is ${Buffer.byteLength(json)} bytes of JSON; at most ${maxMetaBytes}`);
      let ids = mine.get(room);
      if (ids === undefined) mine.set(room, (ids = new Map()));
      ids.set(id, json);
      await store.join(processId, room, id, json, ttlMs);
    },

    async leave(room, id) {
      check(room, id);
      const ids = mine.get(room);
      if (ids === undefined || !ids.delete(id)) return;
      if (ids.size === 0) mine.delete(room);
      await store.leave(processId, room, id);
    },

    async list(room) {
      const members = await store.list(room);
      return members
        .map(({ id, meta, process }) => ({ id, meta: JSON.parse(meta) as unknown, process }))
        .sort((a, b) => (a.process === b.process ? compare(a.id, b.id) : compare(a.process, b.process)));
    },

    async track(socket, room, meta) {
      const id = String(socket.id);
      const gone = (): void => void presence.leave(room, id).catch(() => {});
      if (socket.lifecycle !== "open" || socket.signal.aborted) return;
      await presence.join(room, id, meta);
      // The connection may have closed while we joined: leave either way.
      if (socket.signal.aborted) gone();
      else socket.signal.addEventListener("abort", gone, { once: true });
    },

    on(listener, room) {
      const entry = { room, fn: listener };
      listeners.add(entry);
      return () => void listeners.delete(entry);
    },

    close(closeOptions = {}) {
      return (closed ??= (async () => {
        clearInterval(timer);
        await beating;
        if (closeOptions.leave !== false) await store.leaveAll(processId).catch(() => {});
        mine.clear();
        unsubscribe();
        listeners.clear();
        await store.close();
      })());
    },
  };
  return presence;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

