import type { AnyBulkWriteOperation, Document } from 'mongodb';
import { casFilter, stampVersion, storedVersion } from '../collection/compare-and-swap.js';
import { DEFAULT_UPCAST_CONCURRENCY, isPromiseLike, mapBounded, migrateDocument, readVersion, type MigrateOptions } from '../migrate/index.js';
import type { SchemaDefinition } from '../schema/types.js';
import type { NewFailure } from './failures.js';

/** A batch migrated in memory: the compare-and-swap replaces to send, and the documents that failed. */
export interface MigratedBatch {
  readonly operations: AnyBulkWriteOperation<Document>[];
  /** The `_id` of each operation, in the same order. */
  readonly ids: unknown[];
  readonly failures: NewFailure[];
  /**
   * Documents already at the latest version when read (another writer migrated them after the page
   * was selected): never written, since a compare-and-swap on an unchanged version could overwrite
   * that writer's later updates. They count as skipped.
   */
  readonly unchangedIds: unknown[];
}

type Outcome =
  | { readonly ok: true; readonly id: unknown; readonly operation: AnyBulkWriteOperation<Document> | undefined }
  | { readonly ok: false; readonly failure: NewFailure };

const MIGRATE_OPTIONS: MigrateOptions = Object.freeze({ validate: 'migrated', onNewerVersion: 'error' });

/**
 * Upcasts and validates each stale document with the pure engine (synchronously unless a step is
 * async) and builds `replaceOne({ _id, <vf>: <version read> }, <latest, stamped>)` for each. A
 * document that throws is a failure; nothing is written here.
 */
export function migrateBatch(
  definition: SchemaDefinition,
  documents: Document[],
  captureDocuments: boolean,
  concurrency = DEFAULT_UPCAST_CONCURRENCY,
): MigratedBatch | Promise<MigratedBatch> {
  const outcomes = mapBounded(documents, concurrency, (raw) => migrateOne(definition, raw, captureDocuments));
  return isPromiseLike<Outcome[]>(outcomes) ? outcomes.then(collect) : collect(outcomes);
}

function collect(outcomes: readonly Outcome[]): MigratedBatch {
  const batch: MigratedBatch = { operations: [], ids: [], failures: [], unchangedIds: [] };
  for (const outcome of outcomes) {
    if (outcome.ok && outcome.operation === undefined) {
      batch.unchangedIds.push(outcome.id);
    } else if (outcome.ok) {
      batch.operations.push(outcome.operation as AnyBulkWriteOperation<Document>);
      batch.ids.push(outcome.id);
    } else {
      batch.failures.push(outcome.failure);
    }
  }
  return batch;
}

function migrateOne(definition: SchemaDefinition, raw: Document, captureDocuments: boolean): Outcome | Promise<Outcome> {
  const { versionField, latest } = definition;
  const id: unknown = raw._id;
  const versionRead = storedVersion(raw, versionField);
  const captured = captureDocuments ? { ...raw } : undefined;
  const fail = (error: unknown): Outcome => ({ ok: false, failure: toFailure(definition, id, versionRead, error, captured) });
  try {
    const result = migrateDocument(definition, raw, MIGRATE_OPTIONS, !captureDocuments);
    const ok = (migrated: { value: Record<string, unknown>; changed: boolean }): Outcome => ({
      ok: true,
      id,
      operation: migrated.changed
        ? { replaceOne: { filter: casFilter(id, versionField, versionRead), replacement: stampVersion(migrated.value, versionField, latest) } }
        : undefined,
    });
    return isPromiseLike<{ value: Record<string, unknown>; changed: boolean }>(result) ? result.then(ok, fail) : ok(result);
  } catch (error) {
    return fail(error);
  }
}

function toFailure(definition: SchemaDefinition, id: unknown, versionRead: number | null, error: unknown, captured: Document | undefined): NewFailure {
  let fromVersion: number | null = versionRead;
  try {
    fromVersion = readVersion(definition, { [definition.versionField]: versionRead });
  } catch {
    // The stored value is not a version: keep what was read.
  }
  const { name, message } = describeError(error);
  return { documentId: id, fromVersion, toVersion: definition.latest, error: { name, message }, ...(captured ? { document: captured } : {}) };
}

/** The name and message of anything thrown. */
export function describeError(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}
