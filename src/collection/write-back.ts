import { BSON, MongoBulkWriteError, type AnyBulkWriteOperation, type Collection, type Document, type Filter } from 'mongodb';
import type { Logger } from 'pino';
import { stampVersion } from './compare-and-swap.js';

/** Counters of what the wrapper did on its own: migrations on read and their write-backs. @public */
export interface WriteBackStats {
  /** Documents upcast on read. */
  readonly migratedOnRead: number;
  /** Write-backs that stored an upcast document. */
  readonly writtenBack: number;
  /** Stale documents an update, upsert or findOneAndUpdate migrated (compare-and-swap won) before running. */
  readonly migratedBeforeUpdate: number;
  /** Write-backs (and update-time migrations) whose compare-and-swap found the document changed: not an error. */
  readonly lostRaces: number;
  /** Write-backs that failed on the server; logged, never thrown into a read. */
  readonly writeBackErrors: number;
  /** Reads of a stale document whose write-back was already queued or in flight: no second write, no lost race. */
  readonly alreadyQueued: number;
}

/** The counters, as the wrapper's parts update them. */
export type MutableStats = { -readonly [K in keyof WriteBackStats]: WriteBackStats[K] };

/** Fresh counters. */
export function createStats(): MutableStats {
  return { migratedOnRead: 0, writtenBack: 0, migratedBeforeUpdate: 0, lostRaces: 0, writeBackErrors: 0, alreadyQueued: 0 };
}

interface PendingWrite {
  /** The compare-and-swap filter as BSON (base64): one write per stored document version. */
  readonly key: string;
  readonly id: unknown;
  readonly filter: Filter<Document>;
  readonly document: Document;
}

/**
 * Batches compare-and-swap write-backs of documents upcast on read. `enqueue` is synchronous and
 * never throws, so a read is not delayed; the batch goes out on the next turn of the event loop,
 * or at once when full. Errors are logged and counted.
 */
export class WriteBackQueue {
  readonly #collection: Collection<Document>;
  readonly #versionField: string;
  readonly #batchSize: number;
  readonly #logger: Logger | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  /** Keys of the writes queued or in flight: a second read of the same stale document adds no write (and no lost race). */
  readonly #queued = new Set<string>();
  #pending: PendingWrite[] = [];
  #scheduled = false;
  readonly #stats: MutableStats;

  constructor(collection: Collection<Document>, versionField: string, batchSize: number, logger: Logger | undefined, stats: MutableStats) {
    this.#stats = stats;
    this.#collection = collection;
    this.#versionField = versionField;
    this.#batchSize = batchSize;
    this.#logger = logger;
  }

  /**
   * Queues `value` to be stored at `version` where the document still matches `filter` (its
   * compare-and-swap filter). The value is copied now (through BSON), so the app may change the
   * object it was handed.
   */
  enqueue(id: unknown, filter: Filter<Document>, value: Document, version: number): void {
    const key = Buffer.from(BSON.serialize(filter)).toString('base64');
    if (this.#queued.has(key)) {
      this.#stats.alreadyQueued++;
      return;
    }
    this.#queued.add(key);
    const document = BSON.deserialize(BSON.serialize(stampVersion(value, this.#versionField, version)));
    this.#pending.push({ key, id, filter, document });
    if (this.#pending.length >= this.#batchSize) {
      this.#send();
    } else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#send();
      });
    }
  }

  /** Resolves once every queued write-back has been sent and answered. Never rejects. */
  async flush(): Promise<void> {
    this.#send();
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }

  #send(): void {
    if (this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];
    const sending = this.#write(batch).finally(() => {
      this.#inFlight.delete(sending);
      for (const write of batch) this.#queued.delete(write.key);
    });
    this.#inFlight.add(sending);
  }

  async #write(batch: readonly PendingWrite[]): Promise<void> {
    const operations: AnyBulkWriteOperation<Document>[] = batch.map((write) => ({
      replaceOne: { filter: write.filter, replacement: write.document },
    }));
    try {
      const result = await this.#collection.bulkWrite(operations, { ordered: false });
      this.#count(batch, result.matchedCount);
    } catch (error) {
      if (error instanceof MongoBulkWriteError) {
        const failed = error.writeErrors instanceof Array ? error.writeErrors.length : 1;
        this.#stats.writeBackErrors += failed;
        this.#count(batch.slice(failed), error.result.matchedCount);
      } else {
        this.#stats.writeBackErrors += batch.length;
      }
      this.#logger?.error({ err: error, ids: batch.map((write) => write.id) }, 'mongo-molt: write-back failed; the documents stay at their stored version');
    }
  }

  #count(batch: readonly PendingWrite[], matched: number): void {
    this.#stats.writtenBack += matched;
    const lost = batch.length - matched;
    this.#stats.lostRaces += lost;
    this.#logger?.debug({ written: matched, lostRaces: lost }, 'mongo-molt: write-back batch');
  }
}
