import type { Collection, Document } from 'mongodb';
import { describeError, InvalidOptionError } from '../../errors.js';
import { migrationTarget, missingDowncaster, type MigrationTarget } from '../../migrate/index.js';
import type { SchemaDefinition } from '../../schema/types.js';
import { asPermissionError, databaseOf, limited, TimeBudgetSpentError, untilLimit } from '../../server/index.js';
import { realTimeLimit } from '../clock.js';
import { MAX_RETRY_DELAY_MS, type ResolvedSweepOptions } from '../options.js';
import { withRetry } from './retry.js';
import { decide, describePause, describePin, readControl, writeControl } from '../control.js';
import { serverPlan, type ServerPlanResult } from '../server-plan.js';
import { SweepReason, SweepStatus, type SweepReport } from '../status.js';
import { Tally, type Outcome } from './tally.js';
import { RECOUNT_PAST_BUDGET_MS } from './recount.js';
import { PRIVILEGES } from '../privileges.js';

/** The checked target of a sweep to `to`, and its server plan (with why the other versions run on the client). */
export function planFor(definition: SchemaDefinition, to: number, resolved: Pick<ResolvedSweepOptions, 'mode' | 'allowLoss' | 'dryRun'>): { target: MigrationTarget; plan: ServerPlanResult } {
  const target = sweepTarget(definition, to);
  const plan = serverPlan(definition, target);
  if (resolved.mode === 'server' && target.direction === 'down' && resolved.allowLoss !== true && !resolved.dryRun) {
    throw new InvalidOptionError(
      'mode',
      `'server' cannot sweep down to version ${target.version} without allowLoss: each document is checked on the client for a value its downcast would drop. ` +
        "Pass allowLoss: true (--allow-loss) to run on the server, or use mode 'auto' or 'client'. Nothing was read or written.",
    );
  }
  if (resolved.mode === 'server' && plan.clientOnly.size > 0) {
    const reasons = [...plan.clientOnly].map(([version, why]) => `version ${version ?? `${definition.unversioned} (no version field)`}: ${why}`);
    throw new InvalidOptionError('mode', `'server' needs every stale version to run on the server, and ${reasons.join('; ')}. Use mode 'auto' (server where possible) or 'client'.`);
  }
  return { target, plan };
}

/**
 * Reads the collection's stored control (see `control.ts`) and decides the run's target: a paused
 * collection gets a `partial` report (reason `paused`) and nothing else; an explicit `to` sets or
 * clears the pin (not in a dry run, which writes nothing); without `to` a pin is followed.
 */
export async function controlledTarget(
  collection: Collection<Document>,
  definition: SchemaDefinition,
  options: ResolvedSweepOptions,
  by: string,
): Promise<{ target: MigrationTarget; plan: ServerPlanResult; pinned: SweepReport['pinned'] } | { report: SweepReport }> {
  const limit = realTimeLimit(options.clock, options.maxDurationMs, () => new TimeBudgetSpentError(options.maxDurationMs));
  try {
    return await controlledWithin(collection, definition, options, by, limit?.signal);
  } finally {
    limit?.cancel();
  }
}

async function controlledWithin(
  collection: Collection<Document>,
  definition: SchemaDefinition,
  options: ResolvedSweepOptions,
  by: string,
  budget: AbortSignal | undefined,
): Promise<{ target: MigrationTarget; plan: ServerPlanResult; pinned: SweepReport['pinned'] } | { report: SweepReport }> {
  const db = databaseOf(collection);
  const name = collection.collectionName;
  const signal = budget && options.signal ? AbortSignal.any([budget, options.signal]) : (budget ?? options.signal);
  const limit = { signal };
  const retry = <R>(operation: () => Promise<R>): Promise<R> => withRetry(operation, { retries: options.maxRetries, baseDelayMs: options.retryDelayMs, maxDelayMs: MAX_RETRY_DELAY_MS, clock: options.clock, signal });
  // A run that never started still says how many stale documents are left: counted on its own
  // short allowance (the budget may be spent, the signal aborted), else said to be unknown.
  const notRun = async (version: number, outcome: Outcome): Promise<SweepReport> => {
    const tally = new Tally(options, name, version);
    const stale = migrationTarget(definition, version, version < definition.latest ? 'down' : 'up').staleFilter;
    const allowance = { signal: AbortSignal.timeout(RECOUNT_PAST_BUDGET_MS) };
    let counted = outcome;
    try {
      tally.remaining = await untilLimit(collection.countDocuments(stale, limited({}, allowance)), allowance);
    } catch (error) {
      counted = { ...outcome, detail: `${outcome.detail ? `${outcome.detail}; ` : ''}the stale documents could not be counted (${describeError(error).message}): remaining is unknown, not 0` };
    }
    const report = tally.report(counted, 0);
    options.logger?.info({ collection: name, report }, `sweep ${report.status}`);
    return report;
  };
  try {
    const control = await retry(() => readControl(db, options.stateCollection, name, limit));
    const decision = decide(control, options.to, definition.latest, by);
    if (!decision.run) {
      const detail = describePause(decision.paused, name);
      options.logger?.info({ collection: name, paused: decision.paused }, `the collection is paused: nothing swept (${detail})`);
      return { report: await notRun(options.to ?? control.pin?.version ?? definition.latest, { status: SweepStatus.PARTIAL, reason: SweepReason.PAUSED, detail }) };
    }
    let planned: { target: MigrationTarget; plan: ServerPlanResult };
    try {
      planned = planFor(definition, decision.to, options);
    } catch (error) {
      // Only a stored pin gets here (the target given, or the latest, was checked before any I/O): the schema changed since.
      return { report: await notRun(decision.to, { status: SweepStatus.ABORTED, reason: SweepReason.ERROR, error: { name: describeError(error).name, message: `the stored pin at v${decision.to} (${decision.pinned ? describePin(decision.pinned, name) : ''}) cannot be swept to: ${describeError(error).message}` } }) };
    }
    if (decision.store && !options.dryRun) {
      await retry(() => writeControl(db, options.stateCollection, name, decision.store ?? {}, limit));
      options.logger?.info({ collection: name, pin: decision.store.pin ?? null }, decision.store.pin ? `pinned at v${decision.store.pin.version}: sweeps without a target now go to v${decision.store.pin.version}` : 'unpinned: sweeps go to the latest version again');
    }
    if (decision.pinned) options.logger?.info({ collection: name, pinned: decision.pinned }, describePin(decision.pinned, name));
    return { ...planned, pinned: decision.pinned };
  } catch (error) {
    if (options.signal?.aborted) return { report: await notRun(options.to ?? definition.latest, { status: SweepStatus.PARTIAL, reason: SweepReason.SIGNAL, detail: 'interrupted by the signal before it started' }) };
    if (budget?.aborted) return { report: await notRun(options.to ?? definition.latest, { status: SweepStatus.PARTIAL, reason: SweepReason.BUDGET, detail: budgetSpent(options.maxDurationMs), error: describeError(new TimeBudgetSpentError(options.maxDurationMs)) }) };
    const { stateCollection, failuresCollection } = options;
    const described = describeError(asPermissionError(error, { namespace: collection.namespace, required: PRIVILEGES.sweep(collection.dbName, name, [stateCollection, failuresCollection]) }));
    return { report: await notRun(options.to ?? definition.latest, { status: SweepStatus.ABORTED, reason: SweepReason.ERROR, error: described }) };
  }
}

/** The target of a sweep: the latest version, or `to` (below it: a reverse sweep, whose downcasters must all exist). */
function sweepTarget(definition: SchemaDefinition, to: number | undefined): MigrationTarget {
  const version = to ?? definition.latest;
  if (version < definition.first || version > definition.latest) {
    throw new InvalidOptionError('to', `must be a version of schema "${definition.name}" (${definition.first}..${definition.latest}), got ${version}.`);
  }
  const above = missingDowncaster(definition, version);
  if (above !== undefined) {
    throw new InvalidOptionError(
      'to',
      `a reverse sweep to version ${version} needs a downcaster for every step above it, and schema "${definition.name}" has none from version ${above} to ${above - 1}: ` +
        `give .version(${above}, schema, { up, down }) (or invertible declarative steps). Nothing was read or written.`,
    );
  }
  return migrationTarget(definition, version, version < definition.latest ? 'down' : 'up');
}

/** Why a run stopped at its time budget, for the report. */
export function budgetSpent(maxDurationMs: number): string {
  return `the time budget (maxDurationMs ${maxDurationMs}) is spent: the next run resumes at the checkpoint`;
}
