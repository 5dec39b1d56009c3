import type { ClientSession, Collection, Document, Filter, Sort } from 'mongodb';
import type { Logger } from 'pino';
import { DocumentTooLargeError, DocumentWriteError, UnsupportedFieldNameError, UpcastError } from '../errors.js';
import { andFilters, lostFields, migrateDocument, migrationTarget, type MigrationTarget } from '../migrate/index.js';
import type { SchemaDefinition } from '../schema/types.js';
import { readState, snapshotOfStored, STORED_BSON_OPTIONS, storedWrite, workingCopy, type BulkOutcome, type BulkWriter, type StoredSnapshot, type StoredWrite } from '../storage/index.js';
import type { ResolvedOptions } from './options.js';
import type { MutableStats } from './write-back.js';

/** How many stale documents one round of an update reads (and hands to the writer) at a time. */
const MIGRATION_BATCH = 500;

/**
 * Brings the documents an update's filter matches to the write version before the update runs,
 * so that update operators never run on an old shape. Each document is migrated in memory and
 * stored with a compare-and-swap through the shared writer; a lost race is counted and the
 * caller looks again.
 */
export class StaleMatchMigrator {
  readonly #collection: Collection<Document>;
  readonly #definition: SchemaDefinition;
  readonly #validate: 'migrated' | 'never';
  readonly #logger: Logger | undefined;
  readonly #stats: MutableStats;
  readonly #writer: BulkWriter;
  readonly #upcastTimeoutMs: number;
  /**
   * The write version, from any other version: documents newer than this code are found too, and
   * their migration throws a NewerVersionError before anything is written, whatever
   * onNewerVersion says: an update cannot run on a shape this code does not know.
   */
  readonly target: MigrationTarget;

  constructor(collection: Collection<Document>, definition: SchemaDefinition, options: ResolvedOptions, stats: MutableStats, writer: BulkWriter) {
    this.#collection = collection;
    this.#definition = definition;
    this.#validate = options.validate === 'never' ? 'never' : 'migrated';
    this.#logger = options.logger;
    this.#stats = stats;
    this.#writer = writer;
    this.#upcastTimeoutMs = options.upcastTimeoutMs;
    this.target = migrationTarget(definition, options.writeVersion, 'any');
  }

  /** `filter`, restricted to documents at the write version. */
  current(filter: Filter<Document>): Filter<Document> {
    return this.target.restrictToTarget(filter) as Filter<Document>;
  }

  /**
   * For single-document updates: looks at the document the filter matches first (by `sort`, when
   * given), whatever its version. `none`: nothing matches. `current`: it is stored at the write
   * version, `id` says which. `stale`: it was migrated here (or the race for it was lost): look again.
   */
  async migrateOne(filter: Filter<Document>, session: ClientSession | undefined, sort?: Sort): Promise<{ state: 'none' | 'current' | 'stale'; id?: unknown }> {
    const stored = await this.#collection.findOne(filter, { ...STORED_BSON_OPTIONS, ...(session ? { session } : {}), ...(sort ? { sort } : {}) });
    if (stored === null) return { state: 'none' };
    const state = readState(snapshotOfStored(stored), this.target);
    if (!state.needsWrite) return { state: 'current', id: state.id };
    await this.#send([storedWrite(state, await this.#atTarget(state.snapshot, state.fromVersion), this.target)], session);
    return { state: 'stale' };
  }

  /**
   * Migrates up to `limit` (default: all) documents matching `filter` that are not stored at the
   * write version. Returns the `_id`s of every one of them, whether this call stored it or lost
   * the race for it (to a writer that may have migrated it too): the caller's update, restricted
   * to the write version, decides. Throws (and the update must not run) when a document cannot be
   * migrated or stored.
   */
  async migrate(filter: Filter<Document>, options: { session?: ClientSession | undefined; limit?: number }): Promise<{ found: number; ids: unknown[] }> {
    const { session } = options;
    const cursor = this.#collection.find(andFilters(filter, this.target.notAtTarget) as Filter<Document>, {
      ...STORED_BSON_OPTIONS,
      ...(session ? { session } : {}),
      ...(options.limit ? { limit: options.limit } : {}),
      batchSize: MIGRATION_BATCH,
    });
    const ids: unknown[] = [];
    let writes: StoredWrite[] = [];
    try {
      for await (const stored of cursor) {
        const state = readState(snapshotOfStored(stored), this.target);
        // Stored at the write version by another writer since the query selected it: writing it
        // back could overwrite that writer's later update.
        if (!state.needsWrite) continue;
        writes.push(storedWrite(state, await this.#atTarget(state.snapshot, state.fromVersion), this.target));
        ids.push(state.id);
        if (writes.length >= MIGRATION_BATCH) {
          await this.#send(writes, session);
          writes = [];
        }
      }
      await this.#send(writes, session);
    } finally {
      await cursor.close();
    }
    if (ids.length > 0) this.#logger?.debug({ found: ids.length }, 'mongo-molt: migrated stale matches before an update');
    return { found: ids.length, ids };
  }

  /**
   * `raw` at the write version. A document newer than a pinned write version is converted down only
   * when nothing is lost (converted back up, it is what is stored): an update must not drop what a
   * newer version holds as a side effect. Dropping it is a decision for `molt sweep --to`.
   */
  async #atTarget(snapshot: StoredSnapshot, storedAt: number | null): Promise<Document> {
    const raw = snapshot.value;
    const options = { to: this.target.version, validate: this.#validate, upcastTimeoutMs: this.#upcastTimeoutMs };
    if (storedAt === null || storedAt <= this.target.version) return (await migrateDocument(this.#definition, workingCopy(snapshot), options, true)).value;
    const down = (await migrateDocument(this.#definition, workingCopy(snapshot), options, true)).value;
    const versionField = this.#definition.versionField;
    const back = (await migrateDocument(this.#definition, { ...down, [versionField]: this.target.version }, { to: storedAt, validate: 'never', upcastTimeoutMs: this.#upcastTimeoutMs }, false)).value;
    const { [versionField]: _version, ...stored } = raw;
    // A field only the round trip has (a default the way up fills in) is no loss.
    const lost = lostFields(stored, back);
    if (lost.length > 0) {
      throw new UpcastError({
        schemaName: this.#definition.name,
        _id: raw._id,
        fromVersion: storedAt,
        toVersion: this.target.version,
        reason: `this update would convert it down to the pinned write version ${this.target.version}, losing what version ${storedAt} holds (${lost.map((key) => `"${key}"`).join(', ')} would not come back)`,
        action: `Nothing was written. Update it with code that writes version ${storedAt}, or convert such documents down on purpose (molt sweep --to ${this.target.version}, with archive: true in the config to keep the originals).`,
      });
    }
    return down;
  }

  async #send(writes: readonly StoredWrite[], session: ClientSession | undefined): Promise<void> {
    if (writes.length === 0) return;
    const outcome: BulkOutcome = await this.#writer.write(writes, session);
    this.#stats.migratedBeforeUpdate += outcome.matched;
    this.#stats.lostRaces += writes.length - outcome.matched - outcome.failures.length;
    const [failure] = outcome.failures;
    if (failure?.tooLarge) throw new DocumentTooLargeError({ schemaName: this.#definition.name, _id: failure.write.id, ...failure.tooLarge });
    if (failure?.fieldNames) throw new UnsupportedFieldNameError({ schemaName: this.#definition.name, _id: failure.write.id, ...failure.fieldNames });
    if (failure !== undefined) {
      throw new DocumentWriteError({ schemaName: this.#definition.name, _id: failure.write.id, code: failure.code, reason: failure.message });
    }
  }
}
