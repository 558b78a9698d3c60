/**
 * The clock of the message-handling latency, read per turn rather than per message
 * (docs/architecture.md §5): `performance.now()` costs ≈ 150 ns on Node 20, and a TCP read
 * carries many messages. The messages of one read share their arrival time (the first clock read
 * of the turn; it is forgotten at the turn's end), and the messages handled in one turn are
 * reported together at its end with one more clock read: handling time then runs from the read
 * to the end of the synchronous work it started, an upper bound that differs from a per-message
 * reading by the time the read's other messages took (microseconds).
 */

/** Who is told (the app's `ObserverHub`; named here so that this module imports no observer). */
export interface HandledMessages {
  readonly active: boolean;
  /** `count` messages of connection `id`, each handled `durationMs` after it arrived. */
  messagesHandled(id: number, durationMs: number, count: number): void;
}

/** This turn's arrival time; 0 until read. */
let arrival = 0;
let scheduled = false;
// Messages handled this turn, as runs of (observers, connection, arrival, count): consecutive
// messages of one read share all three, so a read of 16 messages is one run.
const hubs: HandledMessages[] = [];
const ids: number[] = [];
const arrivals: number[] = [];
const counts: number[] = [];

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  queueMicrotask(endOfTurn);
}

function endOfTurn(): void {
  arrival = 0;
  if (hubs.length > 0) {
    const now = performance.now();
    // Read the length each time: an observer that causes a report adds to this batch.
    for (let i = 0; i < hubs.length; i++) {
      const hub = hubs[i]!;
      if (!hub.active) continue;
      const id = ids[i]!;
      const duration = now - arrivals[i]!;
      try {
        hub.messagesHandled(id, duration, counts[i]!);
      } catch {
        // A watcher must never break what it watches: the other runs are reported, and the
        // clock's state is reset below, or every later turn would reuse a stale arrival.
      }
    }
    hubs.length = ids.length = arrivals.length = counts.length = 0;
  }
  scheduled = false;
}

/** When a message that arrives now arrived: one clock read per turn. */
export function arrivalTime(): number {
  if (arrival === 0) {
    arrival = performance.now();
    schedule();
  }
  return arrival;
}

/** A message of connection `id` that arrived at `arrivedAt` is handled: reported to `observers` at the end of the turn. */
export function reportHandled(observers: HandledMessages, id: number, arrivedAt: number): void {
  const last = hubs.length - 1;
  if (last >= 0 && hubs[last] === observers && ids[last] === id && arrivals[last] === arrivedAt) {
    counts[last]!++;
    return;
  }
  hubs.push(observers);
  ids.push(id);
  arrivals.push(arrivedAt);
  counts.push(1);
  schedule();
}
