/**
 * The archive of originals: each document as it was before its first migration, kept in an
 * archive collection (default `molt_archive`) with an expiry, so that even a lossy upcaster can be
 * undone (`restore`). An entry also holds a fingerprint of what the library last stored for the
 * document: a restore puts the original back only over exactly that, never over a document changed
 * since. The archive write comes before the migration write, so a crash between them leaves an
 * original without a migration (harmless), never a migration without its original.
 */
import { createHash } from 'node:crypto';
import { BSON, type AnyBulkWriteOperation, type Collection, type Db, type Document } from 'mongodb';
import { limited, type OperationLimit } from '../server/index.js';

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
  readonly migratedVersion: number;
  readonly migratedAt: Date;
  /** After this, the entry may be deleted (a TTL index where the server has one; `molt prune` elsewhere). */
  readonly expiresAt: Date;
}

/** A fingerprint of a document's content that does not depend on the order of its fields. */
export function fingerprint(doc: Document): string {
  return createHash('sha256').update(BSON.EJSON.stringify(canonical(doc) as Document, { relaxed: false })).digest('base64');
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
   * Keeps the originals (once: an original already archived stays) and records what is about to
   * be stored for each. Call it before the migration writes.
   */
  async keep(entries: readonly { readonly original: Document; readonly migrated: Document; readonly version: number }[]): Promise<void> {
    if (entries.length === 0) return;
    await this.#ensureTtlIndex();
    const now = new Date();
    const operations: AnyBulkWriteOperation<ArchiveEntry>[] = entries.map(({ original, migrated, version }) => ({
      updateOne: {
        filter: { _id: { collection: this.#collection, documentId: original._id } },
        update: {
          $setOnInsert: { collection: this.#collection, documentId: original._id, original, archivedAt: now },
          $set: { migratedFingerprint: fingerprint(migrated), migratedVersion: version, migratedAt: now, expiresAt: new Date(now.getTime() + this.#ttlMs) },
        },
        upsert: true,
      },
    }));
    await this.#entries.bulkWrite(operations, limited({ ordered: false }, this.#limit));
  }

  /** A TTL index on `expiresAt` where the server has TTL indexes; elsewhere `molt prune` deletes expired entries. */
  async #ensureTtlIndex(): Promise<void> {
    if (this.#indexed) return;
    this.#indexed = true;
    await this.#entries.createIndex({ expiresAt: 1 }, limited({ expireAfterSeconds: 0 }, this.#limit)).catch(() => undefined);
  }
}
