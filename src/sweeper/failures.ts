import { InvalidOptionError } from '../errors.js';
import { DEFAULT_FAILURES_COLLECTION } from './options.js';
import { databaseOf, limited, type OperationLimit } from '../server/index.js';
import { KeysetPages } from './stale-pages.js';
import { idsFilter } from './stale.js';
import { type AnyBulkWriteOperation, type Collection, type Db, type Document } from 'mongodb';
import { PRIVILEGES, withPrivileges } from './privileges.js';

/** One document that failed to migrate, in the failures collection. No body unless `captureDocuments`. @public */
export interface FailureRecord {
  readonly _id: { readonly collection: string; readonly documentId: unknown };
  readonly collection: string;
  readonly schema: string;
  readonly documentId: unknown;
  readonly fromVersion: number | null;
  readonly toVersion: number;
  readonly error: { readonly name: string; readonly message: string };
  /** How many runs tried this document and failed. */
  readonly attempts: number;
  readonly firstAt: Date;
  readonly lastAt: Date;
  /** The stored document as it was read, only with `captureDocuments: true`. */
  readonly document?: Document;
}

/** A failure as the sweeper reports it to the store. */
export interface NewFailure {
  readonly documentId: unknown;
  readonly fromVersion: number | null;
  readonly toVersion: number;
  readonly error: { readonly name: string; readonly message: string };
  readonly document?: Document;
}

const MAX_MESSAGE = 2000;

import { idKey } from '../storage/index.js';

export { idKey };

/** The failure records of one collection. */
export class FailureStore {
  readonly #failures: Collection<FailureRecord>;
  readonly #collection: string;
  readonly #schema: string;
  #indexed = false;
  readonly #maxBulk: number;
  readonly #limit: OperationLimit | undefined;

  /** `maxBulk`: the statements one bulk write may carry on this server; `limit` bounds every call. */
  constructor(db: Db, failuresCollection: string, collectionName: string, schemaName: string, maxBulk = Infinity, limit?: OperationLimit) {
    this.#limit = limit;
    this.#maxBulk = maxBulk;
    this.#failures = db.collection<FailureRecord>(failuresCollection);
    this.#collection = collectionName;
    this.#schema = schemaName;
  }

  #recordId(documentId: unknown): FailureRecord['_id'] {
    return { collection: this.#collection, documentId };
  }

  /** Whether this collection has any failure record. */
  async any(): Promise<boolean> {
    return (await this.#failures.countDocuments({ collection: this.#collection }, limited({ limit: 1 }, this.#limit))) > 0;
  }

  /**
   * The failure records of the given `_id`s, split by target: `here`, the keys (see `idKey`) of
   * those that failed to reach `toVersion`, which a pass to it leaves out; `elsewhere`, the `_id`s
   * recorded for another target (a reverse sweep that refused a lossy document, a target the
   * schema has since moved past), which say nothing of this one: the pass tries them, and
   * `clearMigrated` drops their records once they are no longer stale.
   */
  async recorded(ids: readonly unknown[], toVersion: number): Promise<{ here: Set<string>; elsewhere: unknown[] }> {
    const here = new Set<string>();
    const elsewhere: unknown[] = [];
    if (ids.length === 0) return { here, elsewhere };
    const found = await this.#failures
      .find({ _id: { $in: ids.map((id) => this.#recordId(id)) } }, limited({ projection: { documentId: 1, toVersion: 1 } }, this.#limit))
      .toArray();
    for (const record of found) {
      if (record.toVersion === toVersion) here.add(idKey(record.documentId));
      else elsewhere.push(record.documentId);
    }
    return { here, elsewhere };
  }

  /** Removes the records of those of `ids` whose documents no longer match `stale` (a pass migrated them). */
  async clearMigrated(collection: Collection<Document>, stale: Readonly<Document>, ids: readonly unknown[]): Promise<void> {
    if (ids.length === 0) return;
    const still = await collection.find(idsFilter(stale, ids), limited({ projection: { _id: 1 } }, this.#limit)).toArray();
    const left = new Set(still.map((doc) => idKey(doc._id)));
    await this.clear(ids.filter((id) => !left.has(idKey(id))));
  }

  /** Records (or counts one more attempt of) each failure: one bulk write. */
  async record(failures: readonly NewFailure[]): Promise<void> {
    if (failures.length === 0) return;
    if (!this.#indexed) {
      await this.#failures.createIndex({ collection: 1, lastAt: -1 }, limited({}, this.#limit)).catch(() => undefined);
      this.#indexed = true;
    }
    const now = new Date();
    const operations: AnyBulkWriteOperation<FailureRecord>[] = failures.map((failure) => ({
      updateOne: {
        filter: { _id: this.#recordId(failure.documentId) },
        update: {
          $set: {
            collection: this.#collection,
            schema: this.#schema,
            documentId: failure.documentId,
            fromVersion: failure.fromVersion,
            toVersion: failure.toVersion,
            error: { name: failure.error.name, message: failure.error.message.slice(0, MAX_MESSAGE) },
            lastAt: now,
            ...(failure.document ? { document: failure.document } : {}),
          },
          $inc: { attempts: 1 },
          $setOnInsert: { firstAt: now },
        },
        upsert: true,
      },
    }));
    const size = Math.min(this.#maxBulk, operations.length);
    for (let start = 0; start < operations.length; start += size) {
      await this.#failures.bulkWrite(operations.slice(start, start + size), limited({ ordered: false }, this.#limit));
    }
  }

  /** Removes the records of these `_id`s (they migrated, or are no longer stale). */
  async clear(ids: readonly unknown[]): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await this.#failures.deleteMany({ _id: { $in: ids.map((id) => this.#recordId(id)) } }, limited({}, this.#limit));
    return result.deletedCount;
  }

  /**
   * How many documents of `collection` matching `stale` have a failure record for `toVersion`:
   * the stale documents a pass to that target leaves behind on purpose (see `recorded`). One
   * query per page of records.
   */
  async staleCount(collection: Collection<Document>, stale: Readonly<Document>, pageSize: number, toVersion: number): Promise<number> {
    const pages = this.pages(pageSize, toVersion);
    let count = 0;
    try {
      let last: unknown = null;
      for (;;) {
        const records = await pages.next(last);
        if (records.length === 0) return count;
        last = records.at(-1)?._id;
        count += await collection.countDocuments(idsFilter(stale, records.map((record) => record.documentId as unknown)), limited({}, this.#limit));
      }
    } finally {
      await pages.close();
    }
  }

  /** This collection's records (their `documentId`s; only those for `toVersion` when given), a page at a time in `_id` order: every one for `retryFailed`. */
  pages(batchSize: number, toVersion?: number): KeysetPages {
    const filter = toVersion === undefined ? { collection: this.#collection } : { collection: this.#collection, toVersion };
    return new KeysetPages(this.#failures as unknown as Collection<Document>, filter, batchSize, { projection: { documentId: 1 }, limit: this.#limit });
  }
}

/** The failure records of a collection, newest first (for `molt failures`). @public */
export async function listFailures<T extends Document>(
  collection: Collection<T>,
  options: { readonly limit?: number | undefined; readonly failuresCollection?: string | undefined } = {},
): Promise<FailureRecord[]> {
  const limit = options.limit ?? 0;
  if (!Number.isSafeInteger(limit) || limit < 0) throw new InvalidOptionError('limit', `must be a whole number, 0 for all, got ${String(limit)}.`);
  const failures = databaseOf(collection as unknown as Collection<Document>).collection<FailureRecord>(options.failuresCollection ?? DEFAULT_FAILURES_COLLECTION);
  return withPrivileges(failures as unknown as Collection<Document>, PRIVILEGES.read(failures.dbName, failures.collectionName),
    () => failures.find({ collection: collection.collectionName }).sort({ lastAt: -1 }).limit(limit).toArray());
}
