/**
 * How a handler machine's state and events read in close reasons, error frames and the
 * inspector: `ready`, `ready.idle`, `a.x | b.y` for parallel regions.
 */
import type { StateValue } from "xstate";

/** The state's name: dotted for nested states, regions joined with ` | ` for parallel ones. */
export function stateName(value: StateValue): string {
  if (typeof value === "string") return value;
  const parts = Object.entries(value).map(([key, child]) => {
    if (child === undefined) return key;
    const inner = stateName(child as StateValue);
    return inner === "" ? key : inner.includes(" | ") ? `${key}.(${inner})` : `${key}.${inner}`;
  });
  return parts.join(" | ");
}

/** Event types a client may not send: xstate's own (`xstate.*`: timers, done, errors) and the runtime's `disconnect`. */
export function isReservedEventType(type: string): boolean {
  return type === "disconnect" || type.startsWith("xstate.") || type.startsWith("statewire.");
}
