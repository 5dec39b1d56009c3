import type { Logger } from 'pino';
import type { Collection, Document, Filter } from 'mongodb';
import { InvalidOptionError } from '../errors.js';
import type { SchemaDefinition } from '../schema/types.js';
import { describeError, migrateBatch } from './batch.js';
import { cutAtFailureBudget } from './failure-budget.js';
import { FailureStore, idKey } from './failures.js';
import { MAX_RETRY_DELAY_MS, resolveSweepOptions, type ResolvedSweepOptions, type SweepOptions } from './options.js';
import { withRetry } from './retry.js';
import { BatchWriter } from './batch-writer.js';
import { databaseOf, ensureStaleIndex, idsFilter, staleFilter } from './stale.js';
import { StalePages } from './stale-pages.js';
import { readSweepState, SweepState, type SweepCheckpoint, type SweepLease } from './state.js';
import { SweepStatus, type SweepReport } from './status.js';
import { TokenBucket } from './token-bucket.js';

/** What the sweeper needs of a schema: its definition (a `VersionedSchema` from `defineSchema`). @public */
export interface SweepableSchema {
  readonly definition: SchemaDefinition;
}

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
  return new SweepRun(checkCollection(collection), definition, resolved).run();
}

/** The definition of a schema, checked: a config file may hand over anything. */
export function definitionOf(schema: unknown): SchemaDefinition {
  const definition = (schema as { definition?: Partial<SchemaDefinition> } | null | undefined)?.definition;
  if (
    typeof definition !== 'object' || definition === null || typeof definition.name !== 'string' ||
    typeof definition.versionField !== 'string' || typeof definition.latest !== 'number' || !Array.isArray(definition.entries)
  ) {
    throw new InvalidOptionError('schema', 'must be a versioned schema made with defineSchema(name).version(1, zodSchema)...');
  }
  return definition as SchemaDefinition;
}

/** The raw collection behind a driver collection, checked. */
export function checkCollection<T extends Document>(collection: Collection<T>): Collection<Document> {
  const candidate = collection as unknown as Partial<Collection<Document>> | null;
  if (typeof candidate !== 'object' || candidate === null || typeof candidate.find !== 'function' || typeof candidate.bulkWrite !== 'function') {
    throw new InvalidOptionError('collection', 'must be a mongodb driver Collection (db.collection(name)).');
  }
  return collection as unknown as Collection<Document>;
}

interface Outcome {
  readonly status: SweepStatus;
  readonly error?: { readonly name: string; readonly message: string };
}

/** One run of the sweeper: state that lives as long as the run. */
class SweepRun {
  readonly #collection: Collection<Document>;
  readonly #definition: SchemaDefinition;
  readonly #options: ResolvedSweepOptions;
  readonly #log: Logger | undefined;
  readonly #stale: Filter<Document>;
  readonly #state: SweepState;
  readonly #failures: FailureStore;
  readonly #bucket: TokenBucket;
  readonly #started: number;
  #leased = false;
  #hasFailures = false;
  #scanned = 0;
  #migrated = 0;
  #skipped = 0;
  #failed = 0;
  #remaining = 0;
  /** Set when a batch was cut at the `maxFailures` budget: the checkpoint goes after its last kept document. */
  #cutAfter: { readonly id: unknown } | undefined;
  #pass = 0;
  #lastId: unknown = null;
  #passBase: Pick<SweepCheckpoint, 'scanned' | 'migrated' | 'skipped' | 'failed' | 'startedAt'> = { scanned: 0, migrated: 0, skipped: 0, failed: 0, startedAt: new Date() };
  #completedAt: Date | null = null;
  /** Server milliseconds per document, smoothed: a batch far slower than this backs off. */
  #msPerDocument: number | undefined;
  readonly #writer: BatchWriter;
  #batchServerMs = 0;

  constructor(collection: Collection<Document>, definition: SchemaDefinition, options: ResolvedSweepOptions) {
    this.#collection = collection;
    this.#definition = definition;
    this.#options = options;
    this.#log = options.logger?.child({ collection: collection.collectionName, schema: definition.name });
    this.#stale = staleFilter(definition);
    const db = databaseOf(collection);
    this.#state = new SweepState(db, options.stateCollection, collection.collectionName, definition.name, options.leaseMs);
    this.#failures = new FailureStore(db, options.failuresCollection, collection.collectionName, definition.name);
    this.#bucket = new TokenBucket(options.ratePerSecond, Math.max(options.batchSize, options.ratePerSecond), options.clock);
    this.#writer = new BatchWriter(collection, definition, (operation) => this.#timed(operation), this.#log);
    this.#started = options.clock.now();
  }

  async run(): Promise<SweepReport> {
    let report: SweepReport | undefined;
    try {
      const outcome = await this.#work().catch((error: unknown) => this.#fromError(error));
      if (outcome.status === SweepStatus.COMPLETE) await this.#recount();
      report = this.#report(outcome);
      this.#log?.info({ report }, `sweep ${report.status}`);
      return report;
    } finally {
      if (this.#leased) await this.#release(report ?? this.#report({ status: SweepStatus.ABORTED }));
    }
  }

  async #work(): Promise<Outcome> {
    const { dryRun, retryFailed } = this.#options;
    let checkpoint: SweepCheckpoint | null;
    if (dryRun) {
      const db = databaseOf(this.#collection);
      checkpoint = (await this.#retry(() => readSweepState(db, this.#options.stateCollection, this.#collection.collectionName, this.#definition.name)))?.checkpoint ?? null;
    } else {
      const lease = await this.#retry(() => this.#state.acquire());
      if (!lease.acquired) {
        // The report of a locked run still says how much is stale, not 0.
        this.#remaining = await this.#retry(() => this.#collection.countDocuments(this.#stale));
        return { status: SweepStatus.LOCKED, error: { name: 'LeaseHeld', message: describeHolder(this.#collection.collectionName, lease.holder) } };
      }
      this.#leased = true;
      checkpoint = lease.checkpoint;
    }
    this.#startPass(checkpoint);
    this.#remaining = await this.#retry(() => this.#collection.countDocuments(this.#stale));
    // No stale documents, no index: a collection that does not exist is not created.
    if (!dryRun && this.#remaining > 0) {
      await this.#retry(() => ensureStaleIndex(this.#collection, this.#definition));
      await this.#writer.adaptToServer(databaseOf(this.#collection));
    }
    this.#hasFailures = await this.#retry(() => this.#failures.any());
    this.#log?.info({ pass: this.#pass, resumeAfter: this.#lastId, stale: this.#remaining, targetVersion: this.#definition.latest, dryRun }, 'sweep started');
    if (retryFailed && this.#hasFailures) {
      const stopped = await this.#retryFailedPhase();
      if (stopped) return stopped;
      this.#hasFailures = await this.#retry(() => this.#failures.any());
    }
    return this.#passLoop();
  }

  #startPass(checkpoint: SweepCheckpoint | null): void {
    if (checkpoint && checkpoint.targetVersion === this.#definition.latest && checkpoint.completedAt === null) {
      this.#pass = checkpoint.pass;
      this.#lastId = checkpoint.lastId ?? null;
      this.#passBase = checkpoint;
      return;
    }
    this.#pass = (checkpoint?.pass ?? 0) + 1;
    this.#lastId = null;
    this.#passBase = { scanned: 0, migrated: 0, skipped: 0, failed: 0, startedAt: new Date() };
  }

  async #passLoop(): Promise<Outcome> {
    const { batchSize } = this.#options;
    const pages = new StalePages(this.#collection, this.#stale, batchSize);
    try {
      for (;;) {
        const stop = this.#shouldStop();
        if (stop) return stop;
        this.#batchServerMs = 0;
        const lastId = this.#lastId;
        const page = await this.#timed(() => pages.next(lastId));
        const last = page.at(-1);
        if (last === undefined) return this.#completePass();
        let documents = page;
        if (this.#hasFailures) {
          const known = await this.#retry(() => this.#failures.recorded(page.map((doc) => doc._id)));
          if (known.size > 0) documents = page.filter((doc) => !known.has(idKey(doc._id)));
        }
        if (!(await this.#processBatch(documents, false))) return this.#interrupted();
        this.#lastId = this.#takeCut()?.id ?? last._id;
        const after = await this.#afterBatch(page.length);
        if (after) return after;
        if (page.length < batchSize) return this.#completePass();
      }
    } finally {
      await pages.close();
    }
  }

  /** Drives the recorded failures again: those that now migrate (or are gone, or no longer stale) lose their record. */
  async #retryFailedPhase(): Promise<Outcome | undefined> {
    const { batchSize, dryRun } = this.#options;
    const cursor = this.#failures.cursor(batchSize);
    try {
      for (;;) {
        const stop = this.#shouldStop();
        if (stop) return stop;
        this.#batchServerMs = 0;
        const ids: unknown[] = [];
        while (ids.length < batchSize) {
          const record = await cursor.next();
          if (record === null) break;
          ids.push(record.documentId);
        }
        if (ids.length === 0) return undefined;
        const documents = await this.#timed(() => this.#collection.find(idsFilter(this.#stale, ids)).toArray());
        const found = new Set(documents.map((doc) => idKey(doc._id)));
        const gone = ids.filter((id) => !found.has(idKey(id)));
        if (!dryRun && gone.length > 0) await this.#retry(() => this.#failures.clear(gone));
        this.#log?.info({ retrying: documents.length, cleared: gone.length }, 'retrying recorded failures');
        if (!(await this.#processBatch(documents, true))) return this.#interrupted();
        const after = await this.#afterBatch(documents.length);
        if (after) return after;
      }
    } finally {
      await cursor.close().catch(() => undefined);
    }
  }

  /** Migrates, throttles, writes and records one batch; `false` when aborted before the write (nothing written). */
  async #processBatch(page: Document[], retrying: boolean): Promise<boolean> {
    const { dryRun, captureDocuments, signal } = this.#options;
    const migrated = migrateBatch(this.#definition, page, captureDocuments, this.#options.upcastConcurrency);
    const whole = migrated instanceof Promise ? await migrated : migrated;
    const cut = cutAtFailureBudget(page, whole, this.#options.maxFailures - this.#failed);
    this.#cutAfter = cut === undefined ? undefined : { id: cut.lastId };
    const batch = cut?.batch ?? whole;
    const documents = cut?.documents ?? page;
    await this.#bucket.take(documents.length, signal);
    if (signal?.aborted) return false;
    const { matched, failures: writeFailures } = dryRun || batch.operations.length === 0
      ? { matched: batch.operations.length, failures: [] }
      : await this.#writer.write(batch);
    const failures = [...batch.failures, ...writeFailures];
    if (!dryRun && failures.length > 0) await this.#retry(() => this.#failures.record(failures));
    for (const failure of failures) {
      this.#log?.warn({ _id: failure.documentId, fromVersion: failure.fromVersion, toVersion: failure.toVersion, error: failure.error.name }, 'document failed to migrate: recorded, left unchanged');
    }
    const skipped = batch.operations.length - matched - writeFailures.length + batch.unchangedIds.length;
    if (skipped > 0) this.#log?.debug({ skipped }, 'documents changed during the batch: left as they are');
    if (retrying && !dryRun) {
      const failedKeys = new Set(writeFailures.map((failure) => idKey(failure.documentId)));
      const succeeded = [...batch.ids.filter((id) => !failedKeys.has(idKey(id))), ...batch.unchangedIds];
      await this.#retry(() => this.#failures.clear(succeeded));
    }
    this.#scanned += documents.length;
    this.#migrated += matched;
    this.#skipped += skipped;
    this.#failed += failures.length;
    this.#remaining = Math.max(0, this.#remaining - matched - skipped);
    return true;
  }

  /** Where the last batch was cut at the failure budget, if it was; read once. */
  #takeCut(): { readonly id: unknown } | undefined {
    const cut = this.#cutAfter;
    this.#cutAfter = undefined;
    return cut;
  }

  /** After a batch: checkpoint and lease, progress, failure limit, pauses. */
  async #afterBatch(batchLength: number): Promise<Outcome | undefined> {
    if (!(await this.#saveCheckpoint())) {
      return { status: SweepStatus.LOCKED, error: { name: 'LeaseLost', message: `another run took over the lease of "${this.#collection.collectionName}" after it expired: raise leaseMs above the longest batch` } };
    }
    this.#log?.debug({ pass: this.#pass, lastId: this.#lastId, scanned: this.#scanned, migrated: this.#migrated, skipped: this.#skipped, failed: this.#failed }, 'batch done');
    this.#progress();
    if (this.#failed >= this.#options.maxFailures) {
      return { status: SweepStatus.FAILED, error: { name: 'MaxFailures', message: `${this.#failed} documents failed to migrate (maxFailures is ${this.#options.maxFailures}): see molt failures, fix the upcaster, then sweep with retryFailed` } };
    }
    await this.#pause(batchLength);
    return undefined;
  }

  /** `pauseMs`, plus a backoff as long as the batch itself when the server got much slower than usual. */
  async #pause(batchLength: number): Promise<void> {
    const { pauseMs, clock, signal } = this.#options;
    const serverMs = this.#batchServerMs;
    const perDocument = serverMs / Math.max(1, batchLength);
    let backoff = 0;
    if (this.#msPerDocument === undefined) {
      this.#msPerDocument = perDocument;
    } else {
      if (perDocument > 2 * this.#msPerDocument && serverMs > 20) {
        backoff = Math.min(serverMs, MAX_RETRY_DELAY_MS);
        this.#log?.info({ batchMs: Math.round(serverMs), backoffMs: Math.round(backoff) }, 'the server slowed down: backing off');
      }
      this.#msPerDocument = 0.8 * this.#msPerDocument + 0.2 * perDocument;
    }
    if (pauseMs + backoff > 0) await clock.sleep(pauseMs + backoff, signal);
  }

  #completePass(): Outcome {
    this.#completedAt = new Date();
    return { status: SweepStatus.COMPLETE };
  }

  #shouldStop(): Outcome | undefined {
    if (this.#options.signal?.aborted) return this.#interrupted();
    if (this.#options.clock.now() - this.#started >= this.#options.maxDurationMs) {
      this.#log?.info({ maxDurationMs: this.#options.maxDurationMs }, 'time budget spent: stopping; the next run resumes at the checkpoint');
      return { status: SweepStatus.PARTIAL };
    }
    return undefined;
  }

  #interrupted(): Outcome {
    this.#log?.info('interrupted: stopping; the next run resumes at the checkpoint');
    return { status: SweepStatus.PARTIAL };
  }

  #fromError(error: unknown): Outcome {
    if (this.#options.signal?.aborted) return this.#interrupted();
    const described = describeError(error);
    this.#log?.error({ error: described }, 'sweep aborted');
    return { status: SweepStatus.ABORTED, error: described };
  }

  #checkpoint(): SweepCheckpoint {
    const base = this.#passBase;
    return {
      pass: this.#pass,
      targetVersion: this.#definition.latest,
      lastId: this.#lastId,
      scanned: base.scanned + this.#scanned,
      migrated: base.migrated + this.#migrated,
      skipped: base.skipped + this.#skipped,
      failed: base.failed + this.#failed,
      startedAt: base.startedAt,
      updatedAt: new Date(),
      completedAt: this.#completedAt,
    };
  }

  async #saveCheckpoint(): Promise<boolean> {
    if (this.#options.dryRun) return true;
    const checkpoint = this.#checkpoint();
    return this.#retry(() => this.#state.renew(checkpoint));
  }

  async #release(report: SweepReport): Promise<void> {
    const checkpoint = this.#checkpoint();
    try {
      await this.#retry(() => this.#state.release(checkpoint, report));
    } catch (error) {
      this.#log?.error({ error: describeError(error) }, 'could not release the lease: it expires on its own');
    }
  }

  async #recount(): Promise<void> {
    try {
      const stale = await this.#retry(() => this.#collection.countDocuments(this.#stale));
      this.#remaining = this.#options.dryRun ? Math.max(0, stale - this.#migrated - this.#skipped) : stale;
    } catch (error) {
      this.#log?.warn({ error: describeError(error) }, 'could not recount the stale documents');
    }
  }

  #progress(): void {
    const onProgress = this.#options.onProgress;
    if (!onProgress) return;
    const elapsedMs = this.#options.clock.now() - this.#started;
    const ratePerSecond = elapsedMs > 0 ? (this.#scanned * 1000) / elapsedMs : 0;
    try {
      onProgress({
        collection: this.#collection.collectionName,
        pass: this.#pass,
        scanned: this.#scanned,
        migrated: this.#migrated,
        skipped: this.#skipped,
        failed: this.#failed,
        remaining: this.#remaining,
        ratePerSecond,
        etaMs: ratePerSecond > 0 ? (this.#remaining / ratePerSecond) * 1000 : undefined,
        elapsedMs,
      });
    } catch (error) {
      this.#log?.warn({ error: describeError(error) }, 'onProgress threw; the sweep goes on');
    }
  }

  #report(outcome: Outcome): SweepReport {
    return {
      status: outcome.status,
      scanned: this.#scanned,
      migrated: this.#migrated,
      skipped: this.#skipped,
      failed: this.#failed,
      remaining: this.#remaining,
      elapsedMs: Math.round(this.#options.clock.now() - this.#started),
      collection: this.#collection.collectionName,
      targetVersion: this.#definition.latest,
      pass: this.#pass,
      dryRun: this.#options.dryRun,
      ...(outcome.error ? { error: outcome.error } : {}),
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

  #retry<T>(operation: () => Promise<T>): Promise<T> {
    const { maxRetries, retryDelayMs, clock, signal } = this.#options;
    return withRetry(operation, {
      retries: maxRetries,
      baseDelayMs: retryDelayMs,
      maxDelayMs: MAX_RETRY_DELAY_MS,
      clock,
      signal,
      onRetry: (error, attempt, delayMs) => this.#log?.warn({ error: describeError(error).name, attempt, delayMs }, 'transient error: retrying'),
    });
  }
}

function describeHolder(collectionName: string, holder: SweepLease | null): string {
  if (holder === null) return `another run holds the lease of "${collectionName}"`;
  return `another run (${holder.host}, pid ${holder.pid}) holds the lease of "${collectionName}" until ${holder.expiresAt.toISOString()}; this run did nothing`;
}
