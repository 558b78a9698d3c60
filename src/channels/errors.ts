/** Errors of channels misuse: thrown synchronously at the call site. */

/** A channel that was not declared, while arbitrary channels are off. */
export class UnknownChannelError extends Error {
  override readonly name = "UnknownChannelError";
  /** Stable across releases: branch on it rather than on the message. */
  readonly errorCode = "SW_ERR_UNKNOWN_CHANNEL" as const;
  constructor(readonly channel: string) {
    super(
      `Unknown channel "${channel}": declare it in createChannels({ channels: [...] }) or allow any with arbitraryChannels: true`,
    );
  }
}

/** Publishing or subscribing after `close()`. */
export class ChannelsClosedError extends Error {
  override readonly name = "ChannelsClosedError";
  /** Stable across releases: branch on it rather than on the message. */
  readonly errorCode = "SW_ERR_CHANNELS_CLOSED" as const;
  constructor(operation: string) {
    super(`Cannot ${operation}: the channels plugin is closed`);
  }
}

/**
 * The backend could not be reached in time (Redis down or unreachable): a publish or history
 * read rejects with this after the backend's `publishTimeoutMs`, rather than waiting forever.
 */
export class BackendUnavailableError extends Error {
  override readonly name = "BackendUnavailableError";
  /** Stable across releases: branch on it rather than on the message. */
  readonly errorCode = "SW_ERR_BACKEND_UNAVAILABLE" as const;
  constructor(
    /** The backend's kind, e.g. `"redis-streams"`. */
    readonly backend: string,
    /** What could not be done: `"publish"`, `"read history"`. */
    readonly operation: string,
    readonly timeoutMs: number,
    /** The last connection error, when there was one. */
    readonly reason: string | undefined,
  ) {
    super(`Cannot ${operation}: the ${backend} channels backend did not answer within ${timeoutMs} ms${reason === undefined ? "" : ` (${reason})`}`);
  }
}
