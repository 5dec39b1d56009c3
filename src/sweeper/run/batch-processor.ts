import type { Document } from 'mongodb';
import type { Logger } from 'pino';
import { DocumentTooLargeError, UnsupportedFieldNameError } from '../../errors.js';
import type { Archive, BulkWriter, WriteFailure } from '../../storage/index.js';
import { migrateBatch, toFailure, type BatchPlan, type MigratedBatch } from '../batch.js';
import { declaredKeys, undeclaredKeys } from '../../schema/zod/index.js';
import { cutAtFailureBudget } from './failure-budget.js';
import { idKey, type FailureStore } from '../failures.js';
import type { ResolvedSweepOptions } from '../options.js';
import type { Pacer } from './pacing.js';
import type { Tally } from './tally.js';
import { countClientBatch } from './version-counts.js';

/**
 * Migrates, throttles, writes and records one batch of stale documents: the part of a sweep that
 * differs with the target and the mode, behind one `process` call that the run loop drives.
 */
export class BatchProcessor {
  readonly #plan: BatchPlan;
  readonly #options: ResolvedSweepOptions;
  readonly #writer: BulkWriter;
  readonly #failures: FailureStore;
  readonly #pacer: Pacer;
  readonly #tally: Tally;
  readonly #log: Logger | undefined;
  readonly #retry: <T>(operation: () => Promise<T>) => Promise<T>;
  readonly #archive: Archive | undefined;
  /** Set when a batch was cut at the `maxFailures` budget: the checkpoint goes after its last kept document. */
  #cutAfter: { readonly id: unknown } | undefined;
  readonly #declared: ReadonlySet<string> | undefined;
  readonly #readStale: (ids: readonly unknown[]) => Promise<Document[]>;

  constructor(
    plan: BatchPlan,
    options: ResolvedSweepOptions,
    parts: {
      writer: BulkWriter; failures: FailureStore; pacer: Pacer; tally: Tally; log: Logger | undefined; retry: <T>(operation: () => Promise<T>) => Promise<T>; archive?: Archive | undefined;
      /** The documents among `ids` still stale, read afresh as stored, with retries (for writes that lost a race). */
      readStale: (ids: readonly unknown[]) => Promise<Document[]>;
    },
  ) {
    this.#plan = plan;
    this.#options = options;
    this.#writer = parts.writer;
    this.#failures = parts.failures;
    this.#pacer = parts.pacer;
    this.#tally = parts.tally;
    this.#log = parts.log;
    this.#retry = parts.retry;
    this.#archive = parts.archive;
    this.#readStale = parts.readStale;
    const targetSchema = plan.definition.entries[plan.target.version - plan.definition.first]?.schema;
    this.#declared = targetSchema === undefined ? undefined : declaredKeys(targetSchema);
  }

  /** Keys a step's output has that the target schema does not declare: stored as returned, so reported. */
  #noteUndeclaredKeys(values: readonly Document[]): void {
    const declared = this.#declared;
    if (declared === undefined || this.#tally.undeclaredKeys.size >= 20) return;
    for (const value of values) {
      for (const key of undeclaredKeys(declared, value, this.#plan.target.versionField)) this.#tally.undeclaredKeys.add(key);
    }
  }

  /** The `_id` the checkpoint goes after when the last batch was cut at the failure budget (then cleared). */
  takeCut(): unknown {
    const cut = this.#cutAfter;
    this.#cutAfter = undefined;
    return cut?.id;
  }

  /** Upcasts and validates a page in memory (no I/O): what `process` writes. The page's documents are consumed. */
  migrate(page: Document[]): MigratedBatch | Promise<MigratedBatch> {
    return migrateBatch(this.#plan, page, this.#options.upcastConcurrency);
  }

  /**
   * Processes one batch (`premigrated`: the page already upcast by `migrate`); `false` when the signal aborted while it waited for its tokens: then
   * nothing of it was written and it is not counted, and the checkpoint stays before it.
   *
   * A write that lost its compare-and-swap (the document changed after it was read) is driven
   * again within the batch: the documents still stale are read afresh, migrated and written, up to
   * {@link LOST_RACE_ATTEMPTS} more times, so a sweep over a busy collection still finishes its
   * pass. Only what loses every attempt (or was migrated by another writer meanwhile) is skipped.
   */
  async process(page: Document[], retrying: boolean, premigrated?: Promise<MigratedBatch>): Promise<boolean> {
    const { dryRun, signal } = this.#options;
    const migrated = premigrated ?? this.migrate(page);
    const whole = migrated instanceof Promise ? await migrated : migrated;
    // A batch with more failures than the budget has left is cut after the one that spends it.
    const cut = cutAtFailureBudget(page, whole, this.#options.maxFailures - this.#tally.failed);
    this.#cutAfter = cut === undefined ? undefined : { id: cut.lastId };
    const documents = cut?.documents ?? page;
    await this.#pacer.take(documents.length);
    if (signal?.aborted) return false;
    const tally = this.#tally;
    const lossy = new Set<string>();
    let batch = cut?.batch ?? whole;
    let skipped = 0;
    for (let attempt = 0; ; attempt++) {
      const stored = await this.#store(batch, retrying);
      for (const id of batch.lossyIds) lossy.add(idKey(id)); // reverse sweeps: see batch.ts, checkLoss
      skipped += batch.unchangedIds.length;
      if (stored.lost === 0) break;
      if (dryRun || attempt === LOST_RACE_ATTEMPTS || signal?.aborted) {
        skipped += stored.lost;
        tally.byVersion?.add(undefined, 'skipped', stored.lost);
        break;
      }
      const again = await this.#readStale(stored.candidates);
      // The others were migrated by another writer meanwhile: nothing left to do for them.
      skipped += Math.max(0, stored.lost - again.length);
      tally.byVersion?.add(undefined, 'skipped', Math.max(0, stored.lost - again.length));
      if (again.length === 0) break;
      this.#log?.debug({ documents: again.length, attempt: attempt + 1 }, 'documents changed during the batch: read again and migrated again');
      await this.#pacer.take(again.length);
      batch = await this.migrate(again);
    }
    if (skipped > 0) this.#log?.debug({ skipped }, 'documents changed during the batch: left as they are');
    tally.scanned += documents.length;
    tally.skipped += skipped;
    tally.lossy += lossy.size;
    tally.remaining = Math.max(0, tally.remaining - skipped);
    return true;
  }

  /**
   * Archives, writes and records one migrated batch, and counts what was stored and what failed;
   * returns how many writes lost their compare-and-swap (neither stored nor refused) and, when
   * some did, the `_id`s they are among (the server says how many matched, not which).
   */
  async #store(batch: MigratedBatch, retrying: boolean): Promise<{ lost: number; candidates: unknown[] }> {
    const { dryRun } = this.#options;
    if (this.#archive && !dryRun && batch.writes.length > 0) {
      // The originals first: a crash after this leaves an archived original, never a migrated document without one.
      const archive = this.#archive;
      const version = this.#plan.target.version;
      await this.#retry(() => archive.keep(batch.writes.map((write) => ({ read: write.snapshot, migrated: write.replacement, version }))));
    }
    this.#noteUndeclaredKeys(batch.writes.map((write) => write.replacement));
    const written = dryRun || batch.writes.length === 0 ? { matched: batch.writes.length, failures: [] } : await this.#writer.write(batch.writes);
    const writeFailures = written.failures.map((failure) =>
      toFailure(this.#plan.definition, this.#plan.target, failure.write.id, failure.write.fromVersion, writeError(this.#plan.definition.name, failure)),
    );
    const failures = [...batch.failures, ...writeFailures];
    if (!dryRun && failures.length > 0) await this.#retry(() => this.#failures.record(failures));
    for (const failure of failures) {
      this.#log?.warn({ _id: failure.documentId, fromVersion: failure.fromVersion, toVersion: failure.toVersion, error: failure.error.name }, 'document failed to migrate: recorded, left unchanged');
    }
    const failedKeys = new Set(writeFailures.map((failure) => idKey(failure.documentId)));
    if (retrying && !dryRun) {
      const succeeded = [...batch.writes.map((write) => write.id).filter((id) => !failedKeys.has(idKey(id))), ...batch.unchangedIds];
      await this.#retry(() => this.#failures.clear(succeeded));
    }
    const tally = this.#tally;
    tally.migrated += written.matched;
    tally.failed += failures.length;
    // Lost races are driven again by process(), which counts the ones left as skipped.
    if (tally.byVersion !== undefined) countClientBatch(tally.byVersion, batch, failures, writeFailures, written.matched, this.#plan.target.version, false);
    tally.remaining = Math.max(0, tally.remaining - written.matched);
    const lost = batch.writes.length - written.matched - writeFailures.length;
    return { lost, candidates: lost > 0 ? batch.writes.map((write) => write.id).filter((id) => !failedKeys.has(idKey(id))) : [] };
  }
}

/** How many times a batch drives its lost compare-and-swaps again before leaving them for the next pass. */
export const LOST_RACE_ATTEMPTS = 3;

/** What a failure record says of a document the server refused to store (or that was too large to send). */
function writeError(schemaName: string, { write, code, message, tooLarge, fieldNames }: WriteFailure): Error {
  if (tooLarge) return new DocumentTooLargeError({ schemaName, _id: write.id, ...tooLarge });
  if (fieldNames) return new UnsupportedFieldNameError({ schemaName, _id: write.id, ...fieldNames });
  const error = new Error(`the server refused the write (code ${String(code)}): ${message}`);
  error.name = 'WriteError';
  return error;
}
