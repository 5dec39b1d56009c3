import { BSON, type Document } from 'mongodb';
import type { Logger } from 'pino';
import { isPromiseLike, mapBounded, migrateDocument, migrationTarget, type MigrationResult, type MigrationTarget } from '../migrate/index.js';
import type { MaybePromise, SchemaDefinition } from '../schema/types.js';
import { readState, storedVersion, storedWrite, type ReadState } from '../storage/index.js';
import type { ResolvedOptions } from './options.js';
import type { ShadowReader } from './shadow.js';
import type { MutableStats, WriteBackQueue } from './write-back.js';

/**
 * Turns raw documents from the driver into documents of the latest shape. Documents already at the
 * latest version take the fast path: the version field is removed and nothing else runs (unless
 * `validate: 'always'`). Others are upcast, validated and, with `writeBackOnRead`, queued for a
 * compare-and-swap write-back at the write version when their stored version field is not it
 * (documents without the field included, even when they read as the write version).
 */
export class DocumentReader {
  readonly #definition: SchemaDefinition;
  readonly #options: ResolvedOptions;
  readonly #writeBack: WriteBackQueue | undefined;
  readonly #logger: Logger | undefined;
  readonly #fastPath: boolean;
  readonly #migrateOptions;
  readonly #stats: MutableStats;
  readonly #target: MigrationTarget;
  readonly #pinned: boolean;
  readonly #shadow: ShadowReader | undefined;

  constructor(definition: SchemaDefinition, options: ResolvedOptions, writeBack: WriteBackQueue | undefined, stats: MutableStats, shadow?: ShadowReader) {
    this.#shadow = shadow;
    this.#stats = stats;
    this.#definition = definition;
    this.#options = options;
    this.#writeBack = writeBack;
    this.#logger = options.logger;
    this.#fastPath = options.validate !== 'always';
    this.#migrateOptions = { validate: options.validate, onNewerVersion: options.onNewerVersion, upcastTimeoutMs: options.upcastTimeoutMs } as const;
    this.#target = migrationTarget(definition, options.writeVersion, 'up');
    this.#pinned = options.writeVersion !== definition.latest;
  }

  /** The latest-shape document for a raw one; the raw document is consumed (modified in place). */
  read(raw: Document): MaybePromise<Document> {
    const versionField = this.#definition.versionField;
    this.#shadow?.offer(raw);
    if (this.#fastPath && raw[versionField] === this.#definition.latest) {
      delete raw[versionField];
      return raw;
    }
    const state = this.#writeBack === undefined ? undefined : readState(raw, this.#target, this.#options.compareOn);
    const pinnedCopy = state !== undefined && this.#needsPinnedWrite(raw, state) ? { ...raw } : undefined;
    // With archiveOnWriteBack, the document as stored is kept (a deep copy: the migration consumes `raw`).
    const original = state?.needsWrite && this.#options.archiveOnWriteBack ? BSON.deserialize(BSON.serialize(raw)) : undefined;
    const result = migrateDocument(this.#definition, raw, this.#migrateOptions, true);
    if (isPromiseLike<MigrationResult<Document>>(result)) {
      return result.then((settled) => this.#afterMigration(settled, state, pinnedCopy, original));
    }
    return this.#afterMigration(result, state, pinnedCopy, original);
  }

  /** Reads many, at most `upcastConcurrency` async upcasts at once; stays synchronous when every document does. */
  readAll(raws: readonly Document[]): MaybePromise<Document[]> {
    return mapBounded(raws, this.#options.upcastConcurrency, (raw) => this.read(raw));
  }

  /** With a pinned write version, a document at or below it is written back at it (never one above: no downcast on read). */
  #needsPinnedWrite(raw: Document, state: ReadState): boolean {
    if (!this.#pinned || !state.needsWrite) return false;
    return (storedVersion(raw, this.#definition.versionField) ?? this.#definition.unversioned) <= this.#options.writeVersion;
  }

  async #pinnedWriteBack(state: ReadState, raw: Document, original: Document | undefined): Promise<void> {
    try {
      const atWriteVersion = await migrateDocument(this.#definition, raw, { to: this.#target.version, validate: 'migrated', upcastTimeoutMs: this.#options.upcastTimeoutMs }, true);
      this.#writeBack?.enqueue(storedWrite(state, atWriteVersion.value, this.#target), original);
    } catch (error) {
      this.#logger?.error({ err: error, _id: state.id }, 'mongo-molt: cannot write back at the pinned write version');
    }
  }

  #afterMigration(result: MigrationResult<Document>, state: ReadState | undefined, pinnedCopy: Document | undefined, original: Document | undefined): Document {
    if (result.changed) {
      this.#stats.migratedOnRead++;
      if (this.#logger?.isLevelEnabled('debug')) {
        this.#logger.debug({ _id: result.value._id, fromVersion: result.fromVersion, toVersion: result.toVersion }, 'mongo-molt: upcast on read');
      }
    }
    if (state !== undefined && state.needsWrite) {
      if (pinnedCopy !== undefined) {
        void this.#pinnedWriteBack(state, pinnedCopy, original);
      } else if (!this.#pinned && result.toVersion === this.#target.version) {
        this.#writeBack?.enqueue(storedWrite(state, result.value, this.#target), original);
      }
    }
    return result.value;
  }
}
