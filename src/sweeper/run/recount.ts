import { describeError } from '../../errors.js';
import { databaseOf, untilLimit } from '../../server/index.js';
import { FailureStore } from '../failures.js';
import { MAX_RETRY_DELAY_MS } from '../options.js';
import { SweepReason, SweepStatus } from '../status.js';
import { withRetry } from './retry.js';
import type { RunContext } from './context.js';
import type { Outcome } from './tally.js';

/** How long the final recount may take when the budget is not spent. */
export const RECOUNT_TIMEOUT_MS = 30_000;

/**
 * Recounts what is left, whatever the outcome (a locked, aborted or interrupted run too): the
 * stale documents, and those of them that have a failure record. A pass is `complete` only when
 * nothing else is left: a stale document without a record (written at an old version behind the
 * pass, or whose write lost a compare-and-swap race) makes it `partial`, and the next run starts a
 * new pass over it. `signal` bounds it (the budget may be spent, the run's signal aborted).
 */
export async function recount({ collection, definition, target, options, tally, calls, log }: RunContext, outcome: Outcome, signal: AbortSignal): Promise<Outcome> {
  const { dryRun, failuresCollection, batchSize } = options;
  const before = calls.limit.signal;
  calls.limit.signal = signal;
  try {
    const db = databaseOf(collection);
    const failures = new FailureStore(db, failuresCollection, collection.collectionName, definition.name, Infinity, calls.limit);
    const stale = target.staleFilter;
    // Raced against the signal as well: a count waiting on a server that stopped answering does not always see it.
    const retry = <T>(operation: () => Promise<T>): Promise<T> => withRetry(() => untilLimit(operation(), calls.limit), { retries: options.maxRetries, baseDelayMs: options.retryDelayMs, maxDelayMs: MAX_RETRY_DELAY_MS, clock: options.clock, signal });
    const count = await retry(() => collection.countDocuments(stale, calls.limited()));
    tally.staleFailures = await retry(() => failures.staleCount(collection, stale, batchSize));
    tally.remaining = dryRun ? Math.max(0, count - tally.migrated - tally.skipped) : count;
  } catch (error) {
    log?.warn({ error: describeError(error) }, 'could not recount the stale documents: remaining is an estimate');
    if (outcome.status !== SweepStatus.COMPLETE) return outcome;
    return { status: SweepStatus.PARTIAL, reason: SweepReason.ERROR, detail: `the pass ended, but the stale documents could not be recounted (${describeError(error).message}): the next run checks again` };
  } finally {
    calls.limit.signal = before;
  }
  const left = tally.remaining - tally.staleFailures;
  if (outcome.status !== SweepStatus.COMPLETE || dryRun || left <= 0) return outcome;
  log?.info({ left, staleFailures: tally.staleFailures }, 'the pass ended with stale documents left: partial; the next run starts a new pass');
  return {
    status: SweepStatus.PARTIAL,
    reason: SweepReason.STALE_LEFT,
    detail: `the pass ended with ${left} stale document${left === 1 ? '' : 's'} left that it could still migrate (written at an old version behind the pass, or changed while their write was in flight): the next run starts a new pass over them`,
  };
}
