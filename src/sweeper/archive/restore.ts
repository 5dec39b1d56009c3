/**
 * Puts archived originals back (`molt restore`): the escape hatch for a migration that went wrong,
 * lossy upcasters included. Each original goes back byte for byte, with a compare-and-swap on the
 * whole document as the library last stored it: a document changed since (by the app, or by
 * anything else, including a later migration of a document the app had changed) is skipped and
 * named, never overwritten. A restored entry is removed from the archive, so a second restore
 * finds nothing more to do.
 */
import type { Collection, Document, Filter } from 'mongodb';
import { InvalidOptionError } from '../../errors.js';
import { databaseOf, serverCapabilities } from '../../server/index.js';
import { checkCollection } from '../arguments.js';
import { casFilter, promoted, DEFAULT_ARCHIVE_COLLECTION, fingerprint, snapshotOfStored, STORED_BSON_OPTIONS, type ArchiveEntry } from '../../storage/index.js';
import { idKey } from '../failures.js';
import { PRIVILEGES, withPrivileges } from '../privileges.js';
import { KeysetPages } from '../stale-pages.js';

/** Archive entries restored per page (one query reads their documents). */
const RESTORE_PAGE = 500;

/** Options of `restore`. @public */
export interface RestoreOptions {
  /** Only originals archived at or after this time. Default: all. */
  readonly since?: Date;
  /** The archive collection. Default: `molt_archive`. */
  readonly archiveCollection?: string;
  /** Count what would be restored; write nothing. */
  readonly dryRun?: boolean;
}

/** What `restore` did. @public */
export interface RestoreReport {
  readonly collection: string;
  /** Originals put back. */
  readonly restored: number;
  /** Documents changed since the library last stored them: left as they are. */
  readonly skipped: number;
  /**
   * Documents already as their original (an earlier restore put it back but could not remove the
   * archive entry): nothing written; the entry is removed.
   */
  readonly alreadyRestored: number;
  /** Archived documents that no longer exist. */
  readonly missing: number;
  /** A few `_id`s of skipped documents, to look at. */
  readonly skippedIds: readonly unknown[];
  readonly dryRun: boolean;
}

/**
 * Restores the archived originals of a collection (see `sweep`'s `archive` option).
 * ```ts
 * const report = await restore(db.collection('users'), { since: new Date('2026-11-27T10:00:00Z') });
 * ```
 * @public
 */
export async function restore<T extends Document>(collection: Collection<T>, options: RestoreOptions = {}): Promise<RestoreReport> {
  if (options.since !== undefined && !(options.since instanceof Date && !Number.isNaN(options.since.getTime()))) {
    throw new InvalidOptionError('since', 'must be a valid Date.');
  }
  const raw = checkCollection(collection);
  const archiveName = options.archiveCollection ?? DEFAULT_ARCHIVE_COLLECTION;
  return withPrivileges(raw, PRIVILEGES.restore(raw.dbName, raw.collectionName, archiveName), () => restoreFrom(raw, options));
}

async function restoreFrom(raw: Collection<Document>, options: RestoreOptions): Promise<RestoreReport> {
  const db = databaseOf(raw);
  const { documentMatch } = await serverCapabilities(db);
  const archive = db.collection<ArchiveEntry>(options.archiveCollection ?? DEFAULT_ARCHIVE_COLLECTION);
  const filter: Filter<ArchiveEntry> = { collection: raw.collectionName, ...(options.since ? { archivedAt: { $gte: options.since } } : {}) };
  let restored = 0;
  let skipped = 0;
  let missing = 0;
  let alreadyRestored = 0;
  const skippedIds: unknown[] = [];
  const skip = (id: unknown) => {
    skipped++;
    if (skippedIds.length < 10) skippedIds.push(promoted(id));
  };
  const done: unknown[] = [];
  const restoreOne = async (entry: ArchiveEntry, current: Document | undefined): Promise<void> => {
    if (current === undefined) {
      missing++;
      return;
    }
    const now = fingerprint(current);
    if (now === fingerprint(entry.original)) {
      alreadyRestored++;
      done.push(entry._id);
      return;
    }
    if (entry.changedAt !== undefined || now !== entry.migratedFingerprint) {
      skip(entry.documentId);
      return;
    }
    if (options.dryRun) {
      restored++;
      return;
    }
    // The whole document as read: any change between this read and the write makes it miss.
    const result = await raw.replaceOne(casFilter(snapshotOfStored(current), documentMatch), entry.original);
    if (result.matchedCount === 1) {
      restored++;
      done.push(entry._id);
    } else {
      skip(entry.documentId);
    }
  };
  // A page of archive entries, then their documents in one query (not one read per document);
  // both as stored, so that an original goes back byte for byte.
  let page: ArchiveEntry[] = [];
  const flush = async (): Promise<void> => {
    const found = await raw.find({ _id: { $in: page.map((entry) => entry.documentId) } } as Filter<Document>, { ...STORED_BSON_OPTIONS }).toArray();
    const byId = new Map(found.map((doc) => [idKey(doc._id), doc]));
    for (const entry of page) await restoreOne(entry, byId.get(idKey(entry.documentId)));
    page = [];
    if (!options.dryRun && done.length > 0) await archive.deleteMany({ _id: { $in: done.splice(0) } } as Filter<ArchiveEntry>);
  };
  const entries = new KeysetPages(archive as unknown as Collection<Document>, filter, RESTORE_PAGE, { asStored: true });
  try {
    let lastEntry: unknown = null;
    for (;;) {
      page = (await entries.next(lastEntry)) as ArchiveEntry[];
      if (page.length === 0) break;
      lastEntry = page.at(-1)?._id;
      await flush();
    }
  } finally {
    await entries.close();
  }
  return { collection: raw.collectionName, restored, skipped, alreadyRestored, missing, skippedIds, dryRun: options.dryRun === true };
}
