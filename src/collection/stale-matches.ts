import type { AnyBulkWriteOperation, ClientSession, Collection, Document, Filter, Sort } from 'mongodb';
import type { Logger } from 'pino';
import { migrateDocument } from '../migrate/index.js';
import type { SchemaDefinition } from '../schema/types.js';
import { casFilterFor, stampVersion, type CompareOn } from './compare-and-swap.js';
import type { ResolvedOptions } from './options.js';
import type { MutableStats } from './write-back.js';

/** How many stale documents one round of an update migrates per bulk write. */
const MIGRATION_BATCH = 500;

/**
 * Brings the documents an update's filter matches to the write version before the update runs,
 * so that update operators never run on an old shape. Each document is migrated in memory and
 * stored with a compare-and-swap; a lost race is counted and the caller looks again.
 */
export class StaleMatchMigrator {
  readonly #collection: Collection<Document>;
  readonly #definition: SchemaDefinition;
  readonly #writeVersion: number;
  readonly #validate: 'migrated' | 'never';
  readonly #logger: Logger | undefined;
  readonly #stats: MutableStats;
  readonly #compareOn: CompareOn;
  /** Matches every document not at the write version that this code may migrate. */
  readonly #notAtWriteVersion: Filter<Document>;
  /** Matches documents at the write version: the only ones an update touches. */
  readonly atWriteVersion: Filter<Document>;

  constructor(collection: Collection<Document>, definition: SchemaDefinition, options: ResolvedOptions, stats: MutableStats) {
    this.#collection = collection;
    this.#definition = definition;
    this.#writeVersion = options.writeVersion;
    this.#validate = options.validate === 'never' ? 'never' : 'migrated';
    this.#logger = options.logger;
    this.#stats = stats;
    this.#compareOn = options.compareOn;
    const field = definition.versionField;
    this.atWriteVersion = { [field]: options.writeVersion };
    // Documents newer than this code are found here too, and their migration throws a
    // NewerVersionError before anything is written, whatever onNewerVersion says: 'passthrough'
    // hands such documents out on reads, but an update cannot run on a shape this code does not know.
    this.#notAtWriteVersion = { [field]: { $ne: options.writeVersion } };
  }

  /** `filter`, restricted to documents at the write version. */
  current(filter: Filter<Document>): Filter<Document> {
    return and(filter, this.atWriteVersion);
  }

  /**
   * For single-document updates: looks at the document the filter matches first (by `sort`, when
   * given), whatever its version. `none`: nothing matches. `current`: it is at the write version
   * (for an unsorted update that matched nothing: another writer migrated it meanwhile), `id` says
   * which. `stale`: it was migrated here (or the race for it was lost): look again.
   */
  async migrateOne(filter: Filter<Document>, session: ClientSession | undefined, sort?: Sort): Promise<{ state: 'none' | 'current' | 'stale'; id?: unknown }> {
    const raw = await this.#collection.findOne(filter, { ...(session ? { session } : {}), ...(sort ? { sort } : {}) });
    if (raw === null) return { state: 'none' };
    if (raw[this.#definition.versionField] === this.#writeVersion) return { state: 'current', id: raw._id };
    const cas = casFilterFor(raw, this.#definition.versionField, this.#compareOn);
    const result = await migrateDocument(this.#definition, raw, { to: this.#writeVersion, validate: this.#validate }, true);
    const written = await this.#collection.replaceOne(
      cas,
      stampVersion(result.value, this.#definition.versionField, this.#writeVersion),
      session ? { session } : {},
    );
    this.#stats.migratedBeforeUpdate += written.matchedCount;
    this.#stats.lostRaces += 1 - written.matchedCount;
    return { state: 'stale' };
  }

  /**
   * Migrates up to `limit` (default: all) stale documents matching `filter`. Returns how many were
   * found and the `_id`s this call stored. Throws (and writes nothing of the failing batch) when a
   * document cannot be migrated: an update must not run on data it cannot read.
   */
  async migrate(filter: Filter<Document>, options: { session?: ClientSession | undefined; limit?: number }): Promise<{ found: number; migratedIds: unknown[] }> {
    const cursor = this.#collection.find(and(filter, this.#notAtWriteVersion), {
      ...(options.session ? { session: options.session } : {}),
      ...(options.limit ? { limit: options.limit } : {}),
      batchSize: MIGRATION_BATCH,
    });
    let found = 0;
    const migratedIds: unknown[] = [];
    let batch: AnyBulkWriteOperation<Document>[] = [];
    let batchIds: unknown[] = [];
    const send = async (): Promise<void> => {
      if (batch.length === 0) return;
      const result = await this.#collection.bulkWrite(batch, { ordered: false, ...(options.session ? { session: options.session } : {}) });
      // Unordered CAS replaces: which ones matched is not reported, so the ids of this batch are
      // narrowed by the caller's update filter (the write version) anyway.
      this.#stats.migratedBeforeUpdate += result.matchedCount;
      this.#stats.lostRaces += batch.length - result.matchedCount;
      if (result.matchedCount > 0) migratedIds.push(...batchIds);
      batch = [];
      batchIds = [];
    };
    try {
      for await (const raw of cursor) {
        const id: unknown = raw._id;
        const cas = casFilterFor(raw, this.#definition.versionField, this.#compareOn);
        const result = await migrateDocument(this.#definition, raw, { to: this.#writeVersion, validate: this.#validate }, true);
        // Already at the write version (migrated by another writer since the query selected it):
        // writing it back could overwrite that writer's later update.
        if (!result.changed) continue;
        found++;
        batch.push({
          replaceOne: {
            filter: cas,
            replacement: stampVersion(result.value, this.#definition.versionField, this.#writeVersion),
          },
        });
        batchIds.push(id);
        if (batch.length >= MIGRATION_BATCH) await send();
      }
      await send();
    } finally {
      await cursor.close();
    }
    if (found > 0) this.#logger?.debug({ found, migrated: migratedIds.length }, 'mongo-molt: migrated stale matches before an update');
    return { found, migratedIds };
  }
}

/**
 * Both filters: merged into one object when their fields do not overlap (so an upsert takes the
 * version field from it as an equality), else `{ $and: [a, b] }`.
 */
export function and(a: Filter<Document>, b: Filter<Document>): Filter<Document> {
  for (const key of Object.keys(b)) {
    if (key in a) return { $and: [a, b] };
  }
  return { ...a, ...b };
}
