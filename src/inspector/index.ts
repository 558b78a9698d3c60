/**
 * The inspector: a page served by the app that draws every live connection's machine and its
 * timeline (issue 8). Placeholder: it adds nothing until built.
 */
import type { Plugin } from "../app/plugin.js";

export interface InspectorOptions {
  /** Where the page is served. Default `/_statewire`. */
  readonly path?: string;
  /** When set, the page and its feed refuse requests without it (`?token=` or `Authorization: Bearer`). */
  readonly token?: string;
  /** Show message payloads, not only their sizes. Default false. */
  readonly payloads?: boolean;
  /** Serve it even when `NODE_ENV=production`. Default false. */
  readonly enabled?: boolean;
}

export function createInspector(_options: InspectorOptions): Plugin {
  return { name: "inspector" };
}
