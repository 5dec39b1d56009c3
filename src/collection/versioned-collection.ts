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
import { InvalidOptionError, NewerVersionError } from '../errors.js';
import { andFilters } from '../migrate/index.js';
import type { z } from 'zod';
import type { AnyVersionedSchema, Infer, VersionedSchema, VersionOf } from '../schema/index.js';
import type { OutputAt } from '../schema/version-types.js';
import { definitionOf } from '../schema/definition.js';
import type { SchemaDefinition } from '../schema/types.js';
import { databaseOf, matchedAny, ownView, serverCapabilities } from '../server/index.js';
import { Archive, BulkWriter } from '../storage/index.js';
import { VersionedCursor } from './cursor.js';
import { distinctLatest } from './distinct.js';
import { resolveOptions, type ResolvedOptions, type VersionedCollectionOptions } from './options.js';
import { prepareWrite } from './prepare-write.js';
import { hasDeclarativeSteps, QueryPlanner, type QueryFilters } from './queries.js';
import { ServerFormTrust } from './server-form-trust.js';
import { ShadowReader } from './shadow.js';
import { compileProjection } from './projection.js';
import { DocumentReader } from './reader.js';
import { StaleMatchMigrator } from './stale-matches.js';
import { UpdateRunner } from './updates.js';
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
import { ReadTelemetry } from '../telemetry/index.js';
import { createStats, WriteBackQueue, type MutableStats, type WriteBackStats } from './write-back.js';

/**
 * A MongoDB collection whose documents are always handed out at the latest version of a schema
 * and written at the write version. Method names, arguments and options are the driver's.
 * `T` is the document read (the latest version's output), `W` what inserts and replacements take
 * (its input: `.default()` fields may be left out, they are filled in), `U` the shape update
 * operators run on (the write version's: the latest unless writes are pinned).
 * @public
 */
export class VersionedCollection<T extends Document, W extends Document = T, U extends Document = T> {
  /** The driver's collection, for what the wrapper does not cover (aggregate, indexes). No upcasting. */
  readonly collection: Collection<Document>;
  /** The schema documents are read and written with. */
  readonly schema: AnyVersionedSchema;
  readonly #definition: SchemaDefinition;
  readonly #options: ResolvedOptions;
  readonly #reader: DocumentReader;
  readonly #writeBack: WriteBackQueue | undefined;
  readonly #updates: UpdateRunner;
  readonly #queries: QueryPlanner;
  readonly #serverForms: ServerFormTrust;
  readonly #shadow: ShadowReader | undefined;
  readonly #stats: MutableStats;
  /** Documents this code knows: a replacement never overwrites a document written by newer code. */
  readonly #notNewer: Filter<Document>;

  /** Use `versioned(collection, schema, options)`. */
  constructor(collection: Collection<Document>, schema: AnyVersionedSchema, options: VersionedCollectionOptions = {}) {
    this.collection = collection;
    this.schema = schema;
    this.#definition = definitionOf(schema);
    this.#options = resolveOptions(this.#definition, options);
    this.#stats = createStats();
    const telemetry = ReadTelemetry.for({ db: collection.dbName, collection: collection.collectionName, schema: this.#definition.name });
    const { logger, writeBackBatchSize } = this.#options;
    // One writer for write-backs and update-time migration, within the server's bulk limit.
    // The library's own reads and writes run on a view with its BSON options, never the app's.
    const own = ownView(collection);
    const writer = new BulkWriter(own, { capabilities: () => serverCapabilities(databaseOf(collection)), log: logger });
    const { archiveOnWriteBack, archiveCollection, archiveTtlMs, writeVersion } = this.#options;
    const archive = archiveOnWriteBack ? { archive: new Archive(databaseOf(collection), archiveCollection, collection.collectionName, archiveTtlMs), version: writeVersion } : undefined;
    this.#writeBack = this.#options.writeBackOnRead ? new WriteBackQueue(writer, writeBackBatchSize, logger, this.#stats, archive, telemetry) : undefined;
    const { shadow, shadowRate, shadowQueueSize } = this.#options;
    this.#shadow = shadow === undefined ? undefined : new ShadowReader(this.#definition, shadow, { rate: shadowRate, maxQueue: shadowQueueSize, logger });
    this.#reader = new DocumentReader(this.#definition, this.#options, this.#writeBack, this.#stats, this.#shadow, telemetry);
    const stale = new StaleMatchMigrator(own, this.#definition, this.#options, this.#stats, writer);
    this.#updates = new UpdateRunner(collection, this.#definition, this.#options.writeVersion, stale, () => serverCapabilities(databaseOf(collection)));
    this.#notNewer = { [this.#definition.versionField]: { $not: { $gt: this.#definition.latest } } } as Filter<Document>;
    this.#serverForms = new ServerFormTrust(collection, this.#definition);
    this.#queries = new QueryPlanner(this.#definition, {
      translate: this.#options.translateQueries === undefined ? hasDeclarativeSteps(this.#definition) : this.#options.translateQueries !== false,
      strict: this.#options.translateQueries !== 'as-written',
      writeVersion: this.#options.writeVersion,
    });
  }

  /** The filter as the server sees it (checked, and translated for every stored version). */
  async #stored(filter: VersionedFilter<T> | undefined): Promise<Filter<Document>> {
    return (await this.#filters(filter)).stored;
  }

  /** The filters checked and translated, once the server forms they compare through are known to agree with `up` here. */
  async #filters(filter: VersionedFilter<T> | undefined): Promise<QueryFilters> {
    const filters = this.#queries.filter(filter as Filter<Document>);
    if (filters.serverForms.length > 0) await this.#serverForms.check(filters.serverForms);
    return filters;
  }

  /** The version new writes are stored at. */
  get writeVersion(): number {
    return this.#options.writeVersion;
  }

  /** What the wrapper did on its own so far: upcasts on read, write-backs, lost compare-and-swaps. */
  get stats(): WriteBackStats {
    return this.#shadow === undefined ? { ...this.#stats } : { ...this.#stats, shadow: { ...this.#shadow.stats } };
  }

  // --- reads -------------------------------------------------------------------------------

  /** As `Collection.findOne`; the document is upcast to the latest shape. */
  async findOne<const P extends VersionedProjection<T> | undefined = undefined>(
    filter: VersionedFilter<T> = {},
    options: VersionedFindOptions<T, P> = {},
  ): Promise<Projected<T, P> | null> {
    const { projection } = options;
    // Options are checked before any I/O, whatever the data: a projection that matches nothing is still refused.
    const compiled = projection ? compileProjection(projection) : undefined;
    this.#queries.sort(options.sort as Sort | undefined);
    const findOptions = withoutProjection(options);
    // Write-backs are built from the stored bytes: read them raw, decoded here with the app's options.
    const raw = await this.collection.findOne(await this.#stored(filter), this.#reader.wantsBytes ? { ...findOptions, raw: true } : findOptions);
    if (raw === null) return null;
    const doc = await this.#reader.read(raw as Document | Uint8Array, { ...this.collection.bsonOptions, ...findOptions });
    return (compiled ? compiled.apply(doc) : doc) as Projected<T, P>;
  }

  /** As `Collection.find`: a cursor of latest-shape documents. */
  find<const P extends VersionedProjection<T> | undefined = undefined>(
    filter: VersionedFilter<T> = {},
    options: VersionedFindOptions<T, P> = {},
  ): VersionedCursor<Projected<T, P>, T> {
    const { projection } = options;
    this.#queries.sort(options.sort as Sort | undefined);
    const findOptions = withoutProjection(options);
    // Write-backs are built from the stored bytes: read them raw, decoded by the cursor with the app's options.
    const filters = this.#queries.filter(filter as Filter<Document>);
    const cursor = this.collection.find(filters.stored, this.#reader.wantsBytes ? { ...findOptions, raw: true } : findOptions);
    const decode = { ...this.collection.bsonOptions, ...findOptions };
    // The cursor is handed out at once (as the driver's is); its first read waits for the server forms' check.
    const ready = filters.serverForms.length > 0 ? () => this.#serverForms.check(filters.serverForms) : undefined;
    return VersionedCursor.open<Projected<T, P>, T>(cursor, this.#reader, projection ? compileProjection(projection) : undefined, (sort) => this.#queries.sort(sort), decode, ready);
  }

  /** As `Collection.countDocuments` (counts stored documents, whatever their version). */
  async countDocuments(filter: VersionedFilter<T> = {}, options: CountDocumentsOptions = {}): Promise<number> {
    return this.collection.countDocuments(await this.#stored(filter), options);
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
    return (await distinctLatest(this.collection, this.#definition, this.#reader, key, await this.#stored(filter), options)) as DistinctValue<T, K>[];
  }

  // --- writes ------------------------------------------------------------------------------

  /** As `Collection.insertOne`; the document is validated and stored at the write version. */
  async insertOne(doc: OptionalUnlessRequiredId<W>, options: InsertOneOptions = {}): Promise<InsertOneResult<T>> {
    const stored = await this.#prepareWrite(doc);
    const result = await this.collection.insertOne(stored, options);
    adoptId(doc, stored);
    return result as InsertOneResult<T>;
  }

  /** As `Collection.insertMany`; every document is validated first: an invalid one means none is written. */
  async insertMany(docs: readonly OptionalUnlessRequiredId<W>[], options: BulkWriteOptions = {}): Promise<InsertManyResult<T>> {
    if (!Array.isArray(docs)) throw new InvalidOptionError('docs', 'insertMany expects an array of documents.');
    const stored = await Promise.all(docs.map((doc) => this.#prepareWrite(doc)));
    const result = await this.collection.insertMany(stored, options);
    docs.forEach((doc, index) => adoptId(doc, stored[index] as Document));
    return result as InsertManyResult<T>;
  }

  /** As `Collection.replaceOne`; the replacement is validated and stored at the write version. */
  async replaceOne(filter: VersionedFilter<T>, replacement: WithoutId<W>, options: ReplaceOptions = {}): Promise<UpdateResult<T>> {
    const base = await this.#stored(filter);
    const stored = await this.#prepareWrite(replacement, true);
    const result = await this.#refuseNewer(base, () => this.collection.replaceOne(andFilters(base, this.#notNewer) as Filter<Document>, stored, options));
    if (!matchedAny(result)) await this.#throwIfNewerMatches(base, options.session);
    return result as UpdateResult<T>;
  }

  /**
   * As `Collection.updateOne`. The document the update touches is migrated first if it is stale
   * (with compare-and-swap); the operators then run only on a document at the write version.
   * With `upsert`, the document it would insert is validated against the write version's schema
   * and stored with its defaults (an invalid one is a `ValidationError` when nothing matches).
   */
  async updateOne(filter: VersionedFilter<T>, update: VersionedUpdateOrPipeline<U>, options: VersionedUpdateOptions<T> = {}): Promise<UpdateResult<T>> {
    if (options.sort !== undefined) this.#queries.sort(options.sort as Sort);
    return (await this.#updates.updateOne(await this.#filters(filter), update as UpdateFilter<Document>, options as UpdateOptions & { sort?: Sort })) as UpdateResult<T>;
  }

  /**
   * As `Collection.updateMany`: migrates every stale match, updates the documents at the write
   * version, then repeats for documents that turned up stale meanwhile (written by older code).
   */
  async updateMany(filter: VersionedFilter<T>, update: VersionedUpdateOrPipeline<U>, options: UpdateOptions = {}): Promise<UpdateResult<T>> {
    return (await this.#updates.updateMany(await this.#filters(filter), update as UpdateFilter<Document>, options)) as UpdateResult<T>;
  }

  /** As `Collection.findOneAndUpdate`, with `updateOne`'s migration first; the document returned is upcast. */
  findOneAndUpdate(filter: VersionedFilter<T>, update: VersionedUpdateOrPipeline<U>, options: VersionedFindOneAndUpdateOptions<T> & { includeResultMetadata: true }): Promise<ModifyResult<T>>;
  findOneAndUpdate(filter: VersionedFilter<T>, update: VersionedUpdateOrPipeline<U>, options?: VersionedFindOneAndUpdateOptions<T>): Promise<WithId<T> | null>;
  async findOneAndUpdate(filter: VersionedFilter<T>, update: VersionedUpdateOrPipeline<U>, options: VersionedFindOneAndUpdateOptions<T> = {}): Promise<WithId<T> | null | ModifyResult<T>> {
    this.#queries.sort(options.sort as Sort | undefined);
    const result = await this.#updates.findOneAndUpdate(await this.#filters(filter), update as UpdateFilter<Document>, options as FindOneAndUpdateOptions);
    return this.#modifyResult(result, options.includeResultMetadata === true);
  }

  /** As `Collection.findOneAndReplace`; the replacement is validated and stored at the write version. */
  findOneAndReplace(filter: VersionedFilter<T>, replacement: WithoutId<W>, options: VersionedFindOneAndReplaceOptions<T> & { includeResultMetadata: true }): Promise<ModifyResult<T>>;
  findOneAndReplace(filter: VersionedFilter<T>, replacement: WithoutId<W>, options?: VersionedFindOneAndReplaceOptions<T>): Promise<WithId<T> | null>;
  async findOneAndReplace(filter: VersionedFilter<T>, replacement: WithoutId<W>, options: VersionedFindOneAndReplaceOptions<T> = {}): Promise<WithId<T> | null | ModifyResult<T>> {
    const base = await this.#stored(filter);
    const stored = await this.#prepareWrite(replacement, true);
    const result = await this.#refuseNewer(base, () => this.collection.findOneAndReplace(andFilters(base, this.#notNewer) as Filter<Document>, stored, { ...(options as FindOneAndReplaceOptions), includeResultMetadata: true }));
    if (!matchedAny(result)) await this.#throwIfNewerMatches(base, options.session);
    return this.#modifyResult(result, options.includeResultMetadata === true);
  }

  /** As `Collection.findOneAndDelete`; the deleted document is returned upcast. */
  findOneAndDelete(filter: VersionedFilter<T>, options: VersionedFindOneAndDeleteOptions<T> & { includeResultMetadata: true }): Promise<ModifyResult<T>>;
  findOneAndDelete(filter: VersionedFilter<T>, options?: VersionedFindOneAndDeleteOptions<T>): Promise<WithId<T> | null>;
  async findOneAndDelete(filter: VersionedFilter<T>, options: VersionedFindOneAndDeleteOptions<T> = {}): Promise<WithId<T> | null | ModifyResult<T>> {
    this.#queries.sort(options.sort as Sort | undefined);
    const result = await this.collection.findOneAndDelete(await this.#stored(filter), { ...(options as FindOneAndDeleteOptions), includeResultMetadata: true });
    return this.#modifyResult(result, options.includeResultMetadata === true);
  }

  /** As `Collection.deleteOne` (passes through). */
  async deleteOne(filter: VersionedFilter<T> = {}, options: DeleteOptions = {}): Promise<DeleteResult> {
    return this.collection.deleteOne(await this.#stored(filter), options);
  }

  /** As `Collection.deleteMany` (passes through). */
  async deleteMany(filter: VersionedFilter<T> = {}, options: DeleteOptions = {}): Promise<DeleteResult> {
    return this.collection.deleteMany(await this.#stored(filter), options);
  }

  // --- lifecycle -----------------------------------------------------------------------------

  /** Waits until every pending write-back has been sent and answered. Never rejects. */
  async flush(): Promise<void> {
    await this.#writeBack?.flush();
    await this.#shadow?.idle();
  }

  /** Flushes pending write-backs; call before closing the `MongoClient`. The collection stays usable. */
  close(): Promise<void> {
    return this.flush();
  }

  // --- internals -----------------------------------------------------------------------------

  /** A replacement that matched nothing: if that is because the match is newer than this code, say so. */
  async #throwIfNewerMatches(filter: Filter<Document>, session: ReplaceOptions['session']): Promise<void> {
    const field = this.#definition.versionField;
    const newer = await ownView(this.collection).findOne(andFilters(filter, { [field]: { $gt: this.#definition.latest } }) as Filter<Document>, session ? { session } : {});
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

  #prepareWrite(doc: unknown, isReplacement = false): Promise<Document> {
    return prepareWrite(this.#definition, this.#options.writeVersion, doc, isReplacement);
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
export function versioned<S extends AnyVersionedSchema, C extends Document = Document, const V extends VersionOf<S> = never>(
  collection: Collection<C>,
  schema: S,
  options: VersionedCollectionOptions<V> = {},
): CollectionOf<S, NoInfer<V>> {
  if (typeof collection !== 'object' || collection === null || typeof (collection as { find?: unknown }).find !== 'function') {
    throw new InvalidOptionError('collection', 'versioned() expects a driver Collection, e.g. db.collection("users").');
  }
  definitionOf(schema);
  return new VersionedCollection(collection as unknown as Collection<Document>, schema, options) as CollectionOf<S, V>;
}

/**
 * The collection `versioned(collection, schema)` returns (`versioned(collection, schema, { writeVersion: V })`
 * with `V`; `never`, the default, is the latest version), for code that names it: `function repo<S extends AnyVersionedSchema>(s: S): CollectionOf<S>`.
 * `VersionedCollection<DocumentOf<S>>` works there too: it differs only in taking the output type
 * on insert (where the input type lets `.default()` fields be left out).
 * @public
 */
export type CollectionOf<S extends AnyVersionedSchema, V extends number = never> = [V] extends [never]
  ? VersionedCollection<DocumentOf<S>, WriteOf<S>>
  : VersionedCollection<DocumentOf<S>, WriteOf<S>, DocumentAt<S, V>>;

/**
 * What inserts and replacements take: the latest version's input or its output (a document read
 * and written back). The output is named too so that a collection of a generic schema `S` is a
 * `VersionedCollection<DocumentOf<S>>`, which takes the output.
 */
type WriteOf<S extends AnyVersionedSchema> = InputOf<S> | DocumentOf<S>;

/** The document type a schema's collection hands out: the latest version's output. @public */
export type DocumentOf<S extends AnyVersionedSchema> = Infer<S> extends Document ? Infer<S> : never;

/** What a schema's collection takes on insert and replace: the latest version's input (defaults optional). @public */
export type InputOf<S extends AnyVersionedSchema> = S extends VersionedSchema<number, infer L, infer _V> ? (z.input<L> extends Document ? z.input<L> : never) : never;

/** The document type of version `V` of a schema (the write version's shape, which update operators run on). @public */
export type DocumentAt<S extends AnyVersionedSchema, V extends number> = S extends VersionedSchema<number, infer _S, infer Versions>
  ? number extends V
    ? DocumentOf<S>
    : OutputAt<Versions, V> extends Document
      ? OutputAt<Versions, V>
      : never
  : never;

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
