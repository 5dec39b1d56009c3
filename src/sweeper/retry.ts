import type { SweepClock } from './clock.js';

/** Server error codes that say "try again later": the server is busy, stepping down, or shutting down. */
const TRANSIENT_CODES: ReadonlySet<number> = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  50, // MaxTimeMSExpired
  89, // NetworkTimeout
  91, // ShutdownInProgress
  112, // WriteConflict
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
  16500, // request rate too large (Cosmos DB's MongoDB API)
]);

const TRANSIENT_NAMES: ReadonlySet<string> = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoPoolClearedError',
  'MongoWaitQueueTimeoutError',
]);

const TRANSIENT_LABELS = ['RetryableWriteError', 'TransientTransactionError', 'ResetPool'] as const;

/**
 * Whether an error from the driver is worth retrying after a pause: network errors, server
 * selection timeouts, and server errors that say the server is busy or changing primaries.
 * Duck-typed, so a driver copy other than ours is recognised too.
 */
export function isTransientError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as { name?: unknown; code?: unknown; hasErrorLabel?: unknown };
  if (typeof candidate.name === 'string' && TRANSIENT_NAMES.has(candidate.name)) return true;
  if (typeof candidate.code === 'number' && TRANSIENT_CODES.has(candidate.code)) return true;
  if (typeof candidate.hasErrorLabel === 'function') {
    const hasLabel = candidate.hasErrorLabel as (label: string) => boolean;
    return TRANSIENT_LABELS.some((label) => hasLabel.call(error, label));
  }
  return false;
}

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
