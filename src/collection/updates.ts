import type { ClientSession, Collection, Document, Filter, FindOneAndUpdateOptions, ModifyResult, Sort, UpdateFilter, UpdateOptions, UpdateResult } from 'mongodb';
import { InvalidOptionError, UpdateContentionError } from '../errors.js';
import { andFilters } from '../migrate/index.js';
import type { SchemaDefinition } from '../schema/types.js';
import type { QueryFilters } from './queries.js';
import type { StaleMatchMigrator } from './stale-matches.js';
import { checkUpdate, stampedUpdate } from './update-fields.js';
import { planUpsert, type UpsertPlan } from './upsert.js';
import { idKey } from '../storage/index.js';

/** An update that keeps finding its matches rewritten at old versions gives up after this many rounds. */
export const MAX_UPDATE_ROUNDS = 50;

type Update = UpdateFilter<Document> | Document[];

/** How many documents one `updateMany` command of the wrapper's `updateMany` updates (by `_id`). */
const UPDATE_PAGE = 1_000;

/** The answer of an `updateMany` that matched nothing. */
const EMPTY_UPDATE: UpdateResult = { acknowledged: true, matchedCount: 0, modifiedCount: 0, upsertedCount: 0, upsertedId: null };

/**
 * Runs the wrapper's updates: the stale documents a filter matches are migrated first (with
 * compare-and-swap), then the operators run only on documents at the write version, repeating for
 * documents that turned up stale meanwhile. Single-document updates migrate only the document
 * they are about to touch.
 */
export class UpdateRunner {
  readonly #collection: Collection<Document>;
  readonly #definition: SchemaDefinition;
  readonly #writeVersion: number;
  readonly #stale: StaleMatchMigrator;

  constructor(collection: Collection<Document>, definition: SchemaDefinition, writeVersion: number, stale: StaleMatchMigrator) {
    this.#collection = collection;
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
    const matched = (result: UpdateResult) => result.matchedCount > 0;
    const send = (target: Filter<Document>) => (sending: Update, upsert: boolean) => this.#collection.updateOne(target, sending, upsert ? { ...rest, upsert: true } : rest);
    const run = (target: Filter<Document>, withUpsert: boolean) => (withUpsert && plan ? this.#upsert(plan, send(target), matched) : send(target)(sent, false));
    if (sort !== undefined) return this.#firstBySort('updateOne', query, sort, options.session, run, matched);
    return this.#single('updateOne', query, options.session, run, matched);
  }

  async findOneAndUpdate(query: QueryFilters, update: Update, options: FindOneAndUpdateOptions): Promise<ModifyResult<Document>> {
    const { sent, plan } = await this.#prepare(query, update, options);
    const { sort, upsert: _upsert, ...rest } = options;
    const raw = { ...rest, includeResultMetadata: true as const };
    const matched = (result: ModifyResult<Document>) => Boolean(result.lastErrorObject?.n) || result.value !== null;
    const send = (target: Filter<Document>) => (sending: Update, upsert: boolean) => this.#collection.findOneAndUpdate(target, sending, upsert ? { ...raw, upsert: true } : raw);
    const run = (target: Filter<Document>, withUpsert: boolean) => (withUpsert && plan ? this.#upsert(plan, send(target), matched) : send(target)(sent, false));
    if (sort !== undefined) return this.#firstBySort('findOneAndUpdate', query, sort, options.session, run, matched);
    return this.#single('findOneAndUpdate', query, options.session, run, matched);
  }

  /**
   * Migrates every stale match, updates the documents at the write version (a page of `_id`s at a
   * time, remembering which it sent the update to), then repeats for documents that turned up
   * stale meanwhile (written by older code). A late round never updates a document this call
   * already sent the update to: one an update reached and another writer then moved to another
   * version (a sweep, a pinned writer) would otherwise get it twice.
   */
  async updateMany(query: QueryFilters, update: Update, options: UpdateOptions): Promise<UpdateResult> {
    const { sent, plan } = await this.#prepare(query, update, options);
    const session = options.session;
    await this.#migrateUntilNoneStale(query.stored, session);
    const { upsert: _upsert, ...pageOptions } = options;
    const target = this.#stale.current(query.atWrite);
    const sentTo = new Set<string>();
    let first: UpdateResult | undefined;
    let matchedCount = 0;
    let modifiedCount = 0;
    for await (const page of this.#idPages(target, session)) {
      const result = await this.#collection.updateMany(andFilters(target, { _id: { $in: page } }) as Filter<Document>, sent, pageOptions);
      for (const id of page) sentTo.add(idKey(id));
      first ??= result;
      matchedCount += result.matchedCount;
      modifiedCount += result.modifiedCount;
    }
    if (plan && matchedCount === 0) {
      // Nothing at the write version matched: the update may insert (as a plain updateMany would).
      first = await this.#upsert(plan, (sending, upsert) => this.#collection.updateMany(target, sending, upsert ? { ...pageOptions, upsert: true } : pageOptions), (result) => result.matchedCount > 0);
      matchedCount = first.matchedCount;
      modifiedCount = first.modifiedCount;
    }
    const answer = (): UpdateResult => ({ ...(first ?? EMPTY_UPDATE), matchedCount, modifiedCount });
    for (let round = 0; round < MAX_UPDATE_ROUNDS; round++) {
      const { found, ids } = await this.#stale.migrate(query.stored, { session });
      const fresh = ids.filter((id) => !sentTo.has(idKey(id)));
      if (found === 0 || fresh.length === 0) return answer();
      const late = await this.#collection.updateMany(andFilters(this.#stale.current(query.atWrite), { _id: { $in: fresh } }) as Filter<Document>, sent, pageOptions);
      for (const id of fresh) sentTo.add(idKey(id));
      matchedCount += late.matchedCount;
      modifiedCount += late.modifiedCount;
    }
    throw new UpdateContentionError('updateMany', MAX_UPDATE_ROUNDS);
  }

  /** The `_id`s of the documents `filter` matches, a page at a time. */
  async *#idPages(filter: Filter<Document>, session: ClientSession | undefined): AsyncGenerator<unknown[]> {
    const cursor = this.#collection.find(filter, { projection: { _id: 1 }, batchSize: UPDATE_PAGE, ...(session ? { session } : {}) });
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
