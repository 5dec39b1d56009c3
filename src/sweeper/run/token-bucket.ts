import type { SweepClock } from '../clock.js';

/**
 * A token bucket of documents: refills at `ratePerSecond`, holds at most `capacity` tokens (a
 * burst of one second, or one batch when batches are larger). `take(n)` waits only as long as
 * the bucket needs to refill, so the time spent working counts toward the rate, unlike a fixed sleep.
 */
export class TokenBucket {
  #rate: number;
  readonly #capacity: number;
  readonly #clock: SweepClock;
  #tokens: number;
  #last: number;

  /** `initialTokens` (default: full): what may go at once before the rate applies. */
  constructor(ratePerSecond: number, capacity: number, clock: SweepClock, initialTokens = capacity) {
    this.#rate = ratePerSecond;
    this.#capacity = Math.max(capacity, 1);
    this.#clock = clock;
    this.#tokens = Math.min(this.#capacity, Math.max(0, initialTokens));
    this.#last = clock.now();
  }

  /** Documents per second now. */
  get rate(): number {
    return this.#rate;
  }

  /** Changes the rate from now on (a plan's workers share one rate, see `RateShare`). */
  setRate(ratePerSecond: number): void {
    this.#refill();
    this.#rate = ratePerSecond;
  }

  /** Milliseconds `take(n)` would wait now (0 when the tokens are there). */
  delayFor(n: number): number {
    if (!Number.isFinite(this.#rate)) return 0;
    this.#refill();
    const missing = n - this.#tokens;
    return missing <= 0 ? 0 : (missing / this.#rate) * 1000;
  }

  /** Takes `n` tokens, waiting for the bucket to refill first when needed; returns the wait in ms. */
  async take(n: number, signal?: AbortSignal): Promise<number> {
    if (!Number.isFinite(this.#rate)) return 0;
    const wait = this.delayFor(n);
    if (wait > 0) await this.#clock.sleep(wait, signal);
    this.#refill();
    this.#tokens -= n;
    return wait;
  }

  #refill(): void {
    const now = this.#clock.now();
    const elapsed = Math.max(0, now - this.#last);
    this.#last = now;
    this.#tokens = Math.min(this.#capacity, this.#tokens + (elapsed * this.#rate) / 1000);
  }
}
