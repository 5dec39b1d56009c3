import type { ShadowStats } from './shadow.js';
import { BSON, type Document } from 'mongodb';
import type { Logger } from 'pino';
import { STORED_BSON_OPTIONS, type Archive, type BulkWriter, type StoredWrite } from '../storage/index.js';
// From its own module, not the telemetry barrel: the barrel's declarations import the optional
// @opentelemetry/api, which a user's compile (skipLibCheck off) must not need.
import type { ReadTelemetry } from '../telemetry/read.js';

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
  /** With `shadow`: what rehearsing the next release on the documents read found. */
  readonly shadow?: ShadowStats;
  /** Reads of a stale document whose write-back was already queued or in flight: no second write, no lost race. */
  readonly alreadyQueued: number;
}

/** The counters, as the wrapper's parts update them. */
export type MutableStats = { -readonly [K in Exclude<keyof WriteBackStats, 'shadow'>]: WriteBackStats[K] };

/** Fresh counters. */
export function createStats(): MutableStats {
  return { migratedOnRead: 0, writtenBack: 0, migratedBeforeUpdate: 0, lostRaces: 0, writeBackErrors: 0, alreadyQueued: 0 };
}

/**
 * Batches compare-and-swap write-backs of documents upcast on read. `enqueue` is synchronous and
 * never throws, so a read is not delayed; the batch goes out (through the shared writer) on the
 * next turn of the event loop, or at once when full. Errors are logged and counted.
 */
export class WriteBackQueue {
  readonly #writer: BulkWriter;
  readonly #batchSize: number;
  readonly #logger: Logger | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  /** Keys (the document as read, as BSON) of the writes queued or in flight: a second read of the same stale document adds no write, and no lost race. */
  readonly #queued = new Set<string>();
  #pending: QueuedWrite[] = [];
  #scheduled = false;
  readonly #stats: MutableStats;
  readonly #archive: Archive | undefined;
  readonly #targetVersion: number;
  readonly #telemetry: ReadTelemetry | undefined;

  constructor(writer: BulkWriter, batchSize: number, logger: Logger | undefined, stats: MutableStats, archive?: { archive: Archive; version: number }, telemetry?: ReadTelemetry) {
    this.#stats = stats;
    this.#telemetry = telemetry;
    this.#archive = archive?.archive;
    this.#targetVersion = archive?.version ?? 0;
    this.#writer = writer;
    this.#batchSize = batchSize;
    this.#logger = logger;
  }

  /**
   * Queues a compare-and-swap write. The replacement is copied now (through BSON, every value
   * keeping its BSON type), so the app may change the object it was handed.
   */
  enqueue(write: StoredWrite): void {
    let replacement: Document;
    try {
      replacement = BSON.deserialize(BSON.serialize(write.replacement), STORED_BSON_OPTIONS);
    } catch (error) {
      // Too large to serialize (over the document limit): never sent, counted, and the read goes on.
      this.#stats.writeBackErrors++;
      this.#logger?.error({ err: error, id: write.id }, 'mongo-molt: write-back refused: the migrated document cannot be stored (too large?); it stays at its stored version');
      return;
    }
    const key = queueKey(write);
    if (this.#queued.has(key)) {
      this.#stats.alreadyQueued++;
      return;
    }
    this.#queued.add(key);
    this.#pending.push({ write: { ...write, replacement }, key });
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
      for (const { key } of batch) this.#queued.delete(key);
    });
    this.#inFlight.add(sending);
  }

  async #write(queued: readonly QueuedWrite[]): Promise<void> {
    const batch = queued.map(({ write }) => write);
    try {
      if (this.#archive) {
        // The originals first: a write-back is never stored without its original archived.
        await this.#archive.keep(batch.map((write) => ({ read: write.snapshot, migrated: write.replacement, version: this.#targetVersion })));
      }
      const outcome = await this.#writer.write(batch);
      this.#stats.writtenBack += outcome.matched;
      if (outcome.matched > 0) this.#telemetry?.recorder()?.wroteBack(outcome.matched);
      this.#stats.writeBackErrors += outcome.failures.length;
      const lost = batch.length - outcome.matched - outcome.failures.length;
      this.#stats.lostRaces += lost;
      if (outcome.failures.length > 0) {
        this.#logger?.error({ ids: outcome.failures.map((failure) => failure.write.id), codes: outcome.failures.map((failure) => failure.code), reasons: outcome.failures.map((failure) => failure.message) }, 'mongo-molt: write-back failed: the server refused the documents (or they cannot be written); they stay at their stored version');
      }
      this.#logger?.debug({ written: outcome.matched, lostRaces: lost }, 'mongo-molt: write-back batch');
    } catch (error) {
      this.#stats.writeBackErrors += batch.length;
      this.#logger?.error({ err: error, ids: batch.map((write) => write.id) }, 'mongo-molt: write-back failed; the documents stay at their stored version');
    }
  }
}

interface QueuedWrite {
  readonly write: StoredWrite;
  readonly key: string;
}

function queueKey(write: StoredWrite): string {
  return Buffer.from(BSON.serialize(write.snapshot.stored)).toString('base64');
}
