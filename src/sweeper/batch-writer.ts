import type { AnyBulkWriteOperation, Collection, Db, Document } from 'mongodb';
import type { Logger } from 'pino';
import type { SchemaDefinition } from '../schema/types.js';
import { describeError, type MigratedBatch } from './batch.js';
import type { NewFailure } from './failures.js';
import { isTransientError } from './retry.js';

/** What writing a batch did: compare-and-swaps that matched, and documents the server refused. */
export interface WriteOutcome {
  readonly matched: number;
  readonly failures: NewFailure[];
}

/** Runs a server call with the sweep's retries, its time counted as the batch's server time. */
export type TimedCall = <T>(operation: () => Promise<T>) => Promise<T>;

/**
 * FerretDB 1.24 never answers an `update` command of 100 statements or more (the connection hangs),
 * so there a batch is written in bulks of this many. One bulk per batch everywhere else.
 */
export const FERRETDB_MAX_BULK = 64;

/**
 * Writes a migrated batch as unordered bulks of compare-and-swap replaces. A document the server
 * refuses is a failure of that document, not the end of the run; transient errors go up to the
 * sweep's retries.
 */
export class BatchWriter {
  readonly #collection: Collection<Document>;
  readonly #definition: SchemaDefinition;
  readonly #timed: TimedCall;
  readonly #log: Logger | undefined;
  /** Statements per bulk write: the whole batch, except on FerretDB 1.x. */
  #chunk = Infinity;

  constructor(collection: Collection<Document>, definition: SchemaDefinition, timed: TimedCall, log: Logger | undefined) {
    this.#collection = collection;
    this.#definition = definition;
    this.#timed = timed;
    this.#log = log;
  }

  /** Asks the server what it is, once per run, for the bulk size it can take. */
  async adaptToServer(db: Db): Promise<void> {
    if (await isFerretDb(db)) this.#chunk = FERRETDB_MAX_BULK;
  }

  async write(batch: MigratedBatch): Promise<WriteOutcome> {
    const size = this.#chunk;
    if (batch.operations.length <= size) return this.#writeBulk(batch);
    let matched = 0;
    const failures: NewFailure[] = [];
    for (let start = 0; start < batch.operations.length; start += size) {
      const part = await this.#writeBulk({ operations: batch.operations.slice(start, start + size), ids: batch.ids.slice(start, start + size), failures: [], unchangedIds: [] });
      matched += part.matched;
      failures.push(...part.failures);
    }
    return { matched, failures };
  }

  async #writeBulk(batch: MigratedBatch): Promise<WriteOutcome> {
    try {
      const result = await this.#timed(() => this.#collection.bulkWrite(batch.operations, { ordered: false }));
      return { matched: result.matchedCount, failures: [] };
    } catch (error) {
      const writeErrors = bulkWriteErrors(error);
      if (writeErrors === undefined) {
        if (isTransientError(error)) throw error;
        return this.#writeOneByOne(batch, error);
      }
      const failures = writeErrors.map((writeError) => this.#writeFailure(batch, writeError.index, writeError.code, writeError.errmsg));
      const matched = (error as { result?: { matchedCount?: number } }).result?.matchedCount ?? 0;
      return { matched, failures };
    }
  }

  /**
   * The bulk failed as a whole without saying which document the server refused (FerretDB does
   * this for a unique index): write the batch one document at a time to find it. When every
   * document fails, the error is not about documents: it ends the run.
   */
  async #writeOneByOne(batch: MigratedBatch, bulkError: unknown): Promise<WriteOutcome> {
    this.#log?.warn({ error: describeError(bulkError) }, 'the bulk write failed as a whole: writing the batch one document at a time');
    let matched = 0;
    const failures: NewFailure[] = [];
    for (const [index, operation] of batch.operations.entries()) {
      if (!('replaceOne' in operation)) continue;
      const { filter, replacement } = operation.replaceOne;
      try {
        matched += (await this.#timed(() => this.#collection.replaceOne(filter, replacement))).matchedCount;
      } catch (error) {
        if (isTransientError(error)) throw error;
        const { code, message } = error as { code?: number; message?: string };
        failures.push(this.#writeFailure(batch, index, code, message));
      }
    }
    if (batch.operations.length > 1 && failures.length === batch.operations.length) throw bulkError;
    return { matched, failures };
  }

  #writeFailure(batch: MigratedBatch, index: number, code: number | undefined, message: string | undefined): NewFailure {
    return {
      documentId: batch.ids[index],
      fromVersion: versionInFilter(batch.operations[index], this.#definition.versionField),
      toVersion: this.#definition.latest,
      error: { name: 'WriteError', message: `the server refused the write (code ${String(code)}): ${message ?? ''}` },
    };
  }
}

async function isFerretDb(db: Db): Promise<boolean> {
  try {
    const buildInfo = await db.admin().command({ buildInfo: 1 });
    return 'ferretdbVersion' in buildInfo || 'ferretdb' in buildInfo;
  } catch {
    return false;
  }
}

interface BulkWriteErrorEntry {
  readonly index: number;
  readonly code?: number;
  readonly errmsg?: string;
}

/** The per-document errors of a `MongoBulkWriteError` (one or many), or `undefined` for any other error. */
function bulkWriteErrors(error: unknown): BulkWriteErrorEntry[] | undefined {
  const writeErrors = (error as { writeErrors?: unknown } | null)?.writeErrors;
  if (writeErrors === undefined || writeErrors === null) return undefined;
  const list = (Array.isArray(writeErrors) ? writeErrors : [writeErrors]) as BulkWriteErrorEntry[];
  return list.length > 0 && list.every((entry) => typeof entry.index === 'number') ? list : undefined;
}

function versionInFilter(operation: AnyBulkWriteOperation<Document> | undefined, versionField: string): number | null {
  const filter = operation && 'replaceOne' in operation ? (operation.replaceOne.filter as Document) : undefined;
  const version: unknown = filter?.[versionField];
  return typeof version === 'number' ? version : null;
}
