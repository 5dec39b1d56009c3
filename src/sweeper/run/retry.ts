import { isTransientError } from '../../server/index.js';
import type { SweepClock } from '../clock.js';

export { isTransientError };

/** How `withRetry` waits between attempts. */
export interface RetryPolicy {
  /** Attempts after the first. */
  readonly retries: number;
  /** The first delay; each retry doubles it. */
  readonly baseDelayMs: number;
  /** No delay is longer than this. */
  readonly maxDelayMs: number;
  readonly clock: SweepClock;
  /** In [0, 1): the jitter source. Default `Math.random`. */
  readonly random?: () => number;
  readonly signal?: AbortSignal | undefined;
  /** Called before each wait, with the error and the delay chosen. */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/**
 * The delay before retry `attempt` (1-based): exponential, capped, with "full jitter" (a random
 * delay between half and all of the exponential one), so sweepers that failed together do not
 * retry together.
 */
export function backoffDelay(attempt: number, baseDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
  return Math.round(exponential / 2 + random() * (exponential / 2));
}

/**
 * Runs `operation`, retrying transient errors with exponential backoff and jitter, at most
 * `policy.retries` times. Other errors, and the last transient one, are thrown. An aborted
 * signal stops the retries.
 */
export async function withRetry<T>(operation: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (attempt > policy.retries || !isTransientError(error) || policy.signal?.aborted) throw error;
      const delay = backoffDelay(attempt, policy.baseDelayMs, policy.maxDelayMs, policy.random);
      policy.onRetry?.(error, attempt, delay);
      await policy.clock.sleep(delay, policy.signal);
      if (policy.signal?.aborted) throw error;
    }
  }
}
