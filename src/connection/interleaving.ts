/**
 * A testing hook: when a gate is set, the runtime passes each asynchronous step of its own —
 * a dependency provider starting, a stream pulling its next value, an async reply being sent —
 * through it, so a scheduler (fast-check's) decides their order against everything else.
 * Unset (always, in production) it costs one property read per such step.
 */
export type Gate = (label: string) => Promise<void>;

export class Interleaving {
  gate: Gate | undefined;

  /** The gate's promise for `label`, or undefined when no gate is set (go on at once). */
  pass(label: string): Promise<void> | undefined {
    return this.gate?.(label);
  }
}
