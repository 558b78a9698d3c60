/**
 * The contract of a presence store (as `backend.ts` is the channels backend's): what
 * `memoryPresence()` and `redisPresence()` implement and `createPresence` uses.
 */

/** One member of a room: the id its process gave it, its metadata, and the process holding it. */
export interface PresenceMember {
  readonly id: string;
  readonly meta: unknown;
  /** The id of the presence instance (process) that joined it. */
  readonly process: string;
}

export interface PresenceEvent extends PresenceMember {
  readonly type: "join" | "leave";
  readonly room: string;
}

/** Where presence lives: `memoryPresence()` (one process) or `redisPresence()` (every process sharing a Redis). */
export interface PresenceStore {
  readonly kind: string;
  /** Add or update a member of `room` held by `process`; refreshes `process`'s expiry to now + `ttlMs`. Publishes a join. */
  join(process: string, room: string, id: string, meta: string, ttlMs: number): Promise<void>;
  /** Remove a member; publishes a leave when it was there. */
  leave(process: string, room: string, id: string): Promise<void>;
  /** Members of `room` whose process is alive; `meta` as stored (JSON). */
  list(room: string): Promise<{ id: string; meta: string; process: string }[]>;
  /** Refresh `process`'s expiry and reap the members of expired processes. Resolves false when `process` had expired (its members are gone). */
  heartbeat(process: string, ttlMs: number): Promise<boolean>;
  /** Remove every member of `process` (graceful stop), publishing their leaves. */
  leaveAll(process: string): Promise<void>;
  /** Receive every join and leave, from every process. Returns the function that stops it. */
  subscribe(listener: (event: PresenceEvent) => void): () => void;
  /** Release connections and timers (the presence instance using the store closes it). */
  close(): Promise<void>;
}
