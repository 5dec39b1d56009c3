import type { Logger } from 'pino';
import type { Collection, Document } from 'mongodb';
import { describeError } from '../../errors.js';
import { type MigrationTarget } from '../../migrate/index.js';
import { definitionOf } from '../../schema/definition.js';
import type { AnyVersionedSchema } from '../../schema/index.js';
import type { SchemaDefinition } from '../../schema/types.js';
import { asPermissionError, databaseOf, serverCapabilities, TimeBudgetSpentError, untilLimit, type ServerCapabilities } from '../../server/index.js';
import { Archive, BulkWriter, STORED_BSON_OPTIONS } from '../../storage/index.js';
import { checkCollection } from '../arguments.js';
import { BatchProcessor } from './batch-processor.js';
import type { MigratedBatch } from '../batch.js';
import { CheckpointKeeper } from './checkpoint-keeper.js';
import { realTimeLimit, systemClock } from '../clock.js';
import { FailureStore, idKey } from '../failures.js';
import { MAX_RETRY_DELAY_MS, resolveSweepOptions, type ResolvedSweepOptions, type SweepOptions } from '../options.js';
import { Pacer } from './pacing.js';
import { withRetry } from './retry.js';
import { retryFailedPhase } from './retry-failed.js';
import { ensureStaleIndex, hasStaleIndex, staleIndexKey } from '../stale.js';
import { SWEEP_ACTOR } from '../control.js';
import { leaseRisk } from './lease-risk.js';
import { PagesReadAhead } from './read-ahead.js';
import { KeysetPages } from '../stale-pages.js';
import { ServerBatchProcessor } from './server-batch.js';
import type { ServerPlan } from '../server-plan.js';
import { readSweepState, SweepState, type SweepLease } from '../state.js';
import { SweepReason, SweepStatus, type SweepReport } from '../status.js';
import { Tally, type Outcome } from './tally.js';
import { PRIVILEGES } from '../privileges.js';
import { SweepTelemetry } from '../../telemetry/index.js';
import { budgetSpent, controlledTarget, planFor, RECOUNT_PAST_BUDGET_MS } from './run-target.js';
import type { RangeWorker } from '../plan/worker.js';
import { sweepWithPlan } from '../plan/run.js';
import type { TokenBucket } from './token-bucket.js';

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
  const started = resolved.clock.now();
  const controlled = await controlledTarget(raw, definition, resolved, by);
  if ('report' in controlled) return controlled.report;
  // The time budget covers reading the control too.
  const spent = resolved.clock.now() - started;
  const run = Number.isFinite(resolved.maxDurationMs) && spent > 0 ? { ...resolved, maxDurationMs: Math.max(1, resolved.maxDurationMs - spent) } : resolved;
  const { target, plan, pinned } = controlled;
  if (run.workers !== undefined) {
    return sweepWithPlan({ collection: raw, definition, target, options: run, pinned }, (range, bucket, options) => new SweepRun(raw, definition, target, plan, options, pinned, { range, bucket }).run());
  }
  return new SweepRun(raw, definition, target, plan, run, pinned).run();
}

/**
 * One run of the sweeper. The loop reads pages (`KeysetPages`), hands each to the batch processor,
 * and after each batch has the keeper save the checkpoint and renew the lease, then paces.
 * A plan's worker (`range`) walks the ranges it claims instead of the whole collection, and saves
 * each range's checkpoint; its plan holds the lease and recounts (see `plan/run.ts`).
 */
class SweepRun {
  readonly #collection: Collection<Document>;
  readonly #definition: SchemaDefinition;
  readonly #target: MigrationTarget;
  readonly #options: ResolvedSweepOptions;
  readonly #log: Logger | undefined;
  readonly #tally: Tally;
  readonly #pacer: Pacer;
  readonly #serverPlan: ServerPlan;
  /** Spans and metrics (OpenTelemetry, when installed): one call per run and per batch. */
  readonly #telemetry: SweepTelemetry | undefined;
  #keeper: CheckpointKeeper | undefined;
  /** Renews the lease on a timer while the run holds it, however long a batch takes. */
  #heartbeat: NodeJS.Timeout | undefined;
  /** Set once an acquisition was sent: its reply may be lost while the server took the lease. */
  #leaseAsked: SweepState | undefined;
  #processor: BatchProcessor | undefined;
  #serverProcessor: ServerBatchProcessor | undefined;
  #hasFailures = false;
  #batchServerMs = 0;
  /** The signal every server call carries: the time budget's, then the lease release's own. */
  readonly #limit: { signal: AbortSignal | undefined } = { signal: undefined };
  /**
   * The signal of the writes of the batch in flight (its archive, its compare-and-swaps, its
   * failure records, its checkpoint): the budget plus {@link WRITE_GRACE_MS}, so that a batch whose
   * write is under way when the budget runs out finishes and is counted (a write cut off may still
   * land on the server, uncounted) unless the server stops answering.
   */
  readonly #writeLimit: { signal: AbortSignal | undefined } = { signal: undefined };
  /** Set for a worker of a plan. */
  readonly #range: RangeWorker | undefined;

  constructor(collection: Collection<Document>, definition: SchemaDefinition, target: MigrationTarget, plan: ServerPlan, options: ResolvedSweepOptions, pinned?: SweepReport['pinned'], worker?: { range: RangeWorker; bucket: TokenBucket }) {
    this.#range = worker?.range;
    this.#collection = collection;
    this.#definition = definition;
    this.#target = target;
    this.#serverPlan = plan;
    this.#options = options;
    this.#log = options.logger?.child({ collection: collection.collectionName, schema: definition.name });
    this.#tally = new Tally(options, collection.collectionName, this.#target.version);
    this.#tally.pinned = pinned;
    this.#pacer = new Pacer(options, this.#log, worker?.bucket);
    this.#telemetry = SweepTelemetry.start({
      db: collection.dbName, collection: collection.collectionName, schema: definition.name, targetVersion: target.version,
      direction: target.direction, mode: options.mode, dryRun: options.dryRun, unversioned: definition.unversioned,
    });
  }

  get #pass(): number {
    return this.#keeper?.pass ?? 0;
  }

  async run(): Promise<SweepReport> {
    let report: SweepReport | undefined;
    let leased = false;
    // An operation still running when the budget runs out is cut off (a server that stopped
    // answering would otherwise hold the run past it); the budget counts from the run's start.
    const budget = realTimeLimit(this.#options.clock, this.#options.maxDurationMs - this.#tally.elapsedMs, () => new TimeBudgetSpentError(this.#options.maxDurationMs));
    this.#limit.signal = budget?.signal;
    const writeBudget = realTimeLimit(this.#options.clock, this.#options.maxDurationMs - this.#tally.elapsedMs + WRITE_GRACE_MS, () => new TimeBudgetSpentError(this.#options.maxDurationMs));
    this.#writeLimit.signal = writeBudget?.signal;
    try {
      const work = (): Promise<Outcome> => this.#work(() => (leased = true));
      const outcome = await (this.#telemetry?.within(work) ?? work()).catch((error: unknown) => this.#fromError(error));
      // Past the budget the recount gets RECOUNT_PAST_BUDGET_MS (a server that stopped answering
      // holds the run little longer); otherwise a bound of its own.
      const spent = budget !== undefined && (budget.signal.aborted || this.#tally.elapsedMs >= this.#options.maxDurationMs);
      // A plan's worker leaves the recount to its plan, which recounts once for all its workers.
      report = this.#tally.report(this.#range ? outcome : await this.#recount(outcome, AbortSignal.timeout(spent ? RECOUNT_PAST_BUDGET_MS : RECOUNT_TIMEOUT_MS)), this.#pass);
      this.#log?.info({ report }, `sweep ${report.status}`);
      this.#telemetry?.end(report, this.#tally.byVersion.take());
      return report;
    } finally {
      clearInterval(this.#heartbeat);
      budget?.cancel();
      writeBudget?.cancel();
      // The release has a bound of its own: past the budget, or against a server that stopped
      // answering, it gives up after RELEASE_TIMEOUT_MS (the lease then expires on its own).
      if (budget) this.#limit.signal = this.#writeLimit.signal = AbortSignal.timeout(RELEASE_TIMEOUT_MS);
      if (this.#range) await this.#range.release();
      else if (leased && this.#keeper) await this.#release(this.#keeper, report ?? this.#tally.report({ status: SweepStatus.ABORTED, reason: SweepReason.ERROR }, this.#pass));
      else if (this.#leaseAsked) await this.#releaseUnconfirmed(this.#leaseAsked);
    }
  }

  async #work(onLeased: () => void): Promise<Outcome> {
    const { dryRun, retryFailed, stateCollection, failuresCollection, leaseMs, batchSize } = this.#options;
    const db = databaseOf(this.#collection);
    const name = this.#collection.collectionName;
    const capabilities: ServerCapabilities = await this.#retry(() => serverCapabilities(db, this.#limit));
    const state = new SweepState(db, stateCollection, name, this.#definition.name, leaseMs, capabilities.clockOffsetMs, this.#writeLimit);
    const keeper = (this.#keeper = new CheckpointKeeper(state, this.#target));
    const failures = new FailureStore(db, failuresCollection, name, this.#definition.name, capabilities.maxBulkStatements, this.#writeLimit);
    if (this.#range) {
      keeper.pass = this.#range.pass;
      this.#startHeartbeat(this.#range);
    } else if (dryRun) {
      keeper.startPass(await this.#retry(() => readSweepState(db, stateCollection, name, this.#definition.name, this.#limit)));
    } else {
      this.#leaseAsked = state;
      const lease = await this.#retry(() => state.acquire());
      this.#leaseAsked = undefined;
      if (!lease.acquired) {
        return { status: SweepStatus.LOCKED, reason: SweepReason.LOCK, error: { name: 'LeaseHeld', message: describeHolder(name, lease.holder) } };
      }
      onLeased();
      this.#startHeartbeat(state);
      keeper.startPass(lease.state);
    }
    const writer = new BulkWriter(this.#collection, { capabilities: () => Promise.resolve(capabilities), log: this.#log, call: (operation) => this.#timed(operation), limit: this.#writeLimit });
    const plan = { definition: this.#definition, target: this.#target, captureDocuments: this.#options.captureDocuments, upcastTimeoutMs: this.#options.upcastTimeoutMs, maxDocumentBytes: capabilities.maxBsonObjectSize, allowLoss: this.#options.allowLoss };
    const archive = this.#options.archive ? new Archive(db, this.#options.archiveCollection, name, this.#options.archiveTtlMs, this.#writeLimit) : undefined;
    const readStale = (ids: readonly unknown[]) => this.#timed(() => this.#collection.find({ $and: [this.#target.staleFilter, { _id: { $in: [...ids] } }] }, { ...STORED_BSON_OPTIONS, ...this.#limited() }).toArray());
    this.#processor = new BatchProcessor(plan, this.#options, { writer, failures, pacer: this.#pacer, tally: this.#tally, log: this.#log, retry: (operation) => this.#retry(operation), archive, readStale });
    const serverMode = this.#useServer(capabilities);
    if (typeof serverMode === 'object') return serverMode;
    if (typeof serverMode === 'string' && this.#options.mode !== 'client') {
      this.#tally.clientReason = serverMode;
      this.#log?.info({ mode: this.#options.mode, reason: serverMode }, 'batches run on the client');
    }
    if (serverMode === true) {
      this.#tally.serverVersions = [...this.#serverPlan.keys()];
      this.#serverProcessor = new ServerBatchProcessor({
        collection: this.#collection, target: this.#target, plan: this.#serverPlan, client: this.#processor,
        options: this.#options, pacer: this.#pacer, tally: this.#tally, timed: (operation) => this.#timed(operation), log: this.#log, limit: this.#limit, writeLimit: this.#writeLimit,
      });
    }
    // A plan counted the stale documents and made sure of the index when it started.
    if (this.#range === undefined) {
      this.#tally.remaining = await this.#retry(() => this.#collection.countDocuments(this.#target.staleFilter, this.#limited()));
      await this.#staleIndex(capabilities);
    }
    this.#hasFailures = await this.#retry(() => failures.any());
    this.#log?.info({ pass: keeper.pass, resumeAfter: keeper.lastId, stale: this.#tally.remaining, targetVersion: this.#target.version, dryRun }, 'sweep started');
    if (retryFailed && this.#hasFailures) {
      const stopped = await retryFailedPhase({
        collection: this.#collection, target: this.#target, failures, batchSize, dryRun, log: this.#log, limit: this.#limit,
        shouldStop: () => this.#shouldStop(),
        interrupted: () => this.#interrupted(),
        startBatch: () => this.#startBatch(),
        timed: (operation) => this.#timed(operation),
        retry: (operation) => this.#retry(operation),
        process: (documents, retrying) => this.#processBatch(documents, retrying),
        afterBatch: (length) => this.#afterBatch(length),
      });
      if (stopped) return stopped;
      this.#hasFailures = await this.#retry(() => failures.any());
    }
    return this.#passLoop(keeper, failures);
  }

  /** The pass: the whole collection, or, for a plan's worker, each range it claims until none is left. */
  async #passLoop(keeper: CheckpointKeeper, failures: FailureStore): Promise<Outcome> {
    const range = this.#range;
    if (range === undefined) return (await this.#walk(this.#target.staleFilter, keeper, failures)) ?? this.#completePass(keeper);
    for (;;) {
      const claimed = await this.#retry(() => range.claim());
      if (claimed === undefined) return { status: SweepStatus.COMPLETE };
      keeper.lastId = claimed.lastId;
      const stopped = await this.#walk(claimed.filter, keeper, failures);
      if (stopped?.reason === SweepReason.LEASE_LOST) {
        // The range was taken over (this worker outlived its claim): the new owner finishes it from
        // its checkpoint; this worker goes on with another range instead of stopping.
        this.#log?.warn({ error: stopped.error }, 'range taken over by another worker: claiming another');
        range.abandon();
        continue;
      }
      if (stopped) return stopped;
      await this.#retry(() => range.finish());
    }
  }

  /** Walks the stale documents of `filter` from the keeper's `lastId`; an outcome when the run stops before their end. */
  async #walk(filter: Readonly<Document>, keeper: CheckpointKeeper, failures: FailureStore): Promise<Outcome | undefined> {
    const { batchSize } = this.#options;
    const projection = this.#serverProcessor ? ServerBatchProcessor.projection(this.#target) : undefined;
    const pages = new PagesReadAhead<MigratedBatch>(new KeysetPages(this.#collection, filter, batchSize, { projection, limit: this.#limit, asStored: true }), (operation) => this.#retry(operation));
    const processor = this.#serverProcessor ? undefined : this.#processor;
    try {
      for (;;) {
        const stop = this.#shouldStop();
        if (stop) return stop;
        this.#startBatch();
        const { page, prepared } = await pages.take(keeper.lastId, (operation) => this.#timed(operation));
        const last = page.at(-1);
        if (last === undefined) return undefined;
        if (page.length === batchSize) pages.readNext(last._id);
        let documents = page;
        if (this.#hasFailures) {
          const known = await this.#retry(() => failures.recorded(page.map((doc) => doc._id)));
          if (known.size > 0) documents = page.filter((doc) => !known.has(idKey(doc._id)));
        }
        if (processor === undefined) {
          if (!(await (this.#serverProcessor as ServerBatchProcessor).process(documents))) return this.#interrupted();
        } else {
          const migrated = (documents === page ? prepared : undefined) ?? Promise.resolve(processor.migrate(documents));
          // Upcast ahead only where the whole page is processed as read (no recorded failures to leave out).
          if (!this.#hasFailures) pages.prepareNext(migrated, (next) => processor.migrate(next));
          if (!(await processor.process(documents, false, migrated))) return this.#interrupted();
        }
        keeper.lastId = this.#processor?.takeCut() ?? last._id;
        const after = await this.#afterBatch(page.length);
        if (after) return after;
        if (page.length < batchSize) return undefined;
      }
    } finally {
      await pages.close();
    }
  }

  /** Whether batches run on the server: `true`, why not (a fallback `auto` allows), or the outcome that stops a `server` run. */
  #useServer(capabilities: ServerCapabilities): true | string | Outcome {
    const { mode, dryRun, archive, allowLoss } = this.#options;
    if (mode === 'client') return 'mode client';
    if (dryRun) return 'a dry run reads every document on the client';
    if (this.#serverPlan.size === 0) return 'no stale version has a server form in this direction';
    // Going down, each document is checked for loss on the client (unless loss is allowed; `server` is refused before).
    if (this.#target.direction === 'down' && !allowLoss) return 'going down without allowLoss, each document is checked for loss on the client';
    // Archiving reads each original: those batches run on the client.
    if (archive && mode === 'auto') return 'archive reads each original on the client';
    if (archive) return { status: SweepStatus.ABORTED, reason: SweepReason.ERROR, error: { name: 'ServerModeUnavailable', message: "mode 'server' cannot archive originals (they would have to cross the wire): use mode 'auto' or 'client' with archive" } };
    if (capabilities.updatePipelines) return true;
    if (mode === 'auto') return `this server (${capabilities.kind} ${capabilities.version}) does not run update pipelines`;
    return { status: SweepStatus.ABORTED, reason: SweepReason.ERROR, error: { name: 'ServerModeUnavailable', message: `mode 'server' needs update pipelines, and this server (${capabilities.kind} ${capabilities.version}) does not run them: use mode 'auto' or 'client'` } };
  }

  /**
   * The index that serves the stale filter: built by the first real run that finds stale documents
   * (no stale documents, no index: a collection that does not exist is not created), and said so,
   * since on a large collection it is the run's costliest step; a dry run says it would build it.
   */
  async #staleIndex(capabilities: ServerCapabilities): Promise<void> {
    const { versionField } = this.#target;
    const key = staleIndexKey(versionField);
    const present = await this.#retry(() => hasStaleIndex(this.#collection, versionField, this.#limit));
    if (present || this.#tally.remaining === 0) {
      this.#tally.staleIndex = present ? 'present' : 'missing';
      return;
    }
    if (this.#options.dryRun) {
      this.#tally.staleIndex = 'missing';
      this.#log?.info({ index: key }, 'a real run would first build the stale-version index (molt sweep --build-index builds it alone)');
      return;
    }
    const started = Date.now();
    this.#log?.info({ index: key, unique: capabilities.uniqueStaleIndex }, 'building the stale-version index: once, before the first batch');
    await this.#retry(() => ensureStaleIndex(this.#collection, versionField, capabilities.uniqueStaleIndex, this.#limit));
    this.#tally.staleIndex = 'built';
    this.#log?.info({ index: key, ms: Date.now() - started }, 'stale-version index built');
  }

  #processBatch(documents: Document[], retrying: boolean): Promise<boolean> {
    return (this.#processor as BatchProcessor).process(documents, retrying);
  }

  #startBatch(): void {
    this.#batchServerMs = 0;
    this.#telemetry?.startBatch();
  }

  /** After a batch: checkpoint and lease, progress, failure limit, pauses. */
  async #afterBatch(batchLength: number): Promise<Outcome | undefined> {
    const keeper = this.#keeper as CheckpointKeeper;
    const range = this.#range;
    const saved = range ? () => range.save(keeper.lastId, this.#tally) : () => keeper.save(this.#tally);
    if (!this.#options.dryRun && !(await this.#retry(saved))) {
      return { status: SweepStatus.LOCKED, reason: SweepReason.LEASE_LOST, error: { name: 'LeaseLost', message: `another run took over the ${range ? 'range' : 'lease'} of "${this.#collection.collectionName}" after it expired: raise leaseMs above the longest batch` } };
    }
    const tally = this.#tally;
    this.#telemetry?.endBatch(tally.byVersion.take(), tally.remaining);
    this.#log?.debug({ pass: this.#pass, lastId: this.#keeper?.lastId, scanned: tally.scanned, migrated: tally.migrated, skipped: tally.skipped, failed: tally.failed }, 'batch done');
    tally.progress(this.#pass, this.#log);
    if (tally.failed >= this.#options.maxFailures) {
      return { status: SweepStatus.FAILED, reason: SweepReason.MAX_FAILURES, error: { name: 'MaxFailures', message: `${tally.failed} documents failed to migrate (maxFailures is ${this.#options.maxFailures}): see molt failures, fix the upcaster, then sweep with retryFailed` } };
    }
    await this.#pacer.pause(batchLength, this.#batchServerMs);
    return undefined;
  }

  #completePass(keeper: CheckpointKeeper): Outcome {
    keeper.completedAt = new Date();
    return { status: SweepStatus.COMPLETE };
  }

  #shouldStop(): Outcome | undefined {
    if (this.#options.signal?.aborted) return this.#interrupted();
    if (this.#tally.elapsedMs >= this.#options.maxDurationMs) {
      this.#log?.info({ maxDurationMs: this.#options.maxDurationMs }, 'time budget spent: stopping; the next run resumes at the checkpoint');
      return { status: SweepStatus.PARTIAL, reason: SweepReason.BUDGET, detail: budgetSpent(this.#options.maxDurationMs) };
    }
    return undefined;
  }

  #interrupted(): Outcome {
    this.#log?.info('interrupted: stopping; the next run resumes at the checkpoint');
    return { status: SweepStatus.PARTIAL, reason: SweepReason.SIGNAL, detail: 'interrupted by the signal: the next run resumes at the checkpoint' };
  }

  #fromError(error: unknown): Outcome {
    if (this.#options.signal?.aborted) return this.#interrupted();
    if (error instanceof TimeBudgetSpentError) {
      this.#log?.warn({ maxDurationMs: this.#options.maxDurationMs }, 'time budget spent during an operation: cut off; the next run resumes at the checkpoint');
      return { status: SweepStatus.PARTIAL, error: describeError(error), reason: SweepReason.BUDGET, detail: budgetSpent(this.#options.maxDurationMs) };
    }
    const { stateCollection, failuresCollection, archive, archiveCollection } = this.#options;
    const molt = [stateCollection, failuresCollection, ...(archive ? [archiveCollection] : [])];
    const collection = this.#collection;
    const described = describeError(asPermissionError(error, { namespace: collection.namespace, required: PRIVILEGES.sweep(collection.dbName, collection.collectionName, molt) }));
    this.#log?.error({ error: described }, 'sweep aborted');
    return { status: SweepStatus.ABORTED, reason: SweepReason.ERROR, error: described };
  }

  async #release(keeper: CheckpointKeeper, report: SweepReport): Promise<void> {
    try {
      await this.#retry(() => keeper.release(this.#tally, report));
    } catch (error) {
      this.#log?.error({ error: describeError(error) }, 'could not release the lease: it expires on its own');
    }
  }

  /**
   * Extends the lease every third of `leaseMs` while the run holds it: a batch slowed by a low
   * rate (500 documents at 5 a second take 100 s) must not let a 60 s lease expire under it, and
   * a second run take over. The save after each batch still renews it too, and still finds out
   * when it was lost. A heartbeat that fails is logged; the next one tries again.
   */
  #startHeartbeat(state: Pick<SweepState, 'heartbeat'>): void {
    if (this.#options.clock !== systemClock) return;
    const everyMs = Math.max(50, Math.floor(this.#options.leaseMs / 3));
    this.#heartbeat = setInterval(() => {
      state.heartbeat().then(
        (held) => {
          if (!held) this.#log?.warn('lease heartbeat: another run holds the lease');
        },
        (error: unknown) => this.#log?.warn({ error: describeError(error).name }, 'lease heartbeat failed: retrying at the next beat'),
      );
    }, everyMs);
    this.#heartbeat.unref();
  }

  /**
   * An acquisition that did not return (cut off by the budget or a signal, its reply lost) may
   * still have taken the lease on the server: release it by this run's owner token, so that the
   * next run is not locked out until it expires. Only a process that dies leaves its lease held,
   * for at most leaseMs.
   */
  async #releaseUnconfirmed(state: SweepState): Promise<void> {
    try {
      await this.#retry(() => state.releaseIfHeld());
    } catch (error) {
      this.#log?.error({ error: describeError(error) }, 'could not release the lease: it expires on its own');
    }
  }

  /**
   * Recounts what is left, whatever the outcome (a locked, aborted or interrupted run too): the
   * stale documents, and those of them that have a failure record. A pass is `complete` only when
   * nothing else is left: a stale document without a record (written at an old version behind the
   * pass, or whose write lost a compare-and-swap race) makes it `partial`, and the next run starts a
   * new pass over it. `signal` bounds it (the budget may be spent, the run's signal aborted).
   */
  async #recount(outcome: Outcome, signal: AbortSignal): Promise<Outcome> {
    const tally = this.#tally;
    const { dryRun, failuresCollection, batchSize } = this.#options;
    const before = this.#limit.signal;
    this.#limit.signal = signal;
    try {
      const db = databaseOf(this.#collection);
      const failures = new FailureStore(db, failuresCollection, this.#collection.collectionName, this.#definition.name, Infinity, this.#limit);
      const stale = this.#target.staleFilter;
      // Raced against the signal as well: a count waiting on a server that stopped answering does not always see it.
      const retry = <T>(operation: () => Promise<T>): Promise<T> => withRetry(() => untilLimit(operation(), this.#limit), { retries: this.#options.maxRetries, baseDelayMs: this.#options.retryDelayMs, maxDelayMs: MAX_RETRY_DELAY_MS, clock: this.#options.clock, signal });
      const count = await retry(() => this.#collection.countDocuments(stale, this.#limited()));
      tally.staleFailures = await retry(() => failures.staleCount(this.#collection, stale, batchSize));
      tally.remaining = dryRun ? Math.max(0, count - tally.migrated - tally.skipped) : count;
    } catch (error) {
      this.#log?.warn({ error: describeError(error) }, 'could not recount the stale documents: remaining is an estimate');
      if (outcome.status !== SweepStatus.COMPLETE) return outcome;
      return { status: SweepStatus.PARTIAL, reason: SweepReason.ERROR, detail: `the pass ended, but the stale documents could not be recounted (${describeError(error).message}): the next run checks again` };
    } finally {
      this.#limit.signal = before;
    }
    const left = tally.remaining - tally.staleFailures;
    if (outcome.status !== SweepStatus.COMPLETE || dryRun || left <= 0) return outcome;
    this.#log?.info({ left, staleFailures: tally.staleFailures }, 'the pass ended with stale documents left: partial; the next run starts a new pass');
    return {
      status: SweepStatus.PARTIAL,
      reason: SweepReason.STALE_LEFT,
      detail: `the pass ended with ${left} stale document${left === 1 ? '' : 's'} left that it could still migrate (written at an old version behind the pass, or changed while their write was in flight): the next run starts a new pass over them`,
    };
  }

  /** A server call with retries, its time counted as the batch's server time. */
  async #timed<T>(operation: () => Promise<T>): Promise<T> {
    const start = this.#options.clock.now();
    try {
      return await this.#retry(operation);
    } finally {
      this.#batchServerMs += this.#options.clock.now() - start;
    }
  }

  /** Options that carry the limit's signal to the driver. */
  #limited(): { signal?: AbortSignal } {
    const { signal } = this.#limit;
    return signal ? { signal } : {};
  }

  /**
   * A server call with retries of transient errors. Once the limit has aborted, no retry starts,
   * and whatever the cut-off call threw (the driver wraps the reason in some errors) is the
   * limit's reason.
   */
  async #retry<T>(operation: () => Promise<T>): Promise<T> {
    const { maxRetries, retryDelayMs, clock, signal } = this.#options;
    const limit = this.#limit.signal;
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

/** How long the lease release may take once the budget is spent (or the server stopped answering). */
const RELEASE_TIMEOUT_MS = 2_000;
/** How long past the budget the batch in flight may take to finish its writes. */
const WRITE_GRACE_MS = 1_000;
/** How long the final recount may take when the budget is not spent. */
const RECOUNT_TIMEOUT_MS = 30_000;



function describeHolder(collectionName: string, holder: SweepLease | null): string {
  if (holder === null) return `another run holds the lease of "${collectionName}"`;
  return `another run (${holder.host}, pid ${holder.pid}) holds the lease of "${collectionName}" until ${holder.expiresAt.toISOString()}; this run did nothing`;
}
