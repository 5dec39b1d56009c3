import type { Collection, Document } from 'mongodb';
import type { Logger } from 'pino';
import { describeError } from '../../errors.js';
import { asPermissionError, TimeBudgetSpentError } from '../../server/index.js';
import type { ResolvedSweepOptions } from '../options.js';
import { PRIVILEGES } from '../privileges.js';
import type { SweepLease } from '../state.js';
import { SweepReason, SweepStatus } from '../status.js';
import { budgetSpent } from './run-target.js';
import type { Outcome } from './tally.js';

/*
 * The outcomes that stop a run, each with the words the report and the log give the operator: what
 * happened, and what the next run (or the operator) does about it.
 */

/** The run's signal aborted (SIGINT, SIGTERM): partial, the next run resumes at the checkpoint. */
export function interrupted(log: Logger | undefined): Outcome {
  log?.info('interrupted: stopping; the next run resumes at the checkpoint');
  return { status: SweepStatus.PARTIAL, reason: SweepReason.SIGNAL, detail: 'interrupted by the signal: the next run resumes at the checkpoint' };
}

/** Before a batch: the outcome that stops the run (its signal aborted, its time budget spent), else `undefined`. */
export function stopBeforeBatch(options: Pick<ResolvedSweepOptions, 'signal' | 'maxDurationMs'>, elapsedMs: number, log: Logger | undefined): Outcome | undefined {
  if (options.signal?.aborted) return interrupted(log);
  if (elapsedMs >= options.maxDurationMs) {
    log?.info({ maxDurationMs: options.maxDurationMs }, 'time budget spent: stopping; the next run resumes at the checkpoint');
    return { status: SweepStatus.PARTIAL, reason: SweepReason.BUDGET, detail: budgetSpent(options.maxDurationMs) };
  }
  return undefined;
}

/**
 * What an error that escaped the run means: an interruption, the budget cutting an operation off
 * (partial), or an abort, a permission error naming the privileges the sweep needs on the
 * collection and on the library's own collections.
 */
export function outcomeOfError(error: unknown, collection: Collection<Document>, options: ResolvedSweepOptions, log: Logger | undefined): Outcome {
  if (options.signal?.aborted) return interrupted(log);
  if (error instanceof TimeBudgetSpentError) {
    log?.warn({ maxDurationMs: options.maxDurationMs }, 'time budget spent during an operation: cut off; the next run resumes at the checkpoint');
    return { status: SweepStatus.PARTIAL, error: describeError(error), reason: SweepReason.BUDGET, detail: budgetSpent(options.maxDurationMs) };
  }
  const { stateCollection, failuresCollection, archive, archiveCollection } = options;
  const molt = [stateCollection, failuresCollection, ...(archive ? [archiveCollection] : [])];
  const described = describeError(asPermissionError(error, { namespace: collection.namespace, required: PRIVILEGES.sweep(collection.dbName, collection.collectionName, molt) }));
  log?.error({ error: described }, 'sweep aborted');
  return { status: SweepStatus.ABORTED, reason: SweepReason.ERROR, error: described };
}

/** Another run holds the collection's lease: this run did nothing. */
export function leaseHeld(collectionName: string, holder: SweepLease | null): Outcome {
  return { status: SweepStatus.LOCKED, reason: SweepReason.LOCK, error: { name: 'LeaseHeld', message: describeHolder(collectionName, holder) } };
}

/** The checkpoint could not be saved: another run (or worker) took the lease (or range) over after it expired. */
export function leaseLost(collectionName: string, what: 'range' | 'lease'): Outcome {
  return { status: SweepStatus.LOCKED, reason: SweepReason.LEASE_LOST, error: { name: 'LeaseLost', message: `another run took over the ${what} of "${collectionName}" after it expired: raise leaseMs above the longest batch` } };
}

/** `maxFailures` documents failed: the run stops, since an upcaster failing this often is likely wrong. */
export function tooManyFailures(failed: number, maxFailures: number): Outcome {
  return { status: SweepStatus.FAILED, reason: SweepReason.MAX_FAILURES, error: { name: 'MaxFailures', message: `${failed} documents failed to migrate (maxFailures is ${maxFailures}): see molt failures, fix the upcaster, then sweep with retryFailed` } };
}

function describeHolder(collectionName: string, holder: SweepLease | null): string {
  if (holder === null) return `another run holds the lease of "${collectionName}"`;
  return `another run (${holder.host}, pid ${holder.pid}) holds the lease of "${collectionName}" until ${holder.expiresAt.toISOString()}; this run did nothing`;
}
