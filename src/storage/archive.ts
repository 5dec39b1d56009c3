/**
 * The archive of originals: each document as it was before the migration an entry undoes, kept
 * in an archive collection (default `molt_archive`) with an expiry, so that even a lossy upcaster
 * can be undone (`restore`). An entry also holds a fingerprint of what the library last stored for
 * the document: a restore puts the original back only over exactly that, never over a document
 * changed since. A later migration of a document changed after its archived one (by the app, say)
 * marks the entry `changedAt`: restoring the old original would drop that change, so restore skips
 * and names it. The archive write comes before the migration write, so a crash between them leaves
 * an original without a migration (harmless), never a migration without its original.
 */
import { createHash } from 'node:crypto';
import { BSON, type AnyBulkWriteOperation, type Collection, type Db, type Document } from 'mongodb';
import { limited, type OperationLimit } from '../server/index.js';
import { STORED_BSON_OPTIONS, type StoredSnapshot } from './snapshot.js';

/** Default of the sweep option `archiveCollection`. */
export const DEFAULT_ARCHIVE_COLLECTION = 'molt_archive';
/** Default of the sweep option `archiveTtlMs`: 30 days. */
export const DEFAULT_ARCHIVE_TTL_MS = 30 * 24 * 3_600_000;

/** One archived original. @public */
export interface ArchiveEntry {
  readonly _id: { readonly collection: string; readonly documentId: unknown };
  readonly collection: string;
  readonly documentId: unknown;
  /** The document as it was before its first migration, version field included. */
  readonly original: Document;
  /** When the original was archived (its first migration). */
  readonly archivedAt: Date;
  /** The fingerprint of what the library last stored for the document, and at which version. */
  readonly migratedFingerprint: string;
  /** The fingerprint of the document that last archived migration read (what it changed). */
  readonly migratedFrom?: string;
  readonly migratedVersion: number;
  readonly migratedAt: Date;
  /** After this, the entry may be deleted (a TTL index where the server has one; `molt prune` elsewhere). */
  readonly expiresAt: Date;
  /**
   * Set when a later migration found the document changed since the archived one: putting the
   * original back would drop that change, so restore skips the document.
   */
  readonly changedAt?: Date;
}

/** An original to keep: the document as read, and what the migration is about to store for it. */
export interface ArchiveWrite {
  readonly read: StoredSnapshot;
  readonly migrated: Document;
  readonly version: number;
}

/**
 * A fingerprint of a document as stored (every value's BSON type counts, a JavaScript number as the
 * type it is stored as) that does not depend on the order of its fields.
 */
export function fingerprint(doc: Document): string {
  const stored = BSON.deserialize(BSON.serialize(doc), STORED_BSON_OPTIONS);
  return createHash('sha256').update(BSON.EJSON.stringify(canonical(stored) as Document, { relaxed: false })).digest('base64');
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, canonical((value as Record<string, unknown>)[key])]));
  }
  return value;
}

/** Writes originals into the archive collection of one source collection. */
export class Archive {
  readonly #entries: Collection<ArchiveEntry>;
  readonly #collection: string;
  readonly #ttlMs: number;
  readonly #limit: OperationLimit | undefined;
  #indexed = false;

  /** `limit` bounds every call. */
  constructor(db: Db, archiveCollection: string, sourceCollection: string, ttlMs: number, limit?: OperationLimit) {
    this.#limit = limit;
    this.#entries = db.collection<ArchiveEntry>(archiveCollection);
    this.#collection = sourceCollection;
    this.#ttlMs = ttlMs;
  }

  /**
   * Keeps the originals and records what is about to be stored for each. Call it before the
   * migration writes. A document stored as the entry's last migration left it (or read as that
   * migration read it: a racing twin of it) continues the entry, whose original stays; a document
   * changed since marks the entry `changedAt` (even when this migration happens to store the same
   * bytes again: a lossy step can drop the change); a document without an entry gets one.
   */
  async keep(entries: readonly ArchiveWrite[]): Promise<void> {
    if (entries.length === 0) return;
    await this.#ensureTtlIndex();
    const now = new Date();
    const expiresAt = new Date(now.getTime() + this.#ttlMs);
    const prints = entries.map(({ read, migrated }) => ({ read: fingerprint(read.stored), migrated: fingerprint(migrated) }));
    const key = (read: StoredSnapshot) => ({ collection: this.#collection, documentId: read.stored._id as unknown });
    const inserts: AnyBulkWriteOperation<ArchiveEntry>[] = entries.map(({ read, version }, index) => ({
      updateOne: {
        filter: { _id: key(read) },
        update: { $setOnInsert: { collection: this.#collection, documentId: read.stored._id as unknown, original: read.stored, archivedAt: now, migratedFingerprint: prints[index]?.read ?? '', migratedFrom: prints[index]?.read ?? '', migratedVersion: version, migratedAt: now, expiresAt } },
        upsert: true,
      },
    }));
    const changed: AnyBulkWriteOperation<ArchiveEntry>[] = entries.map(({ read }, index) => ({
      updateOne: { filter: { _id: key(read), migratedFingerprint: { $ne: prints[index]?.read ?? '' }, migratedFrom: { $ne: prints[index]?.read ?? '' }, changedAt: { $exists: false } }, update: { $set: { changedAt: now } } },
    }));
    const migrated: AnyBulkWriteOperation<ArchiveEntry>[] = entries.map(({ read, version }, index) => ({
      updateOne: { filter: { _id: key(read) }, update: { $set: { migratedFingerprint: prints[index]?.migrated ?? '', migratedFrom: prints[index]?.read ?? '', migratedVersion: version, migratedAt: now, expiresAt } } },
    }));
    await this.#entries.bulkWrite(inserts, limited({ ordered: false }, this.#limit)).catch(ignoreDuplicateKeys);
    await this.#entries.bulkWrite(changed, limited({ ordered: false }, this.#limit));
    await this.#entries.bulkWrite(migrated, limited({ ordered: false }, this.#limit));
  }

  /** A TTL index on `expiresAt` where the server has TTL indexes; elsewhere `molt prune` deletes expired entries. */
  async #ensureTtlIndex(): Promise<void> {
    if (this.#indexed) return;
    this.#indexed = true;
    await this.#entries.createIndex({ expiresAt: 1 }, limited({ expireAfterSeconds: 0 }, this.#limit)).catch(() => undefined);
  }
}

/** Two writers inserting the same entry at once: the other one's entry stands. Anything else is thrown. */
function ignoreDuplicateKeys(error: unknown): void {
  const writeErrors = (error as { writeErrors?: unknown }).writeErrors;
  const list = Array.isArray(writeErrors) ? writeErrors : writeErrors === undefined ? [] : [writeErrors];
  if (list.length === 0 || !list.every((entry) => (entry as { code?: unknown }).code === 11000)) throw error;
}
