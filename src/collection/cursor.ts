import type { BSONSerializeOptions, CollationOptions, Document, FindCursor, Hint, Sort, SortDirection } from 'mongodb';
import { isPromiseLike } from '../migrate/index.js';
import type { MaybePromise } from '../schema/types.js';
import type { ExactProjection, Projected, ProjectAfterMap, ProjectionFor, VersionedProjection, VersionedSort } from '../types/index.js';
import { compileProjection, type CompiledProjection } from './projection.js';
import type { DocumentReader } from './reader.js';

/**
 * A `find` cursor that hands out documents of the latest shape. It wraps the driver's cursor,
 * so sorting, limits and batching happen on the server; each document is upcast as it arrives.
 * A projection applies to the latest shape, in memory, after the upcast. `T` is what the cursor
 * hands out, `D` the latest shape that sorts and projections are typed against, `Mapped` whether
 * `map()` has changed the documents (then `project()` no longer applies).
 * @public
 */
export class VersionedCursor<T, D = T, Mapped extends boolean = false> implements AsyncIterable<T> {
  readonly #raw: FindCursor<Document>;
  readonly #reader: DocumentReader;
  #projection: CompiledProjection | undefined;
  #transform: ((doc: Document) => unknown) | undefined;
  readonly #checkSort: ((sort: Sort) => void) | undefined;
  /** How the app decodes documents (when the driver hands over raw bytes for write-backs). */
  readonly #decode: BSONSerializeOptions | undefined;
  /** What the first read waits for (the check of the server forms the filter compares through), started then. */
  #ready: (() => Promise<void>) | undefined;
  #readiness: Promise<void> | undefined;

  /** Created by `VersionedCollection.find`: private, so the declarations name no internal class. */
  private constructor(
    raw: FindCursor<Document>,
    reader: DocumentReader,
    projection?: CompiledProjection,
    transform?: (doc: Document) => unknown,
    checkSort?: (sort: Sort) => void,
    decode?: BSONSerializeOptions,
    ready?: () => Promise<void>,
  ) {
    this.#decode = decode;
    this.#ready = ready;
    this.#raw = raw;
    this.#reader = reader;
    this.#projection = projection;
    this.#transform = transform;
    this.#checkSort = checkSort;
  }

  /** @internal Left out of the published declarations (`stripInternal`). */
  static open<T, D>(raw: FindCursor<Document>, reader: DocumentReader, projection?: CompiledProjection, checkSort?: (sort: Sort) => void, decode?: BSONSerializeOptions, ready?: () => Promise<void>): VersionedCursor<T, D> {
    return new VersionedCursor<T, D>(raw, reader, projection, undefined, checkSort, decode, ready);
  }

  /** Resolves once the cursor may read (its filter's server forms checked); the check runs once, on the first read. */
  #whenReady(): Promise<void> | undefined {
    if (this.#ready === undefined) return undefined;
    this.#readiness ??= this.#ready();
    return this.#readiness;
  }

  /**
   * The driver's cursor over the raw stored documents (no upcasting). With `writeBackOnRead` it
   * reads raw BSON (`raw: true`: write-backs are built from the stored bytes): its documents are
   * buffers, `BSON.deserialize` decodes them.
   */
  get rawCursor(): FindCursor<Document> {
    return this.#raw;
  }

  /**
   * Sorts on the server, as `FindCursor.sort`. With query translation, a sort on a field that a
   * step changes (stored under another name or value by older documents) is a `QueryTranslationError`.
   */
  sort(sort: VersionedSort<D>, direction?: SortDirection): this {
    this.#checkSort?.(direction === undefined ? (sort as Sort) : ({ [String(sort)]: direction } as Sort));
    this.#raw.sort(sort as Sort, direction);
    return this;
  }

  limit(value: number): this {
    this.#raw.limit(value);
    return this;
  }

  skip(value: number): this {
    this.#raw.skip(value);
    return this;
  }

  batchSize(value: number): this {
    this.#raw.batchSize(value);
    return this;
  }

  hint(hint: Hint): this {
    this.#raw.hint(hint);
    return this;
  }

  maxTimeMS(value: number): this {
    this.#raw.maxTimeMS(value);
    return this;
  }

  comment(value: string): this {
    this.#raw.comment(value);
    return this;
  }

  collation(value: CollationOptions): this {
    this.#raw.collation(value);
    return this;
  }

  /**
   * Keeps only the given fields of the latest shape (applied after the upcast). The documents are
   * typed from the projection. The driver's spelling, `project<Result>(projection)`, compiles
   * when the projection includes every required key of `Result` and `Result` fits the latest
   * shape. Not after `map()`: the projection would apply to the documents before the map.
   */
  project<const P extends VersionedProjection<D>>(projection: Mapped extends true ? ProjectAfterMap : ExactProjection<D, P>): VersionedCursor<Projected<D, P>, D>;
  project<R extends Document>(projection: Mapped extends true ? ProjectAfterMap : ProjectionFor<D, NoInfer<R>>): VersionedCursor<R, D>;
  project(projection: Document | ProjectAfterMap): VersionedCursor<unknown, D> {
    this.#projection = compileProjection(projection as Document);
    return this as unknown as VersionedCursor<unknown, D>;
  }

  /** Maps every latest-shape document, as `FindCursor.map` (a projection comes before it). */
  map<U>(transform: (doc: T) => U): VersionedCursor<U, D, true> {
    const previous = this.#transform;
    const next = previous === undefined ? (doc: Document) => transform(doc as T) : (doc: Document) => transform(previous(doc) as T);
    return new VersionedCursor<U, D, true>(this.#raw, this.#reader, this.#projection, next, this.#checkSort, this.#decode, this.#ready);
  }

  async next(): Promise<T | null> {
    await this.#whenReady();
    const raw = await this.#raw.next();
    return raw === null ? null : this.#finish(await this.#reader.read(raw, this.#decode));
  }

  async tryNext(): Promise<T | null> {
    await this.#whenReady();
    const raw = await this.#raw.tryNext();
    return raw === null ? null : this.#finish(await this.#reader.read(raw, this.#decode));
  }

  async hasNext(): Promise<boolean> {
    await this.#whenReady();
    return this.#raw.hasNext();
  }

  async toArray(): Promise<T[]> {
    await this.#whenReady();
    const raws = await this.#raw.toArray();
    const docs = this.#reader.readAll(raws, this.#decode);
    const settled = isPromiseLike<Document[]>(docs) ? await docs : docs;
    if (this.#projection === undefined && this.#transform === undefined) return settled as T[];
    return settled.map((doc) => this.#finish(doc));
  }

  async forEach(iterator: (doc: T) => boolean | void): Promise<void> {
    for await (const doc of this) {
      if (iterator(doc) === false) break;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, void> {
    try {
      await this.#whenReady();
      for await (const raw of this.#raw) {
        const doc: MaybePromise<Document> = this.#reader.read(raw, this.#decode);
        yield this.#finish(isPromiseLike<Document>(doc) ? await doc : doc);
      }
    } finally {
      await this.#raw.close();
    }
  }

  rewind(): void {
    this.#raw.rewind();
  }

  close(): Promise<void> {
    return this.#raw.close();
  }

  #finish(doc: Document): T {
    const projected = this.#projection === undefined ? doc : this.#projection.apply(doc);
    return (this.#transform === undefined ? projected : this.#transform(projected)) as T;
  }
}
