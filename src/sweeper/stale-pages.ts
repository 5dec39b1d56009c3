import type { Collection, Document, FindCursor } from 'mongodb';
import { limited, untilLimit, type OperationLimit } from '../server/index.js';
import { STORED_BSON_OPTIONS } from '../storage/index.js';
import { keysetFilter, type IdRange } from './keyset.js';

/** The server forgot the cursor (it timed out between batches, or the server restarted). */
const CURSOR_NOT_FOUND = 43;

/** What a keyset paginator reads besides its filter. */
export interface KeysetPagesOptions {
  /** Read only these fields (server-side batches need `_id` and the version). */
  readonly projection?: Document | undefined;
  /** Bounds the reads. */
  readonly limit?: OperationLimit | undefined;
  /** Only the `_id`s in this range (several workers, one range each). */
  readonly range?: IdRange | undefined;
  /** Decode documents as stored (`STORED_BSON_OPTIONS`): for readers that write them back. */
  readonly asStored?: boolean | undefined;
}

/**
 * Reads the documents matching a filter in the server's `_id` order, a page at a time, through one
 * cursor: the server walks its index once per pass instead of seeking (or, on servers without
 * range lookups, scanning and sorting) for every page. The position is always the last `_id` the
 * caller processed: after an error, or when the server has dropped the cursor, the next page
 * reopens it after that `_id` (keyset, never skip), so a retried page starts exactly where the
 * checkpoint is. Reopening is type-aware (see `keysetFilter`): `_id`s of several BSON types are
 * all walked, in the order the server sorts them.
 *
 * With `asStored`, documents are decoded as stored (every value with its BSON type, see
 * `STORED_BSON_OPTIONS`): what the sweeper and restore write back from.
 *
 * The one paginator of the sweeper, `checkMigration`, the retry of recorded failures and `restore`.
 */
export class KeysetPages {
  readonly #collection: Collection<Document>;
  readonly #filter: Readonly<Document>;
  readonly #batchSize: number;
  readonly #options: KeysetPagesOptions;
  #cursor: FindCursor<Document> | undefined;

  constructor(collection: Collection<Document>, filter: Readonly<Document>, batchSize: number, options: KeysetPagesOptions = {}) {
    this.#collection = collection;
    this.#filter = filter;
    this.#batchSize = batchSize;
    this.#options = options;
  }

  /**
   * Up to `batchSize` documents after `lastId` (the first ones when `lastId` is `null`);
   * `bracket`: the type bracket a checkpoint recorded with `lastId` (else `lastId`'s own).
   */
  async next(lastId: unknown, bracket?: string): Promise<Document[]> {
    try {
      return await this.#read(lastId, bracket);
    } catch (error) {
      await this.close();
      if ((error as { code?: unknown }).code !== CURSOR_NOT_FOUND) throw error;
      return this.#read(lastId, bracket);
    }
  }

  /** Closes the cursor; the next page opens a new one. Never throws. */
  async close(): Promise<void> {
    const cursor = this.#cursor;
    this.#cursor = undefined;
    await cursor?.close().catch(() => undefined);
  }

  async #read(lastId: unknown, bracket: string | undefined): Promise<Document[]> {
    const { projection, limit, range, asStored } = this.#options;
    const position = lastId === null ? null : { id: lastId, bracket };
    this.#cursor ??= this.#collection.find(keysetFilter(this.#filter, position, range), limited({ ...(asStored ? STORED_BSON_OPTIONS : {}), ...(projection ? { projection } : {}) }, limit)).sort({ _id: 1 }).batchSize(this.#batchSize);
    const page: Document[] = [];
    // The first batch comes with the find, which carries the signal; getMore does not: it is awaited up to the limit.
    while (page.length < this.#batchSize && (await untilLimit(this.#cursor.hasNext(), limit))) {
      page.push(...this.#cursor.readBufferedDocuments(this.#batchSize - page.length));
    }
    return page;
  }
}
