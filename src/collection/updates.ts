import { MongoBulkWriteError, type ClientSession, type Collection, type Document, type Filter, type FindOneAndUpdateOptions, type ModifyResult, type Sort, type UpdateFilter, type UpdateOptions, type UpdateResult } from 'mongodb';
import { InvalidOptionError, UpdateContentionError } from '../errors.js';
import { andFilters } from '../migrate/index.js';
import { mapBounded } from '../migrate/bounded.js';
import type { SchemaDefinition } from '../schema/types.js';
import type { QueryFilters } from './queries.js';
import type { StaleMatchMigrator } from './stale-matches.js';
import { checkUpdate, stampedUpdate } from './update-fields.js';
import { planUpsert, type UpsertPlan } from './upsert.js';
import { idKey } from '../storage/index.js';
import { matchedAny, ownView, type ServerCapabilities } from '../server/index.js';

/** An update that keeps finding its matches rewritten at old versions gives up after this many rounds. */
export const MAX_UPDATE_ROUNDS = 50;

type Update = UpdateFilter<Document> | Document[];

/** How many `_id`s the wrapper's `updateMany` reads at a time. */
const UPDATE_PAGE = 1_000;

/** The wrapper's `updateMany`: single-document updates in flight at once. */
const UPDATE_CONCURRENCY = 16;

/** The answer of an `updateMany` that matched nothing. */
const EMPTY_UPDATE: UpdateResult = { acknowledged: true, matchedCount: 0, modifiedCount: 0, upsertedCount: 0, upsertedId: null };

/**
 * Runs the wrapper's updates: the stale documents a filter matches are migrated first (with
 * compare-and-swap), then the operators run only on documents at the write version, repeating for
 * documents that turned up stale meanwhile. Single-document updates migrate only the document
 * they are about to touch.
 */
export class UpdateRunner {
  /** The app's handle: what the app gets back (a modified document, an upsert's answer) is decoded with its options. */
  readonly #collection: Collection<Document>;
  /**
   * The library's view of the same collection (`ownView`): the writes whose answers it sums
   * itself and the `_id`s it pages through must not depend on the app's BSON options (with
   * `promoteValues: false` the driver drops a bulk write's modified count; with `raw: true` `_id`s
   * come back as bytes).
   */
  readonly #own: Collection<Document>;
  readonly #definition: SchemaDefinition;
  readonly #writeVersion: number;
  readonly #stale: StaleMatchMigrator;
  readonly #capabilities: () => Promise<ServerCapabilities>;

  constructor(collection: Collection<Document>, definition: SchemaDefinition, writeVersion: number, stale: StaleMatchMigrator, capabilities: () => Promise<ServerCapabilities>) {
    this.#capabilities = capabilities;
    this.#collection = collection;
    this.#own = ownView(collection);
    this.#definition = definition;
    this.#writeVersion = writeVersion;
    this.#stale = stale;
  }

  /**
   * Checks the update (before any I/O) and returns it as it is sent; with `upsert`, also the plan
   * for the document it would insert (checked against the write version's schema, completed with
   * its defaults).
   */
  async #prepare(query: QueryFilters, update: Update, options: { upsert?: boolean | undefined; arrayFilters?: Document[] | undefined }): Promise<{ sent: Update; plan: UpsertPlan | undefined }> {
    checkUpdate(this.#definition, this.#writeVersion, update as Document);
    const sent = stampedUpdate(update as Document, this.#definition.versionField, this.#writeVersion) as Update;
    if (options.upsert !== true) return { sent, plan: undefined };
    if (Array.isArray(update)) {
      throw new InvalidOptionError(
        'upsert',
        `is not supported with an update pipeline: the document it would insert cannot be checked against version ${this.#writeVersion} of schema "${this.#definition.name}". ` +
          'Use an operator update ($set, $setOnInsert…) with upsert, or insertOne. Nothing was read or written.',
      );
    }
    return { sent, plan: await planUpsert(this.#definition, this.#writeVersion, query.toInsert, update, options.arrayFilters, query.atWrite) };
  }

  /**
   * Sends an update that may insert. When what it would insert must not be stored, it is sent
   * without `upsert`: a document it matches (by now) is updated as usual; if none, nothing was
   * written and the plan's refusal is thrown.
   */
  async #upsert<R>(plan: UpsertPlan, send: (update: Update, upsert: boolean) => Promise<R>, matched: (result: R) => boolean): Promise<R> {
    if (plan.refusal === undefined) return send(plan.update, true);
    const result = await send(plan.update, false);
    if (matched(result)) return result;
    throw plan.refusal;
  }

  async updateOne(query: QueryFilters, update: Update, options: UpdateOptions & { sort?: Sort }): Promise<UpdateResult> {
    const { sent, plan } = await this.#prepare(query, update, options);
    // A sort picks the target here, by `_id`: the server is not asked to sort (only MongoDB 8 can).
    const { sort, upsert: _upsert, ...rest } = options;
    const matched = (result: UpdateResult) => matchedAny(result);
    const send = (target: Filter<Document>) => (sending: Update, upsert: boolean) => this.#collection.updateOne(target, sending, upsert ? { ...rest, upsert: true } : rest);
    const run = (target: Filter<Document>, withUpsert: boolean) => (withUpsert && plan ? this.#upsert(plan, send(target), matched) : send(target)(sent, false));
    if (sort !== undefined) return this.#firstBySort('updateOne', query, sort, options.session, run, matched);
    return this.#single('updateOne', query, options.session, run, matched);
  }

  async findOneAndUpdate(query: QueryFilters, update: Update, options: FindOneAndUpdateOptions): Promise<ModifyResult<Document>> {
    const { sent, plan } = await this.#prepare(query, update, options);
    const { sort, upsert: _upsert, ...rest } = options;
    const raw = { ...rest, includeResultMetadata: true as const };
    const matched = (result: ModifyResult<Document>) => matchedAny(result);
    const send = (target: Filter<Document>) => (sending: Update, upsert: boolean) => this.#collection.findOneAndUpdate(target, sending, upsert ? { ...raw, upsert: true } : raw);
    const run = (target: Filter<Document>, withUpsert: boolean) => (withUpsert && plan ? this.#upsert(plan, send(target), matched) : send(target)(sent, false));
    if (sort !== undefined) return this.#firstBySort('findOneAndUpdate', query, sort, options.session, run, matched);
    return this.#single('findOneAndUpdate', query, options.session, run, matched);
  }

  /**
   * Migrates every stale match, then sends the update to each match (read at any version) by
   * `_id`, at the write version (a page of `_id`s at a time, `UPDATE_CONCURRENCY` in flight), then repeats for documents
   * that turned up stale meanwhile (written by older code). Each document gets its own update so
   * that the answer says exactly which documents it reached: one `updateMany` over a page of
   * `_id`s answers only how many, and a document another writer moved to an old version just
   * before it arrived (then perhaps forward again) would be missed, or updated twice by a late
   * round. A document the update did not reach is migrated and tried again until it is reached
   * or no longer matches; one it reached is never sent the update again.
   */
  async updateMany(query: QueryFilters, update: Update, options: UpdateOptions): Promise<UpdateResult> {
    const { sent, plan } = await this.#prepare(query, update, options);
    const session = options.session;
    await this.#migrateUntilNoneStale(query.stored, session);
    const { upsert: _upsert, ...oneOptions } = options;
    const reached = new Set<string>();
    const tally = { matchedCount: 0, modifiedCount: 0 };
    const { updateReach, maxBulkStatements } = await this.#capabilities();
    const bulk = updateReach === 'upsert-conflict' && canMarkUnreached(sent);
    const reachOneByOne = (ids: readonly unknown[]) =>
      mapBounded(ids, UPDATE_CONCURRENCY, async (id) => {
        const result = await this.#reachOne(query, id, sent, oneOptions, session);
        if (result === undefined) return;
        reached.add(idKey(id));
        tally.matchedCount += result.matchedCount;
        tally.modifiedCount += result.modifiedCount;
      });
    const reach = async (ids: readonly unknown[]): Promise<void> => {
      const fresh = ids.filter((id) => !reached.has(idKey(id)));
      if (!bulk) return void (await reachOneByOne(fresh));
      for (let start = 0; start < fresh.length; start += maxBulkStatements) {
        const part = fresh.slice(start, start + maxBulkStatements);
        const answer = await this.#reachInBulk(query, part, sent as Document, oneOptions);
        tally.matchedCount += answer.matchedCount;
        tally.modifiedCount += answer.modifiedCount;
        part.forEach((id, index) => {
          if (!answer.unreached.has(index)) reached.add(idKey(id));
        });
        // Those it did not reach (moved to another version, changed, deleted): one at a time.
        await reachOneByOne(part.filter((_, index) => answer.unreached.has(index)));
      }
    };
    // Every match, at any version: one another writer moves to an old version and back while the
    // pages are read must not fall between the pages and the late rounds.
    for await (const page of this.#idPages(query.stored, session)) await reach(page);
    let first: UpdateResult | undefined;
    if (plan && tally.matchedCount === 0) {
      // Nothing at the write version matched: the update may insert (as a plain updateMany would).
      first = await this.#upsert(plan, (sending, upsert) => this.#collection.updateMany(this.#stale.current(query.atWrite), sending, upsert ? { ...oneOptions, upsert: true } : oneOptions), matchedAny);
      tally.matchedCount = first.matchedCount;
      tally.modifiedCount = first.modifiedCount;
    }
    const answer = (): UpdateResult => ({ ...(first ?? EMPTY_UPDATE), acknowledged: true, ...tally });
    for (let round = 0; round < MAX_UPDATE_ROUNDS; round++) {
      const { found, ids } = await this.#stale.migrate(query.stored, { session });
      if (found === 0 || ids.every((id) => reached.has(idKey(id)))) return answer();
      await reach(ids);
    }
    throw new UpdateContentionError('updateMany', MAX_UPDATE_ROUNDS);
  }

  /**
   * Sends the update to each of `ids` at the write version in one unordered bulk write, each
   * statement an upsert whose insert would change `_id` and so fails: the statements that matched
   * nothing come back as write errors, by index. Any statement that failed is in `unreached`, to
   * be tried one at a time (which reports a real error as the driver would).
   */
  async #reachInBulk(query: QueryFilters, ids: readonly unknown[], sent: Document, options: UpdateOptions): Promise<{ matchedCount: number; modifiedCount: number; unreached: Set<number> }> {
    const target = this.#stale.current(query.atWrite);
    const operations = ids.map((id) => ({
      updateOne: { filter: { _id: id, $and: [target] } as Filter<Document>, update: markUnreached(sent, id), upsert: true },
    }));
    const { session, bypassDocumentValidation, collation, hint, let: variables, comment, writeConcern } = options;
    const bulkOptions = { ordered: false, ...(session ? { session } : {}), ...(bypassDocumentValidation !== undefined ? { bypassDocumentValidation } : {}), ...(comment !== undefined ? { comment } : {}), ...(variables !== undefined ? { let: variables } : {}), ...(writeConcern !== undefined ? { writeConcern } : {}) };
    if (collation !== undefined || hint !== undefined) for (const operation of operations) Object.assign(operation.updateOne, { ...(collation !== undefined ? { collation } : {}), ...(hint !== undefined ? { hint } : {}) });
    let result: { matchedCount: number; modifiedCount: number; upsertedIds: Record<number, unknown> };
    const unreached = new Set<number>();
    try {
      result = await this.#own.bulkWrite(operations, bulkOptions);
    } catch (error) {
      if (!(error instanceof MongoBulkWriteError)) throw error;
      result = error.result;
      const errors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
      for (const writeError of errors) unreached.add(writeError.index);
    }
    // A server that inserted anyway: what it inserted is taken back, and those ids go one at a time.
    const inserted = Object.entries(result.upsertedIds);
    if (inserted.length > 0) {
      await this.#own.deleteMany({ _id: { $in: inserted.map(([, id]) => id) } } as Filter<Document>, session ? { session } : {});
      for (const [index] of inserted) unreached.add(Number(index));
    }
    return { matchedCount: result.matchedCount, modifiedCount: result.modifiedCount, unreached };
  }

  /**
   * Sends the update to one document, by `_id`, at the write version; when it does not match
   * there (another writer moved it to another version), migrates it and tries again. `undefined`
   * once the document no longer matches the filter at any version (deleted, or changed by then).
   */
  async #reachOne(query: QueryFilters, id: unknown, sent: Update, options: UpdateOptions, session: ClientSession | undefined): Promise<UpdateResult | undefined> {
    const byId = { _id: id } as Filter<Document>;
    for (let round = 0; round < MAX_UPDATE_ROUNDS; round++) {
      const result = await this.#own.updateOne(andFilters(this.#stale.current(query.atWrite), byId) as Filter<Document>, sent, options);
      if (result.matchedCount > 0) return result;
      const found = await this.#stale.migrateOne(andFilters(query.stored, byId) as Filter<Document>, session);
      if (found.state === 'none') return undefined;
    }
    throw new UpdateContentionError('updateMany', MAX_UPDATE_ROUNDS);
  }

  /** The `_id`s of the documents `filter` matches, a page at a time. */
  async *#idPages(filter: Filter<Document>, session: ClientSession | undefined): AsyncGenerator<unknown[]> {
    const cursor = this.#own.find(filter, { projection: { _id: 1 }, batchSize: UPDATE_PAGE, ...(session ? { session } : {}) });
    try {
      let page: unknown[] = [];
      for await (const doc of cursor) {
        page.push(doc._id);
        if (page.length >= UPDATE_PAGE) {
          yield page;
          page = [];
        }
      }
      if (page.length > 0) yield page;
    } finally {
      await cursor.close();
    }
  }

  /**
   * An unsorted single-document update: run it on documents at the write version; when it matches
   * none, migrate the first match (the one document it would touch) and run again. Only when
   * nothing matches at all does an upsert insert, at the write version.
   */
  async #single<R>(operation: string, query: QueryFilters, session: ClientSession | undefined, run: (target: Filter<Document>, upsert: boolean) => Promise<R>, matched: (result: R) => boolean): Promise<R> {
    for (let round = 0; round < MAX_UPDATE_ROUNDS; round++) {
      const result = await run(this.#stale.current(query.atWrite), false);
      if (matched(result)) return result;
      const first = await this.#stale.migrateOne(query.stored, session);
      if (first.state === 'none') return run(this.#stale.current(query.atWrite), true);
    }
    throw new UpdateContentionError(operation, MAX_UPDATE_ROUNDS);
  }

  /**
   * A single-document update with a `sort`: the document the sort puts first, whatever its
   * version, is migrated if it is stale, then updated by `_id` (with the filter, at the write
   * version). If it changed in between, the sort is asked again.
   */
  async #firstBySort<R>(operation: string, query: QueryFilters, sort: Sort, session: ClientSession | undefined, run: (target: Filter<Document>, upsert: boolean) => Promise<R>, matched: (result: R) => boolean): Promise<R> {
    for (let round = 0; round < MAX_UPDATE_ROUNDS; round++) {
      const first = await this.#stale.migrateOne(query.stored, session, sort);
      if (first.state === 'stale') continue;
      // Nothing matches: the update answers that (or, with upsert, inserts at the write version).
      if (first.state === 'none') return run(this.#stale.current(query.atWrite), true);
      const result = await run(andFilters(this.#stale.current(query.atWrite), { _id: first.id }) as Filter<Document>, false);
      if (matched(result)) return result;
    }
    throw new UpdateContentionError(operation, MAX_UPDATE_ROUNDS);
  }

  /** Migrates stale matches until none remains. */
  async #migrateUntilNoneStale(filter: Filter<Document>, session: ClientSession | undefined): Promise<void> {
    for (let round = 0; round < MAX_UPDATE_ROUNDS; round++) {
      if ((await this.#stale.migrate(filter, { session })).found === 0) return;
    }
    throw new UpdateContentionError('updateMany', MAX_UPDATE_ROUNDS);
  }
}

/** The `_id` a statement of `#reachInBulk` would insert: never the one its filter names, so it fails. */
const NEVER_INSERTED = 'mongo-molt: an update that matched nothing is not inserted';

/** Operator updates only (a pipeline has no `$setOnInsert`), and none that sets `_id` on insert. */
function canMarkUnreached(update: Update): boolean {
  if (Array.isArray(update)) return false;
  const onInsert = (update as Document).$setOnInsert as Document | undefined;
  return onInsert === undefined || !Object.keys(onInsert).some((key) => key === '_id' || key.startsWith('_id.'));
}

function markUnreached(update: Document, id: unknown): Document {
  return { ...update, $setOnInsert: { ...(update.$setOnInsert as Document | undefined), _id: { [NEVER_INSERTED]: id } } };
}
