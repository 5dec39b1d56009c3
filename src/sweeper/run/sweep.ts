import type { Collection, Document } from 'mongodb';
import { type MigrationTarget } from '../../migrate/index.js';
import { definitionOf } from '../../schema/definition.js';
import type { AnyVersionedSchema } from '../../schema/index.js';
import type { SchemaDefinition } from '../../schema/types.js';
import { databaseOf, serverCapabilities } from '../../server/index.js';
import { checkCollection } from '../arguments.js';
import type { MigratedBatch } from '../batch.js';
import { CheckpointKeeper } from './checkpoint-keeper.js';
import { FailureStore, idKey } from '../failures.js';
import { resolveSweepOptions, type ResolvedSweepOptions, type SweepOptions } from '../options.js';
import { Pacer } from './pacing.js';
import { retryFailedPhase } from './retry-failed.js';
import { SWEEP_ACTOR } from '../control.js';
import { leaseRisk } from './lease-risk.js';
import { PagesReadAhead } from './read-ahead.js';
import { KeysetPages } from '../stale-pages.js';
import { ServerBatchProcessor } from './server-batch.js';
import type { ServerPlanResult } from '../server-plan.js';
import { readSweepState, SweepState } from '../state.js';
import { SweepReason, SweepStatus, type SweepReport } from '../status.js';
import { Tally, type Outcome } from './tally.js';
import { VersionCounts } from './version-counts.js';
import { SweepTelemetry } from '../../telemetry/index.js';
import { controlledTarget, planFor } from './run-target.js';
import type { RangeWorker } from '../plan/worker.js';
import { sweepWithPlan } from '../plan/run.js';
import type { TokenBucket } from './token-bucket.js';
import type { RunContext } from './context.js';
import { RunCalls } from './run-calls.js';
import { interrupted, leaseHeld, leaseLost, outcomeOfError, stopBeforeBatch, tooManyFailures } from './outcomes.js';
import { recount } from './recount.js';
import { releaseOrLetExpire, RELEASE_TIMEOUT_MS, startHeartbeat } from './lease-upkeep.js';
import { batchProcessors, type Processors } from './processors.js';
import { prepareStaleIndex } from './stale-index-step.js';
import { walkClaimedRanges } from './claimed-ranges.js';

export { checkCollection } from '../arguments.js';
export { definitionOf } from '../../schema/definition.js';

/** What the sweeper takes: a versioned schema from `defineSchema(...).version(...)`. @public */
export type SweepableSchema = AnyVersionedSchema;

/**
 * Migrates the stale documents of a collection to the schema's latest version, in throttled,
 * resumable batches: keyset pages over `_id`, each upcast and validated in memory and written as
 * one unordered bulk of compare-and-swap replaces. One run per collection at a time (a lease);
 * documents that fail are recorded in the failures collection and left untouched.
 *
 * Resolves to a report and never rejects once started; invalid options throw an
 * `InvalidOptionError` before any I/O.
 *
 * ```ts
 * const report = await sweep(db.collection('users'), User, { batchSize: 500, ratePerSecond: 2000, maxDurationMs: 600_000 });
 * if (report.status === SweepStatus.PARTIAL) { ... } // the next run resumes at the checkpoint
 * ```
 * @public
 */
export async function sweep<T extends Document>(collection: Collection<T>, schema: SweepableSchema, options: SweepOptions = {}): Promise<SweepReport> {
  const resolved = resolveSweepOptions(options);
  const definition = definitionOf(schema);
  const raw = checkCollection(collection);
  // The target given (or the latest) is checked before any I/O; a stored pin once it is read.
  planFor(definition, resolved.to ?? definition.latest, resolved);
  const risk = leaseRisk(resolved);
  if (risk !== undefined) resolved.logger?.warn({ collection: raw.collectionName, batchSize: resolved.batchSize, ratePerSecond: resolved.ratePerSecond, leaseMs: resolved.leaseMs }, risk);
  const by = (options as { readonly [SWEEP_ACTOR]?: string })[SWEEP_ACTOR] ?? `sweep({ to: ${String(resolved.to)} })`;
  // The time budget counts from `resolved.startedAt`: reading the control (and a plan's planning) spend it too.
  const controlled = await controlledTarget(raw, definition, resolved, by);
  if ('report' in controlled) return controlled.report;
  const { target, plan, pinned } = controlled;
  if (resolved.workers !== undefined) {
    return sweepWithPlan({ collection: raw, definition, target, options: resolved, pinned }, (range, bucket) => new SweepRun(raw, definition, target, plan, resolved, pinned, { range, bucket }).run());
  }
  return new SweepRun(raw, definition, target, plan, resolved, pinned).run();
}

/**
 * One run of the sweeper. The loop reads pages (`KeysetPages`), hands each to the batch processor,
 * and after each batch has the keeper save the checkpoint and renew the lease, then paces.
 * A plan's worker (`range`) walks the ranges it claims instead of the whole collection, and saves
 * each range's checkpoint; its plan holds the lease and recounts (see `plan/run.ts`).
 */
class SweepRun {
  /** The parts the run's steps share (its server calls and their limits among them). */
  readonly #run: RunContext;
  readonly #serverPlan: ServerPlanResult;
  readonly #pacer: Pacer;
  /** Spans and metrics (OpenTelemetry, when installed): one call per run and per batch. */
  readonly #telemetry: SweepTelemetry | undefined;
  /** Set for a worker of a plan. */
  readonly #range: RangeWorker | undefined;
  #keeper: CheckpointKeeper | undefined;
  /** Renews the lease on a timer while the run holds it, however long a batch takes. */
  #heartbeat: NodeJS.Timeout | undefined;
  /** Set once an acquisition was sent: its reply may be lost while the server took the lease. */
  #leaseAsked: SweepState | undefined;
  #hasFailures = false;

  constructor(collection: Collection<Document>, definition: SchemaDefinition, target: MigrationTarget, plan: ServerPlanResult, options: ResolvedSweepOptions, pinned?: SweepReport['pinned'], worker?: { range: RangeWorker; bucket: TokenBucket }) {
    const log = options.logger?.child({ collection: collection.collectionName, schema: definition.name });
    const tally = new Tally(options, collection.collectionName, target.version);
    tally.pinned = pinned;
    this.#run = { collection, definition, target, options, tally, log, calls: new RunCalls(options, log) };
    this.#range = worker?.range;
    this.#serverPlan = plan;
    this.#pacer = new Pacer(options, log, worker?.bucket);
    this.#telemetry = SweepTelemetry.start({
      db: collection.dbName, collection: collection.collectionName, schema: definition.name, targetVersion: target.version,
      direction: target.direction, mode: options.mode, dryRun: options.dryRun, unversioned: definition.unversioned,
    });
  }

  get #pass(): number {
    return this.#keeper?.pass ?? 0;
  }

  async run(): Promise<SweepReport> {
    const { collection, options, tally, calls, log } = this.#run;
    let report: SweepReport | undefined;
    let leased = false;
    // The budget counts from the call's start (`options.startedAt`).
    const { budget, writeBudget } = calls.startBudget(options.maxDurationMs - tally.elapsedMs);
    try {
      const work = (): Promise<Outcome> => this.#work(() => (leased = true));
      const outcome = await (this.#telemetry?.within(work) ?? work()).catch((error: unknown) => outcomeOfError(error, collection, options, log));
      // A plan's worker leaves the recount to its plan, which recounts once for all its workers.
      report = tally.report(this.#range ? outcome : await recount(this.#run, outcome), this.#pass);
      log?.info({ report }, `sweep ${report.status}`);
      this.#telemetry?.end(report, tally.byVersion?.take() ?? []);
      return report;
    } finally {
      clearInterval(this.#heartbeat);
      budget?.cancel();
      writeBudget?.cancel();
      // The release has a bound of its own: past the budget, or against a server that stopped
      // answering, it gives up after RELEASE_TIMEOUT_MS (the lease then expires on its own).
      if (budget) calls.limit.signal = calls.writeLimit.signal = AbortSignal.timeout(RELEASE_TIMEOUT_MS);
      await this.#letGo(leased, report);
    }
  }

  /**
   * Gives back what the run holds: a worker's range, or the lease. An acquisition that did not
   * return (cut off by the budget or a signal, its reply lost) may still have taken the lease on
   * the server: it is released by this run's owner token, so that the next run is not locked out
   * until it expires. Only a process that dies leaves its lease held, for at most leaseMs.
   */
  async #letGo(leased: boolean, report: SweepReport | undefined): Promise<void> {
    const { tally, calls, log } = this.#run;
    const keeper = this.#keeper;
    const asked = this.#leaseAsked;
    if (this.#range) {
      await this.#range.release();
    } else if (leased && keeper) {
      const final = report ?? tally.report({ status: SweepStatus.ABORTED, reason: SweepReason.ERROR }, this.#pass);
      await releaseOrLetExpire(calls, () => keeper.release(tally, final), log);
    } else if (asked) {
      await releaseOrLetExpire(calls, () => asked.releaseIfHeld(), log);
    }
  }

  async #work(onLeased: () => void): Promise<Outcome> {
    const { collection, definition, target, options, tally, calls, log } = this.#run;
    const { dryRun, retryFailed, stateCollection, failuresCollection, leaseMs, batchSize } = options;
    const db = databaseOf(collection);
    const name = collection.collectionName;
    const capabilities = await calls.retry(() => serverCapabilities(db, calls.limit));
    const state = new SweepState(db, stateCollection, name, definition.name, leaseMs, capabilities.clockOffsetMs, calls.writeLimit);
    const keeper = (this.#keeper = new CheckpointKeeper(state, target));
    const failures = new FailureStore(db, failuresCollection, name, definition.name, capabilities.maxBulkStatements, calls.writeLimit);
    if (this.#range) {
      keeper.pass = this.#range.pass;
      this.#heartbeat = startHeartbeat(this.#range, options, log);
    } else if (dryRun) {
      keeper.startPass(await calls.retry(() => readSweepState(db, stateCollection, name, definition.name, calls.limit)));
    } else {
      this.#leaseAsked = state;
      const lease = await calls.retry(() => state.acquire());
      this.#leaseAsked = undefined;
      if (!lease.acquired) return leaseHeld(name, lease.holder);
      onLeased();
      this.#heartbeat = startHeartbeat(state, options, log);
      keeper.startPass(lease.state);
    }
    const processors = batchProcessors({ ...this.#run, serverPlan: this.#serverPlan, capabilities, failures, pacer: this.#pacer });
    if ('status' in processors) return processors;
    // A plan counted the stale documents and made sure of the index when it started.
    if (this.#range === undefined) {
      tally.remaining = await calls.retry(() => collection.countDocuments(target.staleFilter, calls.limited()));
      await prepareStaleIndex(this.#run, capabilities);
    }
    this.#hasFailures = await calls.retry(() => failures.any());
    log?.info({ pass: keeper.pass, resumeAfter: keeper.lastId, stale: tally.remaining, targetVersion: target.version, dryRun }, 'sweep started');
    if (retryFailed && this.#hasFailures) {
      const stopped = await retryFailedPhase({
        collection, target, failures, batchSize, dryRun, log, limit: calls.limit,
        shouldStop: () => this.#shouldStop(),
        interrupted: () => interrupted(log),
        startBatch: () => this.#startBatch(),
        timed: (operation) => calls.timed(operation),
        retry: (operation) => calls.retry(operation),
        process: (documents, retrying) => processors.client.process(documents, retrying),
        afterBatch: (length) => this.#afterBatch(length),
      });
      if (stopped) return stopped;
      this.#hasFailures = await calls.retry(() => failures.any());
    }
    return this.#passLoop(keeper, failures, processors);
  }

  /** The pass: the whole collection, or, for a plan's worker, each range it claims until none is left. */
  async #passLoop(keeper: CheckpointKeeper, failures: FailureStore, processors: Processors): Promise<Outcome> {
    const walk = (filter: Readonly<Document>): Promise<Outcome | undefined> => this.#walk(filter, keeper, failures, processors);
    if (this.#range === undefined) return (await walk(this.#run.target.staleFilter)) ?? completePass(keeper);
    return walkClaimedRanges(this.#range, keeper, walk, this.#run.calls, this.#run.log);
  }

  /** Walks the stale documents of `filter` from the keeper's `lastId`; an outcome when the run stops before their end. */
  async #walk(filter: Readonly<Document>, keeper: CheckpointKeeper, failures: FailureStore, { client, server }: Processors): Promise<Outcome | undefined> {
    const { collection, target, options: { batchSize }, calls, log } = this.#run;
    const projection = server ? ServerBatchProcessor.projection(target) : undefined;
    const pages = new PagesReadAhead<MigratedBatch>(new KeysetPages(collection, filter, batchSize, { projection, limit: calls.limit, asStored: true }), (operation) => calls.retry(operation));
    try {
      for (;;) {
        const stop = this.#shouldStop();
        if (stop) return stop;
        this.#startBatch();
        const { page, prepared } = await pages.take(keeper.lastId, (operation) => calls.timed(operation));
        const last = page.at(-1);
        if (last === undefined) return undefined;
        if (page.length === batchSize) pages.readNext(last._id);
        let documents = page;
        let elsewhere: unknown[] = [];
        if (this.#hasFailures) {
          const recorded = await calls.retry(() => failures.recorded(page.map((doc) => doc._id), target.version));
          if (recorded.here.size > 0) documents = page.filter((doc) => !recorded.here.has(idKey(doc._id)));
          elsewhere = recorded.elsewhere;
        }
        if (server) {
          if (!(await server.process(documents))) return interrupted(log);
        } else {
          const migrated = (documents === page ? prepared : undefined) ?? Promise.resolve(client.migrate(documents));
          // Upcast ahead only where the whole page is processed as read (no recorded failures to leave out).
          if (!this.#hasFailures) pages.prepareNext(migrated, (next) => client.migrate(next));
          if (!(await client.process(documents, false, migrated))) return interrupted(log);
        }
        if (elsewhere.length > 0 && !this.#run.options.dryRun) await calls.retry(() => failures.clearMigrated(collection, target.staleFilter, elsewhere));
        keeper.lastId = client.takeCut() ?? last._id;
        const after = await this.#afterBatch(page.length);
        if (after) return after;
        if (page.length < batchSize) return undefined;
      }
    } finally {
      await pages.close();
    }
  }

  #startBatch(): void {
    this.#run.calls.batchServerMs = 0;
    // The counts by stored version are for telemetry alone: kept only for a batch it records.
    const tally = this.#run.tally;
    tally.byVersion = this.#telemetry?.startBatch() === true ? (tally.byVersion ?? new VersionCounts()) : undefined;
  }

  #shouldStop(): Outcome | undefined {
    return stopBeforeBatch(this.#run.options, this.#run.tally.elapsedMs, this.#run.log);
  }

  /** After a batch: checkpoint and lease, progress, failure limit, pauses. */
  async #afterBatch(batchLength: number): Promise<Outcome | undefined> {
    const { collection, options, tally, calls, log } = this.#run;
    const keeper = this.#keeper as CheckpointKeeper;
    const range = this.#range;
    const saved = range ? () => range.save(keeper.lastId, tally) : () => keeper.save(tally);
    if (!options.dryRun && !(await calls.retry(saved))) return leaseLost(collection.collectionName, range ? 'range' : 'lease');
    this.#telemetry?.endBatch(tally.byVersion?.take() ?? [], tally.remaining);
    log?.debug({ pass: this.#pass, lastId: keeper.lastId, scanned: tally.scanned, migrated: tally.migrated, skipped: tally.skipped, failed: tally.failed }, 'batch done');
    tally.progress(this.#pass, log);
    if (tally.failed >= options.maxFailures) return tooManyFailures(tally.failed, options.maxFailures);
    await this.#pacer.pause(batchLength, calls.batchServerMs);
    return undefined;
  }
}

/** The whole collection was walked: the pass is complete (the recount may still find it partial). */
function completePass(keeper: CheckpointKeeper): Outcome {
  keeper.completedAt = new Date();
  return { status: SweepStatus.COMPLETE };
}
