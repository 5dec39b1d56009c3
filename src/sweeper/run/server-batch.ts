/**
 * A batch migrated on the server: the page holds only `_id`s and stored versions; each version the
 * plan covers is migrated by one `updateMany` with its pipeline, restricted to the page's `_id`s
 * at that version (a document changed in between no longer matches: a lost race, skipped). What
 * is still stale afterwards (documents that would not validate) and the versions the plan does not
 * cover are read whole and handed to the client path, which migrates or records them.
 */
import type { Collection, Document, Filter } from 'mongodb';
import type { Logger } from 'pino';
import { describeError, describeId, InvalidOptionError } from '../../errors.js';
import { plainVersion, type MigrationTarget } from '../../migrate/index.js';
import { isTransientError, limited, TimeBudgetSpentError, type OperationLimit } from '../../server/index.js';
import { STORED_BSON_OPTIONS } from '../../storage/index.js';
import type { BatchProcessor } from './batch-processor.js';
import type { ResolvedSweepOptions } from '../options.js';
import type { Pacer } from './pacing.js';
import type { ServerPlan } from '../server-plan.js';
import type { Tally } from './tally.js';

export class ServerBatchProcessor {
  readonly #collection: Collection<Document>;
  readonly #target: MigrationTarget;
  readonly #plan: ServerPlan;
  readonly #client: BatchProcessor;
  readonly #options: ResolvedSweepOptions;
  readonly #pacer: Pacer;
  readonly #tally: Tally;
  readonly #timed: <T>(operation: () => Promise<T>) => Promise<T>;
  readonly #log: Logger | undefined;
  readonly #limit: OperationLimit | undefined;
  /**
   * The limit of a batch's writes and of the reads that count what they wrote: the budget plus
   * the write grace, as on the client path, so that an update that lands is counted (cut off by
   * the bare budget, it could land uncounted).
   */
  readonly #writeLimit: OperationLimit | undefined;
  /** Stored versions whose server form was compared with `up` on this sweep's data, and those that disagreed (client from then on). */
  readonly #compared = new Set<number | null>();
  readonly #disagreeing = new Set<number | null>();

  constructor(parts: {
    log: Logger | undefined;
    limit: OperationLimit | undefined;
    writeLimit: OperationLimit | undefined;
    collection: Collection<Document>;
    target: MigrationTarget;
    plan: ServerPlan;
    client: BatchProcessor;
    options: ResolvedSweepOptions;
    pacer: Pacer;
    tally: Tally;
    timed: <T>(operation: () => Promise<T>) => Promise<T>;
  }) {
    this.#collection = parts.collection;
    this.#target = parts.target;
    this.#plan = parts.plan;
    this.#client = parts.client;
    this.#options = parts.options;
    this.#pacer = parts.pacer;
    this.#tally = parts.tally;
    this.#timed = parts.timed;
    this.#log = parts.log;
    this.#limit = parts.limit;
    this.#writeLimit = parts.writeLimit;
  }

  /** The projection of the pages this processor reads: nothing but what it needs to group them. */
  static projection(target: MigrationTarget): Document {
    return { _id: 1, [target.versionField]: 1 };
  }

  /** Processes one page of `{ _id, <vf> }`; `false` when the signal aborted before anything was written. */
  async process(page: Document[]): Promise<boolean> {
    const field = this.#target.versionField;
    const groups = new Map<number | null, unknown[]>();
    const clientIds: unknown[] = [];
    for (const doc of page) {
      // The page is read as stored (promoteValues: false): a version is an Int32, Double or Long there, not a number.
      const stored = doc[field] === undefined || doc[field] === null ? null : plainVersion(doc[field]);
      if ((stored !== null && typeof stored !== 'number') || !this.#plan.has(stored)) clientIds.push(doc._id);
      else if (groups.has(stored)) groups.get(stored)?.push(doc._id);
      else groups.set(stored, [doc._id]);
    }
    for (const [stored, ids] of groups) {
      if (!(await this.#serverFormAgrees(stored, ids))) {
        groups.delete(stored);
        clientIds.push(...ids);
      }
    }

    const serverCount = page.length - clientIds.length;
    if (serverCount > 0) {
      await this.#pacer.take(serverCount);
      if (this.#options.signal?.aborted) return false;
    }
    const leftovers: unknown[] = [...clientIds];
    for (const [stored, ids] of groups) {
      const filter = { _id: { $in: ids }, [field]: stored } as Filter<Document>;
      let updated = false;
      try {
        // By `_id` alone: the pipeline itself checks that each document is still at `stored`.
        await this.#timed(() => this.#collection.updateMany({ _id: { $in: ids } } as Filter<Document>, [...(this.#plan.get(stored)?.update ?? [])], limited({}, this.#writeLimit)));
        updated = true;
      } catch (error) {
        // An expression that fails on one document (a server form that cannot convert a bad value)
        // fails the whole command; the documents it did not reach go through the client path,
        // which records the bad one as a failure, as client mode would.
        if (isTransientError(error) || error instanceof TimeBudgetSpentError) throw error;
        this.#log?.warn({ error: describeError(error), storedVersion: stored, documents: ids.length }, 'server-side batch failed: these documents go through the client path');
      }
      const stillStale = (await this.#timed(() => this.#collection.find(filter, limited({ projection: { _id: 1 } }, this.#writeLimit)).toArray())).map((doc) => doc._id);
      leftovers.push(...stillStale);
      // At the target now: migrated here (or, in the same instant, by another writer).
      const migrated = updated || stillStale.length < ids.length
        ? await this.#timed(() => this.#collection.countDocuments({ _id: { $in: ids }, ...this.#target.atTarget } as Filter<Document>, limited({}, this.#writeLimit)))
        : 0;
      const tally = this.#tally;
      const skipped = ids.length - stillStale.length - migrated;
      tally.scanned += ids.length - stillStale.length;
      tally.migrated += migrated;
      tally.skipped += skipped;
      tally.remaining = Math.max(0, tally.remaining - migrated - skipped);
      // The report says what ran on the server, not what was planned there (see SweepReport.mode).
      if (updated && migrated > 0) tally.ranOnServer(stored);
      tally.byVersion?.add(stored, 'migrated', migrated);
      tally.byVersion?.add(stored, 'skipped', skipped);
    }
    if (leftovers.length === 0) return true;
    // The client path reads them whole, migrates (or records) each one, and counts them.
    const documents = await this.#timed(() => this.#collection.find({ _id: { $in: leftovers }, ...this.#target.staleFilter } as Filter<Document>, limited({ ...STORED_BSON_OPTIONS }, this.#limit)).sort({ _id: 1 }).toArray());
    this.#tally.skipped += leftovers.length - documents.length;
    this.#tally.byVersion?.add(undefined, 'skipped', leftovers.length - documents.length);
    return this.#client.process(documents, false);
  }

  /**
   * Before the server form of a stored version stores anything, it is compared with `up` (and
   * zod) on the first batch of that version this sweep meets. Where they disagree, `auto` sends
   * the version to the client path for the rest of the sweep; `server` stops before any write.
   */
  async #serverFormAgrees(stored: number | null, ids: readonly unknown[]): Promise<boolean> {
    if (this.#disagreeing.has(stored)) return false;
    if (this.#compared.has(stored)) return true;
    const entry = this.#plan.get(stored);
    if (entry === undefined) return false;
    const comparison = await this.#timed(() => entry.compare(this.#collection, ids, this.#limit));
    if (comparison === undefined) return true; // the server form fails here: the update fails too, and these go to the client
    if (comparison.checked > 0) this.#compared.add(stored);
    if (comparison.differing.length === 0) return true;
    const version = stored === null ? 'documents without a version field' : `version ${stored}`;
    const examples = comparison.differing.slice(0, 5);
    if (this.#options.mode === 'server') {
      throw new InvalidOptionError(
        'mode',
        `'server': the server form of the steps from ${version} gives a different document than up (or zod) for ${comparison.differing.length} of ${comparison.checked} documents compared, e.g. ${examples.map(describeId).join(', ')}; nothing of this batch was written. ` +
          "Make the step's upExpr compute what up computes (molt check lists such documents), or sweep with mode 'auto' or 'client'.",
      );
    }
    this.#disagreeing.add(stored);
    this.#log?.warn({ storedVersion: stored, differing: comparison.differing.length, checked: comparison.checked, examples: examples.map(describeId) }, "the server form disagrees with up on this collection's data: this version goes through the client path");
    return false;
  }
}
