import type { Collection, Document, Filter } from 'mongodb';
import { databaseOf, limited, type OperationLimit } from '../server/index.js';

/** The index that serves the stale filter sorted by `_id`. */
export function staleIndexKey(versionField: string): Record<string, 1> {
  return { [versionField]: 1, _id: 1 };
}

/**
 * Creates `{ <vf>: 1, _id: 1 }` unless an index with that key exists (under any name). Safe under
 * races: a failed create is checked again before it is an error.
 *
 * The index lives on the app's collection and every write pays for it: it is the cheapest one that
 * serves the sweep on the server at hand (`unique` only where the server needs it to look
 * documents up, see `ServerCapabilities.uniqueStaleIndex`). It holds `_id`, so uniqueness can
 * never be violated.
 */
export async function ensureStaleIndex(collection: Collection<Document>, versionField: string, unique: boolean, limit?: OperationLimit): Promise<void> {
  const key = staleIndexKey(versionField);
  if (await hasIndex(collection, key, limit)) return;
  try {
    await collection.createIndex(key, limited(unique ? { unique: true } : {}, limit));
  } catch (error) {
    if (await hasIndex(collection, key, limit)) return;
    throw error;
  }
}

/** Whether the collection has the stale-version index `{ <vf>: 1, _id: 1 }` (under any name); `false` when the collection does not exist. */
export function hasStaleIndex(collection: Collection<Document>, versionField: string, limit?: OperationLimit): Promise<boolean> {
  return hasIndex(collection, staleIndexKey(versionField), limit);
}

async function hasIndex(collection: Collection<Document>, key: Record<string, 1>, limit: OperationLimit | undefined): Promise<boolean> {
  let indexes: Document[];
  try {
    indexes = await collection.listIndexes(limited({}, limit)).toArray();
  } catch (error) {
    if ((error as { code?: unknown }).code === 26) return false; // NamespaceNotFound: no collection yet
    throw error;
  }
  const wanted = JSON.stringify(Object.entries(key));
  return indexes.some((index) => JSON.stringify(Object.entries((index.key ?? {}) as Document).map(([k, v]) => [k, Number(v)])) === wanted);
}

/** The stale documents among these `_id`s. */
export function idsFilter(stale: Readonly<Document>, ids: readonly unknown[]): Filter<Document> {
  return { $and: [stale, { _id: { $in: ids } }] } as Filter<Document>;
}

/**
 * Whether the stale-version index exists and, when it does not, what building it costs: the
 * documents it covers and the collection's data size (the first real sweep with stale documents
 * builds it; on a large collection that is its costliest step). `bytes` is absent where the
 * server does not report it. @public
 */
export interface StaleIndexState {
  /** The key: `{ <versionField>: 1, _id: 1 }`. */
  readonly key: Readonly<Record<string, 1>>;
  readonly present: boolean;
  /** Documents in the collection: the entries a build writes. */
  readonly documents: number;
  /** The collection's data size in bytes (`collStats`), which a build reads through. */
  readonly bytes?: number;
}

/** The stale-version index's state, and the collection's size (what `molt status` and `molt check` report). */
export async function staleIndexState(collection: Collection<Document>, versionField: string, limit?: OperationLimit): Promise<StaleIndexState> {
  const key = staleIndexKey(versionField);
  const [present, stats] = await Promise.all([
    hasIndex(collection, key, limit),
    databaseOf(collection).command({ collStats: collection.collectionName }, limited({}, limit)).catch(() => undefined) as Promise<Document | undefined>,
  ]);
  const documents = typeof stats?.count === 'number' ? stats.count : await collection.estimatedDocumentCount(limited({}, limit));
  const bytes = Number(stats?.size);
  return { key, present, documents, ...(Number.isFinite(bytes) ? { bytes } : {}) };
}
