import type {
  BulkWriteOptions,
  Collection,
  CountDocumentsOptions,
  DeleteOptions,
  DeleteResult,
  DistinctOptions,
  Document,
  EstimatedDocumentCountOptions,
  Filter,
  FindOneAndDeleteOptions,
  FindOneAndReplaceOptions,
  FindOneAndUpdateOptions,
  FindOptions,
  InsertManyResult,
  InsertOneOptions,
  InsertOneResult,
  ModifyResult,
  OptionalUnlessRequiredId,
  ReplaceOptions,
  Sort,
  UpdateFilter,
  UpdateOptions,
  UpdateResult,
  WithId,
  WithoutId,
} from 'mongodb';
import { BSON } from 'mongodb';
import { InvalidOptionError, MoltError, NewerVersionError } from '../errors.js';
import { isPromiseLike, migrateDocument, validateVersion } from '../migrate/index.js';
import type { AnyVersionedSchema, Infer, VersionOf } from '../schema/index.js';
import type { SchemaDefinition } from '../schema/types.js';
import { stampVersion } from './compare-and-swap.js';
import { VersionedCursor } from './cursor.js';
import { resolveOptions, type ResolvedOptions, type VersionedCollectionOptions } from './options.js';
import { compileProjection } from './projection.js';
import { DocumentReader } from './reader.js';
import { and, StaleMatchMigrator } from './stale-matches.js';
import { checkUpdate } from './update-fields.js';
import type { DistinctValue } from '../types/distinct.js';
import type {
  PathOf,
  Projected,
  VersionedFilter,
  VersionedFindOneAndDeleteOptions,
  VersionedFindOneAndReplaceOptions,
  VersionedFindOneAndUpdateOptions,
  VersionedFindOptions,
  VersionedProjection,
  VersionedUpdateOptions,
  VersionedUpdateOrPipeline,
} from '../types/index.js';
import { createStats, WriteBackQueue, type MutableStats, type WriteBackStats } from './write-back.js';

/** An update that keeps finding freshly written stale documents gives up after this many rounds. */
const MAX_UPDATE_ROUNDS = 50;
const WRITE_ACTION = 'Nothing was written; pass a document of the latest shape.';

/**
 * A MongoDB collection whose documents are always handed out at the latest version of a schema
 * and written at the write version. Method names, arguments and options are the driver's.
 * @public
 */
export class VersionedCollection<T extends Document> {
  /** The driver's collection, for what the wrapper does not cover (aggregate, indexes). No upcasting. */
  readonly collection: Collection<Document>;
  /** The schema documents are read and written with. */
  readonly schema: AnyVersionedSchema;
  readonly #definition: SchemaDefinition;
  readonly #options: ResolvedOptions;
  readonly #reader: DocumentReader;
  readonly #writeBack: WriteBackQueue | undefined;
  readonly #stale: StaleMatchMigrator;
  readonly #stats: MutableStats;
  /** Documents this code knows: a replacement never overwrites a document written by newer code. */
  readonly #notNewer: Filter<Document>;

  /** Use `versioned(collection, schema, options)`. */
  constructor(collection: Collection<Document>, schema: AnyVersionedSchema, options: VersionedCollectionOptions = {}) {
    this.collection = collection;
    this.schema = schema;
    this.#definition = schema.definition;
    this.#options = resolveOptions(this.#definition, options);
    this.#stats = createStats();
    const { logger, writeBackBatchSize } = this.#options;
    this.#writeBack = this.#options.writeBackOnRead
      ? new WriteBackQueue(collection, this.#definition.versionField, writeBackBatchSize, logger, this.#stats)
      : undefined;
    this.#reader = new DocumentReader(this.#definition, this.#options, this.#writeBack, this.#stats);
    this.#stale = new StaleMatchMigrator(collection, this.#definition, this.#options, this.#stats);
    this.#notNewer = { [this.#definition.versionField]: { $not: { $gt: this.#definition.latest } } } as Filter<Document>;
  }

  /** The version new writes are stored at. */
  get writeVersion(): number {
    return this.#options.writeVersion;
  }

  /** What the wrapper did on its own so far: upcasts on read, write-backs, lost compare-and-swaps. */
  get stats(): WriteBackStats {
    return { ...this.#stats };
  }

  // --- reads -------------------------------------------------------------------------------

  /** As `Collection.findOne`; the document is upcast to the latest shape. */
  async findOne<const P extends VersionedProjection<T> | undefined = undefined>(
    filter: VersionedFilter<T> = {},
    options: VersionedFindOptions<T, P> = {},
  ): Promise<Projected<T, P> | null> {
    const { projection } = options;
    const raw = await this.collection.findOne(filter as Filter<Document>, withoutProjection(options));
    if (raw === null) return null;
    const doc = await this.#reader.read(raw);
    return (projection ? compileProjection(projection).apply(doc) : doc) as Projected<T, P>;
  }

  /** As `Collection.find`: a cursor of latest-shape documents. */
  find<const P extends VersionedProjection<T> | undefined = undefined>(
    filter: VersionedFilter<T> = {},
    options: VersionedFindOptions<T, P> = {},
  ): VersionedCursor<Projected<T, P>, T> {
    const { projection } = options;
    const cursor = this.collection.find(filter as Filter<Document>, withoutProjection(options));
    return VersionedCursor.open<Projected<T, P>, T>(cursor, this.#reader, projection ? compileProjection(projection) : undefined);
  }

  /** As `Collection.countDocuments` (counts stored documents, whatever their version). */
  countDocuments(filter: VersionedFilter<T> = {}, options: CountDocumentsOptions = {}): Promise<number> {
    return this.collection.countDocuments(filter as Filter<Document>, options);
  }

  /** As `Collection.estimatedDocumentCount`. */
  estimatedDocumentCount(options: EstimatedDocumentCountOptions = {}): Promise<number> {
    return this.collection.estimatedDocumentCount(options);
  }

  /**
   * As `Collection.distinct`, over the latest shape: documents at the latest version are asked of
   * the server; stale ones matching the filter are upcast and their values merged in.
   */
  async distinct<const K extends PathOf<WithId<T>>>(key: K, filter: VersionedFilter<T> = {}, options: DistinctOptions = {}): Promise<DistinctValue<T, K>[]> {
    const field = this.#definition.versionField;
    const base = filter as Filter<Document>;
    const current = await this.collection.distinct(key, and(base, { [field]: this.#definition.latest }), options);
    const seen = new Map<string, unknown>();
    for (const value of current) seen.set(distinctKey(value), value);
    const staleOptions = options.session ? { session: options.session } : {};
    for await (const raw of this.collection.find(and(base, { [field]: { $ne: this.#definition.latest } }), staleOptions)) {
      const doc = await this.#reader.read(raw);
      for (const value of valuesAt(doc, key.split('.'))) {
        const mapKey = distinctKey(value);
        if (!seen.has(mapKey)) seen.set(mapKey, value);
      }
    }
    return [...seen.values()] as DistinctValue<T, K>[];
  }

  // --- writes ------------------------------------------------------------------------------

  /** As `Collection.insertOne`; the document is validated and stored at the write version. */
  async insertOne(doc: OptionalUnlessRequiredId<T>, options: InsertOneOptions = {}): Promise<InsertOneResult<T>> {
    const stored = await this.#prepareWrite(doc);
    const result = await this.collection.insertOne(stored, options);
    adoptId(doc, stored);
    return result as InsertOneResult<T>;
  }

  /** As `Collection.insertMany`; every document is validated first: an invalid one means none is written. */
  async insertMany(docs: readonly OptionalUnlessRequiredId<T>[], options: BulkWriteOptions = {}): Promise<InsertManyResult<T>> {
    if (!Array.isArray(docs)) throw new InvalidOptionError('docs', 'insertMany expects an array of documents.');
    const stored = await Promise.all(docs.map((doc) => this.#prepareWrite(doc)));
    const result = await this.collection.insertMany(stored, options);
    docs.forEach((doc, index) => adoptId(doc, stored[index] as Document));
    return result as InsertManyResult<T>;
  }

  /** As `Collection.replaceOne`; the replacement is validated and stored at the write version. */
  async replaceOne(filter: VersionedFilter<T>, replacement: WithoutId<T>, options: ReplaceOptions = {}): Promise<UpdateResult<T>> {
    const stored = await this.#prepareWrite(replacement, true);
    const base = filter as Filter<Document>;
    const result = await this.#refuseNewer(base, () => this.collection.replaceOne(and(base, this.#notNewer), stored, options));
    if (result.matchedCount === 0 && result.upsertedCount === 0) await this.#throwIfNewerMatches(base, options.session);
    return result as UpdateResult<T>;
  }

  /**
   * As `Collection.updateOne`. Stale documents the filter matches are migrated first (with
   * compare-and-swap); the operators then run only on a document at the write version.
   */
  async updateOne(filter: VersionedFilter<T>, update: VersionedUpdateOrPipeline<T>, options: VersionedUpdateOptions<T> = {}): Promise<UpdateResult<T>> {
    checkUpdate(this.#definition, this.#options.writeVersion, update as Document);
    const base = filter as Filter<Document>;
    const session = options.session;
    // A sort picks the target here, by `_id`: the server is not asked to sort (only MongoDB 8 can).
    const { sort, ...updateOptions } = options;
    const run = (target: Filter<Document>) => this.collection.updateOne(target, update as UpdateFilter<Document>, updateOptions);
    if (sort !== undefined) return (await this.#updateFirstBySort(base, sort as Sort, session, run)) as UpdateResult<T>;
    if (options.upsert) {
      await this.#migrateUntilNoneStale(base, session, 1);
      return (await run(this.#stale.current(base))) as UpdateResult<T>;
    }
    for (let round = 0; round < MAX_UPDATE_ROUNDS; round++) {
      const result = await run(this.#stale.current(base));
      if (result.matchedCount > 0) return result as UpdateResult<T>;
      if ((await this.#stale.migrateOne(base, session)).state === 'none') return result as UpdateResult<T>;
    }
    throw tooManyRounds('updateOne');
  }

  /**
   * As `Collection.updateMany`: migrates every stale match, updates the documents at the write
   * version, then repeats for documents that turned up stale meanwhile (written by older code).
   */
  async updateMany(filter: VersionedFilter<T>, update: VersionedUpdateOrPipeline<T>, options: UpdateOptions = {}): Promise<UpdateResult<T>> {
    checkUpdate(this.#definition, this.#options.writeVersion, update as Document);
    const base = filter as Filter<Document>;
    const session = options.session;
    await this.#migrateUntilNoneStale(base, session);
    const first = await this.collection.updateMany(this.#stale.current(base), update as UpdateFilter<Document>, options);
    let matchedCount = first.matchedCount;
    let modifiedCount = first.modifiedCount;
    const { upsert: _upsert, ...lateOptions } = options;
    for (let round = 0; round < MAX_UPDATE_ROUNDS; round++) {
      const { found, migratedIds } = await this.#stale.migrate(base, { session });
      if (found === 0) return { ...first, matchedCount, modifiedCount } as UpdateResult<T>;
      if (migratedIds.length === 0) continue;
      const late = await this.collection.updateMany(
        and(this.#stale.current(base), { _id: { $in: migratedIds } } as Filter<Document>),
        update as UpdateFilter<Document>,
        lateOptions,
      );
      matchedCount += late.matchedCount;
      modifiedCount += late.modifiedCount;
    }
    throw tooManyRounds('updateMany');
  }

  /** As `Collection.findOneAndUpdate`, with `updateOne`'s migration first; the document returned is upcast. */
  findOneAndUpdate(filter: VersionedFilter<T>, update: VersionedUpdateOrPipeline<T>, options: VersionedFindOneAndUpdateOptions<T> & { includeResultMetadata: true }): Promise<ModifyResult<T>>;
  findOneAndUpdate(filter: VersionedFilter<T>, update: VersionedUpdateOrPipeline<T>, options?: VersionedFindOneAndUpdateOptions<T>): Promise<WithId<T> | null>;
  async findOneAndUpdate(filter: VersionedFilter<T>, update: VersionedUpdateOrPipeline<T>, options: VersionedFindOneAndUpdateOptions<T> = {}): Promise<WithId<T> | null | ModifyResult<T>> {
    checkUpdate(this.#definition, this.#options.writeVersion, update as Document);
    const base = filter as Filter<Document>;
    const session = options.session;
    const rawOptions = { ...(options as FindOneAndUpdateOptions), includeResultMetadata: true as const };
    const run = (target: Filter<Document>) => this.collection.findOneAndUpdate(target, update as UpdateFilter<Document>, rawOptions);
    const matched = (result: ModifyResult<Document>) => Boolean(result.lastErrorObject?.n) || result.value !== null;
    if (options.sort !== undefined) {
      const result = await this.#updateFirstBySort(base, options.sort as Sort, session, run, matched);
      return this.#modifyResult(result, options.includeResultMetadata === true);
    }
    if (options.upsert) await this.#migrateUntilNoneStale(base, session, 1);
    for (let round = 0; round < MAX_UPDATE_ROUNDS; round++) {
      const result = await run(this.#stale.current(base));
      if (!matched(result) && !options.upsert && (await this.#stale.migrateOne(base, session)).state !== 'none') continue;
      return this.#modifyResult(result, options.includeResultMetadata === true);
    }
    throw tooManyRounds('findOneAndUpdate');
  }

  /** As `Collection.findOneAndReplace`; the replacement is validated and stored at the write version. */
  findOneAndReplace(filter: VersionedFilter<T>, replacement: WithoutId<T>, options: VersionedFindOneAndReplaceOptions<T> & { includeResultMetadata: true }): Promise<ModifyResult<T>>;
  findOneAndReplace(filter: VersionedFilter<T>, replacement: WithoutId<T>, options?: VersionedFindOneAndReplaceOptions<T>): Promise<WithId<T> | null>;
  async findOneAndReplace(filter: VersionedFilter<T>, replacement: WithoutId<T>, options: VersionedFindOneAndReplaceOptions<T> = {}): Promise<WithId<T> | null | ModifyResult<T>> {
    const stored = await this.#prepareWrite(replacement, true);
    const base = filter as Filter<Document>;
    const result = await this.#refuseNewer(base, () => this.collection.findOneAndReplace(and(base, this.#notNewer), stored, { ...(options as FindOneAndReplaceOptions), includeResultMetadata: true }));
    if (!result.lastErrorObject?.n && result.value === null) await this.#throwIfNewerMatches(base, options.session);
    return this.#modifyResult(result, options.includeResultMetadata === true);
  }

  /** As `Collection.findOneAndDelete`; the deleted document is returned upcast. */
  findOneAndDelete(filter: VersionedFilter<T>, options: VersionedFindOneAndDeleteOptions<T> & { includeResultMetadata: true }): Promise<ModifyResult<T>>;
  findOneAndDelete(filter: VersionedFilter<T>, options?: VersionedFindOneAndDeleteOptions<T>): Promise<WithId<T> | null>;
  async findOneAndDelete(filter: VersionedFilter<T>, options: VersionedFindOneAndDeleteOptions<T> = {}): Promise<WithId<T> | null | ModifyResult<T>> {
    const result = await this.collection.findOneAndDelete(filter as Filter<Document>, { ...(options as FindOneAndDeleteOptions), includeResultMetadata: true });
    return this.#modifyResult(result, options.includeResultMetadata === true);
  }

  /** As `Collection.deleteOne` (passes through). */
  deleteOne(filter: VersionedFilter<T> = {}, options: DeleteOptions = {}): Promise<DeleteResult> {
    return this.collection.deleteOne(filter as Filter<Document>, options);
  }

  /** As `Collection.deleteMany` (passes through). */
  deleteMany(filter: VersionedFilter<T> = {}, options: DeleteOptions = {}): Promise<DeleteResult> {
    return this.collection.deleteMany(filter as Filter<Document>, options);
  }

  // --- lifecycle -----------------------------------------------------------------------------

  /** Waits until every pending write-back has been sent and answered. Never rejects. */
  async flush(): Promise<void> {
    await this.#writeBack?.flush();
  }

  /** Flushes pending write-backs; call before closing the `MongoClient`. The collection stays usable. */
  close(): Promise<void> {
    return this.flush();
  }

  // --- internals -----------------------------------------------------------------------------

  /**
   * A single-document update with a `sort`: the document the sort puts first, whatever its
   * version, is migrated if it is stale, then updated by `_id` (with the filter, at the write
   * version). If it changed in between, the sort is asked again.
   */
  async #updateFirstBySort<R>(
    filter: Filter<Document>,
    sort: Sort,
    session: UpdateOptions['session'],
    run: (target: Filter<Document>) => Promise<R>,
    matched: (result: R) => boolean = (result) => (result as { matchedCount: number }).matchedCount > 0,
  ): Promise<R> {
    for (let round = 0; round < MAX_UPDATE_ROUNDS; round++) {
      const first = await this.#stale.migrateOne(filter, session, sort);
      if (first.state === 'stale') continue;
      // Nothing matches: the update answers that (or, with upsert, inserts at the write version).
      if (first.state === 'none') return run(this.#stale.current(filter));
      const result = await run(and(this.#stale.current(filter), { _id: first.id } as Filter<Document>));
      if (matched(result)) return result;
    }
    throw tooManyRounds('a sorted update');
  }

  /** Migrates stale matches until none remains (or `limit` at a time, for single-document writes). */
  async #migrateUntilNoneStale(filter: Filter<Document>, session: UpdateOptions['session'], limit?: number): Promise<void> {
    for (let round = 0; round < MAX_UPDATE_ROUNDS; round++) {
      const { found } = await this.#stale.migrate(filter, limit === undefined ? { session } : { session, limit });
      if (found === 0) return;
    }
    throw tooManyRounds('an update');
  }

  /** A replacement that matched nothing: if that is because the match is newer than this code, say so. */
  async #throwIfNewerMatches(filter: Filter<Document>, session: ReplaceOptions['session']): Promise<void> {
    const field = this.#definition.versionField;
    const newer = await this.collection.findOne(and(filter, { [field]: { $gt: this.#definition.latest } }), session ? { session } : {});
    if (newer !== null) {
      throw new NewerVersionError({ schemaName: this.#definition.name, _id: newer._id, version: newer[field] as number, latestVersion: this.#definition.latest });
    }
  }

  /** An upsert that collides with a newer document (same `_id`) is that document's NewerVersionError, not a duplicate key. */
  async #refuseNewer<R>(filter: Filter<Document>, write: () => Promise<R>): Promise<R> {
    try {
      return await write();
    } catch (error) {
      if ((error as { code?: unknown }).code === 11000) await this.#throwIfNewerMatches(filter, undefined);
      throw error;
    }
  }

  /** Validates a latest-shape document and turns it into what is stored at the write version. */
  async #prepareWrite(doc: unknown, isReplacement = false): Promise<Document> {
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
      throw new InvalidOptionError('document', `a write expects a document (a plain object), got ${doc === null ? 'null' : Array.isArray(doc) ? 'an array' : typeof doc}.`);
    }
    const definition = this.#definition;
    const { [definition.versionField]: _ignored, ...value } = doc as Document;
    const { writeVersion } = this.#options;
    const id: unknown = value._id;
    const latestCheck = validateVersion(definition, definition.latest, value, id, WRITE_ACTION, isReplacement);
    if (isPromiseLike(latestCheck)) await latestCheck;
    if (writeVersion === definition.latest) return stampVersion(value, definition.versionField, writeVersion);
    const down = await migrateDocument(definition, stampVersion(value, definition.versionField, definition.latest), { to: writeVersion, validate: 'never' }, false);
    // A replacement without `_id` keeps the stored one: a downcaster's `_id: undefined` must not replace it.
    if (isReplacement && id === undefined) delete down.value._id;
    const pinnedCheck = validateVersion(definition, writeVersion, down.value, id, WRITE_ACTION, isReplacement);
    if (isPromiseLike(pinnedCheck)) await pinnedCheck;
    return stampVersion(down.value, definition.versionField, writeVersion);
  }

  async #modifyResult(result: ModifyResult<Document>, withMetadata: boolean): Promise<WithId<T> | null | ModifyResult<T>> {
    const value = result.value === null ? null : ((await this.#reader.read(result.value)) as WithId<T>);
    return withMetadata ? ({ ...result, value } as ModifyResult<T>) : value;
  }
}

/**
 * Wraps a driver collection: reads hand out documents of the schema's latest shape, writes store
 * the write version, updates never run on an old shape.
 *
 * ```ts
 * const users = versioned(db.collection('users'), User, { writeBackOnRead: true });
 * const ada = await users.findOne({ _id: 'ada' }); // latest shape, whatever is stored
 * ```
 * @public
 */
export function versioned<S extends AnyVersionedSchema, C extends Document = Document>(
  collection: Collection<C>,
  schema: S,
  options: VersionedCollectionOptions<VersionOf<S>> = {},
): VersionedCollection<DocumentOf<S>> {
  if (typeof collection !== 'object' || collection === null || typeof (collection as { find?: unknown }).find !== 'function') {
    throw new InvalidOptionError('collection', 'versioned() expects a driver Collection, e.g. db.collection("users").');
  }
  if (typeof schema !== 'object' || schema === null || !('definition' in schema)) {
    throw new InvalidOptionError('schema', 'versioned() expects a schema from defineSchema(...).version(...).');
  }
  return new VersionedCollection<DocumentOf<S>>(collection as unknown as Collection<Document>, schema, options);
}

/** The document type a schema's collection hands out: the latest version's output. @public */
export type DocumentOf<S extends AnyVersionedSchema> = Infer<S> extends Document ? Infer<S> : never;

/** Documents are fetched whole: the projection applies to the latest shape, after the upcast. */
function withoutProjection(options: { readonly projection?: unknown; readonly sort?: unknown }): FindOptions {
  const { projection: _projection, ...rest } = options;
  return rest as FindOptions;
}

/** The driver sets `_id` on the documents it inserts; the app's own object gets it too. */
function adoptId(original: unknown, stored: Document): void {
  const target = original as Document;
  if (target._id === undefined && stored._id !== undefined) target._id = stored._id;
}

function tooManyRounds(operation: string): MoltError {
  return new MoltError(
    `${operation} kept finding stale documents after ${MAX_UPDATE_ROUNDS} rounds of migration: something keeps writing old versions concurrently. Retry, or pin writeVersion in the older code.`,
  );
}

function distinctKey(value: unknown): string {
  return Buffer.from(BSON.serialize({ v: value })).toString('base64');
}

/** The values `distinct` collects at a dotted path: arrays are unwound, as the server does. */
function valuesAt(value: unknown, path: readonly string[]): unknown[] {
  if (Array.isArray(value)) return value.flatMap((item) => valuesAt(item, path));
  if (path.length === 0) return value === undefined ? [] : [value];
  if (typeof value !== 'object' || value === null) return [];
  const [head, ...rest] = path;
  return valuesAt((value as Document)[head as string], rest);
}
