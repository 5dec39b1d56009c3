import type { Collection, Document } from 'mongodb';
import type { Logger } from 'pino';
import { describeError } from '../../errors.js';
import type { MigrationTarget } from '../../migrate/index.js';
import type { SchemaDefinition } from '../../schema/types.js';
import { databaseOf, limited, untilLimit } from '../../server/index.js';
import { systemClock } from '../clock.js';
import { FailureStore } from '../failures.js';
import { MAX_RETRY_DELAY_MS, type ResolvedSweepOptions } from '../options.js';
import { SweepReason, SweepStatus } from '../status.js';
import { withRetry } from './retry.js';
import type { Outcome, Tally } from './tally.js';

/** How long the final recount may take when the run is not being stopped. */
const RECOUNT_TIMEOUT_MS = 30_000;
/** How long a count may take once the run is being stopped: its budget spent or its signal aborted (the final recount, the count of a run that never started). */
export const RECOUNT_PAST_BUDGET_MS = 1_000;


/** What a recount reads and where it writes its counts: a run's context, or a plan's. */
export interface RecountParts {
  readonly collection: Collection<Document>;
  readonly definition: SchemaDefinition;
  readonly target: MigrationTarget;
  readonly options: ResolvedSweepOptions;
  readonly tally: Tally;
  readonly log?: Logger | undefined;
}

/**
 * Recounts what is left, whatever the outcome (a locked, aborted or interrupted run too): the
 * stale documents, and those of them that have a failure record. A pass is `complete` only when
 * nothing else is left: a stale document without a record (written at an old version behind the
 * pass or outside its planned ranges, or whose write lost a compare-and-swap race) makes it
 * `partial`, and the next run starts a new pass over it. It has a bound of its own: a short
 * allowance when the run is being stopped (its signal aborted or its time budget spent: a server
 * that stopped answering then holds it little longer), else {@link RECOUNT_TIMEOUT_MS}; `within`
 * bounds it too (a plan's limit). When it cannot count, the report's detail says that
 * `remaining` is an estimate. A run without workers and a plan's run (once for all its workers) both
 * end here.
 */
export async function recount({ collection, definition, target, options, tally, log }: RecountParts, outcome: Outcome, within?: AbortSignal): Promise<Outcome> {
  const { dryRun, failuresCollection, batchSize } = options;
  const stopping = options.signal?.aborted === true || (options.clock === systemClock && tally.elapsedMs >= options.maxDurationMs);
  const bound = AbortSignal.timeout(stopping ? RECOUNT_PAST_BUDGET_MS : RECOUNT_TIMEOUT_MS);
  const signal = within ? AbortSignal.any([bound, within]) : bound;
  const limit = { signal };
  try {
    const failures = new FailureStore(databaseOf(collection), failuresCollection, collection.collectionName, definition.name, Infinity, limit);
    const stale = target.staleFilter;
    // Raced against the signal as well: a count waiting on a server that stopped answering does not always see it.
    const retry = <T>(operation: () => Promise<T>): Promise<T> => withRetry(() => untilLimit(operation(), limit), { retries: options.maxRetries, baseDelayMs: options.retryDelayMs, maxDelayMs: MAX_RETRY_DELAY_MS, clock: options.clock, signal });
    const count = await retry(() => collection.countDocuments(stale, limited({}, limit)));
    tally.staleFailures = await retry(() => failures.staleCount(collection, stale, batchSize, target.version));
    tally.remaining = dryRun ? Math.max(0, count - tally.migrated - tally.skipped) : count;
  } catch (error) {
    const { message } = describeError(error);
    log?.warn({ error: describeError(error) }, 'could not recount the stale documents: remaining is an estimate');
    if (outcome.status !== SweepStatus.COMPLETE) return { ...outcome, detail: `${outcome.detail ? `${outcome.detail}; ` : ''}the stale documents could not be recounted (${message}): remaining (${tally.remaining}) is only the run's estimate, not a recount` };
    return { status: SweepStatus.PARTIAL, reason: SweepReason.ERROR, detail: `the pass ended, but the stale documents could not be recounted (${message}): remaining is unknown; the next run checks again` };
  }
  const left = tally.remaining - tally.staleFailures;
  if (outcome.status !== SweepStatus.COMPLETE || dryRun || left <= 0) return outcome;
  log?.info({ left, staleFailures: tally.staleFailures }, 'the pass ended with stale documents left: partial; the next run starts a new pass');
  return {
    status: SweepStatus.PARTIAL,
    reason: SweepReason.STALE_LEFT,
    detail: `the pass ended with ${left} stale document${left === 1 ? '' : 's'} left that it could still migrate (written at an old version behind the pass or outside its planned ranges, or changed while their write was in flight): the next run starts a new pass over them`,
  };
}
