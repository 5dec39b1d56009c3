import type { Collection, Document, Filter } from 'mongodb';
import { limited, type OperationLimit } from '../server/index.js';

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
