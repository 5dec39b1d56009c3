import type { Logger } from 'pino';
import { describeError } from '../../errors.js';
import { TimeBudgetSpentError } from '../../server/index.js';
import { realTimeLimit } from '../clock.js';
import { MAX_RETRY_DELAY_MS, type ResolvedSweepOptions } from '../options.js';
import { withRetry } from './retry.js';

/** How long past the budget the batch in flight may take to finish its writes. */
const WRITE_GRACE_MS = 1_000;

/** A run's time budget, once started: its signal, and how to stop its timers. */
export interface RunBudget {
  readonly signal: AbortSignal;
  cancel(): void;
}

/**
 * The server calls of one run: each retried on transient errors, cut off by the run's limits, and
 * (when timed) counted as the server time of the batch in flight, which the pacer leaves out of its
 * pauses. The limits are mutable holders shared with every part of the run (the writer, the
 * failure store, the processors): swapping a signal here bounds all their calls at once.
 */
export class RunCalls {
  /** The signal every server call carries: the time budget's, then the lease release's own. */
  readonly limit: { signal: AbortSignal | undefined } = { signal: undefined };
  /**
   * The signal of the writes of the batch in flight (its archive, its compare-and-swaps, its
   * failure records, its checkpoint): the budget plus {@link WRITE_GRACE_MS}, so that a batch whose
   * write is under way when the budget runs out finishes and is counted (a write cut off may still
   * land on the server, uncounted) unless the server stops answering.
   */
  readonly writeLimit: { signal: AbortSignal | undefined } = { signal: undefined };
  /** Server time of the batch in flight, reset when a batch starts. */
  batchServerMs = 0;
  readonly #options: Pick<ResolvedSweepOptions, 'maxRetries' | 'retryDelayMs' | 'clock' | 'signal' | 'maxDurationMs'>;
  readonly #log: Logger | undefined;

  constructor(options: Pick<ResolvedSweepOptions, 'maxRetries' | 'retryDelayMs' | 'clock' | 'signal' | 'maxDurationMs'>, log: Logger | undefined) {
    this.#options = options;
    this.#log = log;
  }

  /**
   * Starts the time budget, `remainingMs` from now: an operation still running when it runs out is
   * cut off (a server that stopped answering would otherwise hold the run past it), and the writes
   * of the batch in flight get {@link WRITE_GRACE_MS} more. Returns `undefined` without a budget.
   */
  startBudget(remainingMs: number): { readonly budget: RunBudget | undefined; readonly writeBudget: RunBudget | undefined } {
    const { clock, maxDurationMs } = this.#options;
    const budget = realTimeLimit(clock, remainingMs, () => new TimeBudgetSpentError(maxDurationMs));
    this.limit.signal = budget?.signal;
    const writeBudget = realTimeLimit(clock, remainingMs + WRITE_GRACE_MS, () => new TimeBudgetSpentError(maxDurationMs));
    this.writeLimit.signal = writeBudget?.signal;
    return { budget, writeBudget };
  }

  /** A server call with retries, its time counted as the batch's server time. */
  async timed<T>(operation: () => Promise<T>): Promise<T> {
    const start = this.#options.clock.now();
    try {
      return await this.retry(operation);
    } finally {
      this.batchServerMs += this.#options.clock.now() - start;
    }
  }

  /** Options that carry the limit's signal to the driver. */
  limited(): { signal?: AbortSignal } {
    const { signal } = this.limit;
    return signal ? { signal } : {};
  }

  /**
   * A server call with retries of transient errors. Once the limit has aborted, no retry starts,
   * and whatever the cut-off call threw (the driver wraps the reason in some errors) is the
   * limit's reason.
   */
  async retry<T>(operation: () => Promise<T>): Promise<T> {
    const { maxRetries, retryDelayMs, clock, signal } = this.#options;
    const limit = this.limit.signal;
    try {
      return await withRetry(operation, {
        retries: maxRetries,
        baseDelayMs: retryDelayMs,
        maxDelayMs: MAX_RETRY_DELAY_MS,
        clock,
        signal: signal && limit ? AbortSignal.any([signal, limit]) : (signal ?? limit),
        onRetry: (error, attempt, delayMs) => this.#log?.warn({ error: describeError(error).name, attempt, delayMs }, 'transient error: retrying'),
      });
    } catch (error) {
      if (limit?.aborted) throw limit.reason;
      throw error;
    }
  }
}
