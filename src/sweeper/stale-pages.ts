import type { Collection, Document, FindCursor } from 'mongodb';
import { limited, untilLimit, type OperationLimit } from '../server/index.js';
import { STORED_BSON_OPTIONS } from '../storage/index.js';
import { pageFilter } from './stale.js';

/** The server forgot the cursor (it timed out between batches, or the server restarted). */
const CURSOR_NOT_FOUND = 43;

/**
 * Reads the stale documents in `_id` order, as stored (every value with its BSON type, see
 * `STORED_BSON_OPTIONS`), a page at a time, through one cursor: the server walks
 * its index once per pass instead of seeking (or, on servers without range lookups, scanning and
 * sorting) for every page. The position is always the last `_id` the caller processed: after an
 * error, or when the server has dropped the cursor, the next page reopens it after that `_id`
 * (keyset, never skip), so a retried page starts exactly where the checkpoint is.
 */
export class StalePages {
  readonly #collection: Collection<Document>;
  readonly #stale: Readonly<Document>;
  readonly #batchSize: number;
  readonly #projection: Document | undefined;
  readonly #limit: OperationLimit | undefined;
  #cursor: FindCursor<Document> | undefined;

  /** `projection`: read only these fields (server-side batches need `_id` and the version); `limit` bounds the reads. */
  constructor(collection: Collection<Document>, stale: Readonly<Document>, batchSize: number, projection?: Document, limit?: OperationLimit) {
    this.#limit = limit;
    this.#collection = collection;
    this.#stale = stale;
    this.#batchSize = batchSize;
    this.#projection = projection;
  }

  /** Up to `batchSize` stale documents after `lastId` (the first ones when `lastId` is `null`). */
  async next(lastId: unknown): Promise<Document[]> {
    try {
      return await this.#read(lastId);
    } catch (error) {
      await this.close();
      if ((error as { code?: unknown }).code !== CURSOR_NOT_FOUND) throw error;
      return this.#read(lastId);
    }
  }

  /** Closes the cursor; the next page opens a new one. Never throws. */
  async close(): Promise<void> {
    const cursor = this.#cursor;
    this.#cursor = undefined;
    await cursor?.close().catch(() => undefined);
  }

  async #read(lastId: unknown): Promise<Document[]> {
    this.#cursor ??= this.#collection.find(pageFilter(this.#stale, lastId), limited({ ...STORED_BSON_OPTIONS, ...(this.#projection ? { projection: this.#projection } : {}) }, this.#limit)).sort({ _id: 1 }).batchSize(this.#batchSize);
    const page: Document[] = [];
    // The first batch comes with the find, which carries the signal; getMore does not: it is awaited up to the limit.
    while (page.length < this.#batchSize && (await untilLimit(this.#cursor.hasNext(), this.#limit))) {
      page.push(...this.#cursor.readBufferedDocuments(this.#batchSize - page.length));
    }
    return page;
  }
}
