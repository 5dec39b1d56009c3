import type { Document, Filter } from 'mongodb';
import type { Logger } from 'pino';
import { isPromiseLike, mapBounded, migrateDocument, type MigrationResult } from '../migrate/index.js';
import type { MaybePromise, SchemaDefinition } from '../schema/types.js';
import { casFilterFor, storedVersion } from './compare-and-swap.js';
import type { ResolvedOptions } from './options.js';
import type { MutableStats, WriteBackQueue } from './write-back.js';

/**
 * Turns raw documents from the driver into documents of the latest shape. Documents already at the
 * latest version take the fast path: the version field is removed and nothing else runs (unless
 * `validate: 'always'`). Stale ones are upcast, validated and, with `writeBackOnRead`, queued for
 * a compare-and-swap write-back at the write version.
 */
export class DocumentReader {
  readonly #definition: SchemaDefinition;
  readonly #options: ResolvedOptions;
  readonly #writeBack: WriteBackQueue | undefined;
  readonly #logger: Logger | undefined;
  readonly #fastPath: boolean;
  readonly #migrateOptions;
  readonly #stats: MutableStats;

  constructor(definition: SchemaDefinition, options: ResolvedOptions, writeBack: WriteBackQueue | undefined, stats: MutableStats) {
    this.#stats = stats;
    this.#definition = definition;
    this.#options = options;
    this.#writeBack = writeBack;
    this.#logger = options.logger;
    this.#fastPath = options.validate !== 'always';
    this.#migrateOptions = { validate: options.validate, onNewerVersion: options.onNewerVersion } as const;
  }

  /** The latest-shape document for a raw one; the raw document is consumed (modified in place). */
  read(raw: Document): MaybePromise<Document> {
    const versionField = this.#definition.versionField;
    if (this.#fastPath && raw[versionField] === this.#definition.latest) {
      delete raw[versionField];
      return raw;
    }
    const cas = this.#writeBack === undefined ? undefined : casFilterFor(raw, versionField, this.#options.compareOn);
    const pinnedCopy = this.#needsPinnedCopy(raw) ? { ...raw } : undefined;
    const result = migrateDocument(this.#definition, raw, this.#migrateOptions, true);
    if (isPromiseLike<MigrationResult<Document>>(result)) {
      return result.then((settled) => this.#afterMigration(settled, cas, pinnedCopy));
    }
    return this.#afterMigration(result, cas, pinnedCopy);
  }

  /** Reads many, at most `upcastConcurrency` async upcasts at once; stays synchronous when every document does. */
  readAll(raws: readonly Document[]): MaybePromise<Document[]> {
    return mapBounded(raws, this.#options.upcastConcurrency, (raw) => this.read(raw));
  }

  /** With a pinned write version, the write-back stores the document at that version, not the latest. */
  #needsPinnedCopy(raw: Document): boolean {
    if (this.#writeBack === undefined || this.#options.writeVersion === this.#definition.latest) return false;
    return (storedVersion(raw, this.#definition.versionField) ?? this.#definition.unversioned) < this.#options.writeVersion;
  }

  async #pinnedWriteBack(id: unknown, cas: Filter<Document>, raw: Document): Promise<void> {
    try {
      const atWriteVersion = await migrateDocument(this.#definition, raw, { to: this.#options.writeVersion, validate: 'migrated' }, true);
      this.#writeBack?.enqueue(id, cas, atWriteVersion.value, this.#options.writeVersion);
    } catch (error) {
      this.#logger?.error({ err: error, _id: id }, 'mongo-molt: cannot write back at the pinned write version');
    }
  }

  #afterMigration(result: MigrationResult<Document>, cas: Filter<Document> | undefined, pinnedCopy: Document | undefined): Document {
    if (!result.changed) return result.value;
    const id: unknown = result.value._id;
    this.#stats.migratedOnRead++;
    if (this.#writeBack !== undefined && cas !== undefined) {
      if (pinnedCopy !== undefined) {
        void this.#pinnedWriteBack(id, cas, pinnedCopy);
      } else if (this.#options.writeVersion === this.#definition.latest) {
        this.#writeBack.enqueue(id, cas, result.value, result.toVersion);
      }
    }
    if (this.#logger?.isLevelEnabled('debug')) {
      this.#logger.debug({ _id: id, fromVersion: result.fromVersion, toVersion: result.toVersion }, 'mongo-molt: upcast on read');
    }
    return result.value;
  }
}
