/**
 * What every handler context and guard context shows of its socket (params, query, signal), as
 * getters over the socket rather than copies. Here, below both, so that guards do not import
 * from handlers: handler contexts assign dependencies onto it by name, guard contexts extend it.
 */
import type { AnySocket } from "./socket.js";

export class SocketView {
  constructor(readonly socket: AnySocket) {}
  get params(): object {
    return this.socket.params;
  }
  get query(): object {
    return this.socket.query;
  }
  get signal(): AbortSignal {
    return this.socket.signal;
  }
}
