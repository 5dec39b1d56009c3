import type { Collection, Document } from 'mongodb';
import type { Logger } from 'pino';
import type { MigrationTarget } from '../../migrate/index.js';
import { limited, type OperationLimit } from '../../server/index.js';
import { idKey, type FailureStore } from '../failures.js';
import { STORED_BSON_OPTIONS } from '../../storage/index.js';
import { idsFilter } from '../stale.js';
import type { Outcome } from './tally.js';

/** What the retry-failed phase needs of the run that drives it. */
export interface RetryFailedContext {
  readonly collection: Collection<Document>;
  readonly target: MigrationTarget;
  readonly failures: FailureStore;
  readonly batchSize: number;
  readonly dryRun: boolean;
  readonly log: Logger | undefined;
  readonly limit: OperationLimit | undefined;
  shouldStop(): Outcome | undefined;
  interrupted(): Outcome;
  startBatch(): void;
  timed<T>(operation: () => Promise<T>): Promise<T>;
  retry<T>(operation: () => Promise<T>): Promise<T>;
  process(documents: Document[], retrying: boolean): Promise<boolean>;
  afterBatch(batchLength: number): Promise<Outcome | undefined>;
}

/**
 * Drives the recorded failures again (after a fix): those that now migrate, are gone, or are no
 * longer stale lose their record. Returns an outcome when the run must stop, else `undefined`.
 */
export async function retryFailedPhase(run: RetryFailedContext): Promise<Outcome | undefined> {
  const pages = run.failures.pages(run.batchSize);
  let lastRecord: unknown = null;
  try {
    for (;;) {
      const stop = run.shouldStop();
      if (stop) return stop;
      run.startBatch();
      const records = await pages.next(lastRecord);
      if (records.length === 0) return undefined;
      lastRecord = records.at(-1)?._id;
      const ids = records.map((record) => record.documentId as unknown);
      const documents = await run.timed(() => run.collection.find(idsFilter(run.target.staleFilter, ids), limited({ ...STORED_BSON_OPTIONS }, run.limit)).toArray());
      const found = new Set(documents.map((doc) => idKey(doc._id)));
      const gone = ids.filter((id) => !found.has(idKey(id)));
      if (!run.dryRun && gone.length > 0) await run.retry(() => run.failures.clear(gone));
      run.log?.info({ retrying: documents.length, cleared: gone.length }, 'retrying recorded failures');
      if (!(await run.process(documents, true))) return run.interrupted();
      const after = await run.afterBatch(documents.length);
      if (after) return after;
    }
  } finally {
    await pages.close();
  }
}
