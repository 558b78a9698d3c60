/**
 * The inbound message rate of one connection, as a token bucket: `perSecond` tokens refill each
 * second up to `burst`; each message takes one.
 */

export interface MessageRate {
  /** Sustained messages per second. */
  readonly perSecond: number;
  /** Messages allowed in a burst. Default: `perSecond`. */
  readonly burst?: number;
}

export class TokenBucket {
  #tokens: number;
  #refilledAt: number;
  readonly #perMs: number;
  readonly #burst: number;

  constructor(rate: MessageRate, now: number) {
    if (!(rate.perSecond > 0)) throw new RangeError("messageRate.perSecond must be > 0");
    this.#burst = rate.burst ?? rate.perSecond;
    if (!(this.#burst >= 1)) throw new RangeError("messageRate.burst must be ≥ 1");
    this.#tokens = this.#burst;
    this.#refilledAt = now;
    this.#perMs = rate.perSecond / 1000;
  }

  /** Take a token; false when the bucket is empty. */
  take(now: number): boolean {
    if (this.#tokens < 1) {
      this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#refilledAt) * this.#perMs);
      this.#refilledAt = now;
      if (this.#tokens < 1) return false;
    }
    this.#tokens--;
    return true;
  }
}
