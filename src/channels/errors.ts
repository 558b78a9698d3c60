/** Errors of channels misuse: thrown synchronously at the call site. */

/** A channel that was not declared, while arbitrary channels are off. */
export class UnknownChannelError extends Error {
  override readonly name = "UnknownChannelError";
  constructor(readonly channel: string) {
    super(
      `Unknown channel "${channel}": declare it in createChannels({ channels: [...] }) or allow any with arbitraryChannels: true`,
    );
  }
}

/** Publishing or subscribing after `close()`. */
export class ChannelsClosedError extends Error {
  override readonly name = "ChannelsClosedError";
  constructor(operation: string) {
    super(`Cannot ${operation}: the channels plugin is closed`);
  }
}
