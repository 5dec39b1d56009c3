import type { Document } from 'mongodb';
import type { MigratedBatch } from '../batch.js';
import { idKey } from '../failures.js';

/**
 * A batch cut right after the failure that spends the `maxFailures` budget: the documents after it
 * (in `_id` order) are neither written nor counted, so a sweep with `maxFailures: 1` stops at one
 * failure, and the checkpoint (`lastId`) resumes right after it.
 */
export interface CutBatch {
  readonly batch: MigratedBatch;
  readonly documents: Document[];
  /** The `_id` of the last document kept: where the checkpoint goes. */
  readonly lastId: unknown;
}

/** `undefined` when the batch stays within `allowed` more failures; else the batch cut at the `allowed`-th failure. */
export function cutAtFailureBudget(documents: Document[], batch: MigratedBatch, allowed: number): CutBatch | undefined {
  if (batch.failures.length <= allowed || allowed <= 0) return undefined;
  const last = batch.failures[allowed - 1];
  if (last === undefined) return undefined;
  const lastKey = idKey(last.documentId);
  const index = documents.findIndex((doc) => idKey(doc._id) === lastKey);
  if (index < 0) return undefined;
  const kept = documents.slice(0, index + 1);
  const keys = new Set(kept.map((doc) => idKey(doc._id)));
  return {
    batch: {
      writes: batch.writes.filter((write) => keys.has(idKey(write.id))),
      failures: batch.failures.slice(0, allowed),
      unchangedIds: batch.unchangedIds.filter((id) => keys.has(idKey(id))),
      lossyIds: batch.lossyIds.filter((id) => keys.has(idKey(id))),
    },
    documents: kept,
    lastId: kept[index]?._id,
  };
}
