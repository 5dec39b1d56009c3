import { BSON, type Document } from 'mongodb';
import { describeError, DocumentTooLargeError, LossyDowncastError } from '../errors.js';
import { DEFAULT_UPCAST_CONCURRENCY, isPromiseLike, lostFields, mapBounded, migrateDocument, readVersion, type MigrateOptions, type MigrationResult, type MigrationTarget } from '../migrate/index.js';
import type { MaybePromise, SchemaDefinition } from '../schema/types.js';
import { readState, snapshotOfStored, storedWrite, workingCopy, type ReadState, type StoredWrite } from '../storage/index.js';
import type { NewFailure } from './failures.js';

/** A batch migrated in memory: the compare-and-swap replaces to send, and the documents that failed. */
export interface MigratedBatch {
  readonly writes: StoredWrite[];
  readonly failures: NewFailure[];
  /**
   * Documents already stored at the target when read (another writer migrated them after the page
   * was selected): never written, since a compare-and-swap on an unchanged version could overwrite
   * that writer's later updates. They count as skipped.
   */
  readonly unchangedIds: unknown[];
  /** Documents whose way down drops a value (reverse sweeps): written with `allowLoss`, else among the failures. */
  readonly lossyIds: unknown[];
}

type Outcome =
  | { readonly ok: true; readonly id: unknown; readonly write: StoredWrite | undefined; readonly lossy?: boolean }
  | { readonly ok: false; readonly failure: NewFailure; readonly lossy?: boolean };

const MIGRATE_OPTIONS: MigrateOptions = Object.freeze({ validate: 'migrated', onNewerVersion: 'error' });

/** How a batch is migrated: to which target, with document bodies in failure records or not. */
export interface BatchPlan {
  readonly definition: SchemaDefinition;
  readonly target: MigrationTarget;
  readonly captureDocuments: boolean;
  /** How long an async step may take (the engine's default when absent). */
  readonly upcastTimeoutMs?: number;
  /** A reverse sweep writes documents whose way down drops a value (else they are failures). */
  readonly allowLoss?: boolean;
  /** The server's limit for one document (bytes of BSON): a migrated document over it is a failure, never written (nor archived). */
  readonly maxDocumentBytes?: number;
}

/**
 * Migrates and validates each document with the pure engine (synchronously unless a step is
 * async) and builds its compare-and-swap replace when its stored version field is not the
 * target. The documents are as stored (read with `STORED_BSON_OPTIONS`): each is captured once,
 * and the steps work on a copy. A document that throws is a failure; nothing is written here.
 */
export function migrateBatch(plan: BatchPlan, documents: Document[], concurrency = DEFAULT_UPCAST_CONCURRENCY): MigratedBatch | Promise<MigratedBatch> {
  // At most `concurrency` async upcasters at once; synchronous chains stay synchronous.
  // One options object per batch, not per document: this runs for every document swept.
  const options: MigrateOptions = { ...MIGRATE_OPTIONS, to: plan.target.version, ...(plan.upcastTimeoutMs !== undefined ? { upcastTimeoutMs: plan.upcastTimeoutMs } : {}) };
  const outcomes = mapBounded(documents, concurrency, (raw) => migrateOne(plan, options, raw));
  return isPromiseLike<Outcome[]>(outcomes) ? outcomes.then(collect) : collect(outcomes);
}

function collect(outcomes: readonly Outcome[]): MigratedBatch {
  const batch: MigratedBatch = { writes: [], failures: [], unchangedIds: [], lossyIds: [] };
  for (const outcome of outcomes) {
    if (outcome.lossy === true) batch.lossyIds.push(outcome.ok ? outcome.id : outcome.failure.documentId);
    if (!outcome.ok) batch.failures.push(outcome.failure);
    else if (outcome.write === undefined) batch.unchangedIds.push(outcome.id);
    else batch.writes.push(outcome.write);
  }
  return batch;
}

function migrateOne(plan: BatchPlan, options: MigrateOptions, stored: Document): Outcome | Promise<Outcome> {
  const { definition, target, captureDocuments } = plan;
  const snapshot = snapshotOfStored(stored);
  const state = readState(snapshot, target);
  if (!state.needsWrite) return { ok: true, id: state.id, write: undefined };
  const captured = captureDocuments ? snapshot.stored : undefined;
  // Going down, the document as read is compared with the way back (the snapshot: steps work on a copy).
  const down = target.direction === 'down' && state.fromVersion !== null && state.fromVersion > target.version;
  let result: MaybePromise<MigrationResult>;
  try {
    result = migrateDocument(definition, workingCopy(snapshot), options, true);
  } catch (error) {
    return failed(plan, state, error, captured);
  }
  const next = (migrated: MigrationResult): Outcome | Promise<Outcome> => (down ? checkLoss(plan, state, snapshot.value, migrated, captured) : succeeded(plan, state, migrated));
  if (isPromiseLike<MigrationResult>(result)) {
    return result.then(next, (error: unknown) => failed(plan, state, error, captured));
  }
  return next(result);
}

/**
 * A document converted down is brought back up to its stored version and compared with it (the
 * same rule as a pinned update's): what would not come back is lost. Lossy documents are written
 * only with `allowLoss`; otherwise they are `LossyDowncastError` failures.
 */
function checkLoss(plan: BatchPlan, state: ReadState, raw: Document, migrated: MigrationResult, captured: Document | undefined): Outcome | Promise<Outcome> {
  const { definition, target } = plan;
  const field = definition.versionField;
  const storedAt = state.fromVersion as number;
  const judge = (back: MigrationResult): Outcome => {
    const { [field]: _version, ...stored } = raw;
    const lost = lostFields(stored, back.value as Document);
    if (lost.length === 0) return succeeded(plan, state, migrated);
    if (plan.allowLoss === true) return { ...succeeded(plan, state, migrated), lossy: true };
    return { ...failed(plan, state, new LossyDowncastError({ schemaName: definition.name, _id: state.id, fromVersion: storedAt, toVersion: target.version, lost }), captured), lossy: true };
  };
  try {
    const back = migrateDocument(definition, { ...migrated.value, [field]: target.version }, { to: storedAt, validate: 'never', ...(plan.upcastTimeoutMs !== undefined ? { upcastTimeoutMs: plan.upcastTimeoutMs } : {}) }, false);
    return isPromiseLike<MigrationResult>(back) ? back.then(judge, (error: unknown) => failed(plan, state, error, captured)) : judge(back);
  } catch (error) {
    return failed(plan, state, error, captured);
  }
}

function succeeded(plan: BatchPlan, state: ReadState, migrated: MigrationResult): Outcome {
  const write = storedWrite(state, migrated.value, plan.target);
  const maxSize = plan.maxDocumentBytes;
  if (maxSize !== undefined) {
    const size = bsonSize(write.replacement);
    if (size > maxSize) return failed(plan, state, new DocumentTooLargeError({ schemaName: plan.definition.name, _id: state.id, size, maxSize }), undefined);
  }
  return { ok: true, id: state.id, write };
}

/** The size of a document as BSON; a document the serializer refuses is infinitely large. */
function bsonSize(document: Document): number {
  try {
    return BSON.calculateObjectSize(document);
  } catch {
    return Infinity;
  }
}

function failed(plan: BatchPlan, state: ReadState, error: unknown, captured: Document | undefined): Outcome {
  return { ok: false, failure: toFailure(plan.definition, plan.target, state.id, state.fromVersion, error, captured) };
}

/** A failure record for a document read at `versionRead` (normalised to the version it reads as). */
export function toFailure(definition: SchemaDefinition, target: MigrationTarget, id: unknown, versionRead: number | null, error: unknown, captured?: Document): NewFailure {
  let fromVersion: number | null = versionRead;
  try {
    fromVersion = readVersion(definition, { [definition.versionField]: versionRead });
  } catch {
    // The stored value is not a version: keep what was read.
  }
  const { name, message } = describeError(error);
  return { documentId: id, fromVersion, toVersion: target.version, error: { name, message }, ...(captured ? { document: captured } : {}) };
}
