import { BSON, type BSONSerializeOptions, type Document } from 'mongodb';
import type { Logger } from 'pino';
import { isPromiseLike, mapBounded, plainVersion, migrateDocument, migrationTarget, type MigrationResult, type MigrationTarget } from '../migrate/index.js';
import type { MaybePromise, SchemaDefinition } from '../schema/types.js';
// From its own module, not the telemetry barrel: the barrel's declarations import the optional
// @opentelemetry/api, which a user's compile (skipLibCheck off) must not need.
import type { ReadTelemetry } from '../telemetry/read.js';
import { readState, snapshotOfBytes, storedVersion, storedWrite, valueOptions, workingCopy, type ReadState } from '../storage/index.js';
import type { ResolvedOptions } from './options.js';
import type { ShadowReader } from './shadow.js';
import type { MutableStats, WriteBackQueue } from './write-back.js';

/** What the driver hands a read: a decoded document, or (when write-backs need the stored bytes) raw BSON. */
export type StoredRead = Document | Uint8Array;

/**
 * Turns raw documents from the driver into documents of the latest shape. Documents already at the
 * latest version take the fast path: the version field is removed and nothing else runs (unless
 * `validate: 'always'`). Others are upcast, validated and, with `writeBackOnRead`, queued for a
 * compare-and-swap write-back at the write version when their stored version field is not it
 * (documents without the field included, even when they read as the write version). A write-back
 * is built from the snapshot of the stored bytes, never from the object handed to the app.
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
  readonly #telemetry: ReadTelemetry | undefined;

  constructor(definition: SchemaDefinition, options: ResolvedOptions, writeBack: WriteBackQueue | undefined, stats: MutableStats, shadow?: ShadowReader, telemetry?: ReadTelemetry) {
    this.#shadow = shadow;
    this.#telemetry = telemetry;
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

  /** Whether reads must hand this reader the stored bytes (`raw: true`): only write-backs need them. */
  get wantsBytes(): boolean {
    return this.#writeBack !== undefined;
  }

  /**
   * The latest-shape document for what the driver returned: raw BSON bytes (decoded with the app's
   * `bsonOptions`; a stale document is then written back, with write-back on) or a decoded document
   * (never written back: without the bytes there is no exact snapshot). A decoded document is
   * consumed (modified in place).
   */
  read(stored: StoredRead, bsonOptions?: BSONSerializeOptions): MaybePromise<Document> {
    return this.#readStored(stored, bsonOptions, this.#telemetry?.recorder());
  }

  /** Reads many, at most `upcastConcurrency` async upcasts at once; stays synchronous when every document does. */
  readAll(stored: readonly StoredRead[], bsonOptions?: BSONSerializeOptions): MaybePromise<Document[]> {
    // One look at the meter provider for the whole batch, not one per document.
    const counts = this.#telemetry?.recorder();
    return mapBounded(stored, this.#options.upcastConcurrency, (item) => this.#readStored(item, bsonOptions, counts));
  }

  /** `counts`: where upcasts are also counted for OpenTelemetry (`undefined` while no SDK records). */
  #readStored(stored: StoredRead, bsonOptions: BSONSerializeOptions | undefined, counts: ReadTelemetry | undefined): MaybePromise<Document> {
    if (!(stored instanceof Uint8Array)) return this.#read(stored, undefined, counts);
    const raw = BSON.deserialize(stored, valueOptions(bsonOptions));
    if (this.#writeBack === undefined || !this.#target.needsWrite(raw)) return this.#read(raw, undefined, counts);
    return this.#read(raw, readState(snapshotOfBytes(stored, bsonOptions), this.#target), counts);
  }

  #read(raw: Document, state: ReadState | undefined, counts: ReadTelemetry | undefined): MaybePromise<Document> {
    const versionField = this.#definition.versionField;
    this.#shadow?.offer(state?.snapshot.value ?? raw);
    if (this.#fastPath && plainVersion(raw[versionField]) === this.#definition.latest) {
      delete raw[versionField];
      return raw;
    }
    const result = migrateDocument(this.#definition, raw, this.#migrateOptions, true);
    if (isPromiseLike<MigrationResult<Document>>(result)) return result.then((settled) => this.#afterMigration(settled, state, counts));
    return this.#afterMigration(result, state, counts);
  }

  /** With a pinned write version, a document at or below it is written back at it (never one above: no downcast on read). */
  #needsPinnedWrite(state: ReadState): boolean {
    return this.#pinned && (storedVersion(state.snapshot.value, this.#definition.versionField) ?? this.#definition.unversioned) <= this.#options.writeVersion;
  }

  async #pinnedWriteBack(state: ReadState): Promise<void> {
    try {
      const atWriteVersion = await migrateDocument(this.#definition, workingCopy(state.snapshot), { to: this.#target.version, validate: 'migrated', upcastTimeoutMs: this.#options.upcastTimeoutMs }, true);
      this.#writeBack?.enqueue(storedWrite(state, atWriteVersion.value, this.#target));
    } catch (error) {
      this.#logger?.error({ err: error, _id: state.id }, 'mongo-molt: cannot write back at the pinned write version');
    }
  }

  #afterMigration(result: MigrationResult<Document>, state: ReadState | undefined, counts: ReadTelemetry | undefined): Document {
    if (result.changed) {
      this.#stats.migratedOnRead++;
      counts?.upcast();
      if (this.#logger?.isLevelEnabled('debug')) {
        this.#logger.debug({ _id: result.value._id, fromVersion: result.fromVersion, toVersion: result.toVersion }, 'mongo-molt: upcast on read');
      }
    }
    if (state !== undefined && state.needsWrite) {
      if (this.#pinned) {
        if (this.#needsPinnedWrite(state)) void this.#pinnedWriteBack(state);
      } else if (result.toVersion === this.#target.version) {
        // Built now, before the app gets (and may change) the value.
        this.#writeBack?.enqueue(storedWrite(state, result.value, this.#target));
      }
    }
    return result.value;
  }
}
