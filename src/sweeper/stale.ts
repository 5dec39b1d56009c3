import type { Collection, Db, Document, Filter } from 'mongodb';
import { InvalidOptionError } from '../errors.js';
import type { SchemaDefinition } from '../schema/types.js';

/**
 * The documents below the latest version: `{ <vf>: { $in: [null, first … latest-1] } }`. `null`
 * also matches a missing field (documents written before the library was adopted). Versions above
 * `latest` (newer code) and values that are not versions are left alone.
 */
export function staleFilter(definition: SchemaDefinition): Filter<Document> {
  const versions: (number | null)[] = [null];
  for (let version = definition.first; version < definition.latest; version++) versions.push(version);
  return { [definition.versionField]: { $in: versions } } as Filter<Document>;
}

/** The index that serves the stale filter sorted by `_id`. */
export function staleIndexKey(definition: SchemaDefinition): Record<string, 1> {
  return { [definition.versionField]: 1, _id: 1 };
}

/**
 * Creates `{ <vf>: 1, _id: 1 }` unless an index with that key exists (under any name). Safe under
 * races: a failed create is checked again before it is an error.
 *
 * The index is created `unique`: it holds `_id`, so uniqueness can never be violated, and servers
 * that look documents up only through unique indexes (mongo-java-server) then serve every
 * compare-and-swap filter `{ _id, <vf> }` from it instead of scanning the collection.
 */
export async function ensureStaleIndex(collection: Collection<Document>, definition: SchemaDefinition): Promise<void> {
  const key = staleIndexKey(definition);
  if (await hasIndex(collection, key)) return;
  try {
    await collection.createIndex(key, { unique: true });
  } catch (error) {
    if (await hasIndex(collection, key)) return;
    throw error;
  }
}

async function hasIndex(collection: Collection<Document>, key: Record<string, 1>): Promise<boolean> {
  let indexes: Document[];
  try {
    indexes = await collection.listIndexes().toArray();
  } catch (error) {
    if ((error as { code?: unknown }).code === 26) return false; // NamespaceNotFound: no collection yet
    throw error;
  }
  const wanted = JSON.stringify(Object.entries(key));
  return indexes.some((index) => JSON.stringify(Object.entries((index.key ?? {}) as Document).map(([k, v]) => [k, Number(v)])) === wanted);
}

/** The database of a collection, for the state and failures collections beside it. */
export function databaseOf(collection: Collection<Document>): Db {
  const db = (collection as { db?: Db }).db ?? (collection as unknown as { s?: { db?: Db } }).s?.db;
  if (db === undefined) {
    throw new InvalidOptionError('collection', 'must be a collection of the mongodb driver (>= 6.10): its database could not be found.');
  }
  return db;
}

/** The stale filter after a keyset position: `{ $and: [stale, { _id: { $gt: lastId } }] }` (the stale filter alone at the start). */
export function pageFilter(stale: Filter<Document>, lastId: unknown): Filter<Document> {
  return (lastId === null ? stale : { $and: [stale, { _id: { $gt: lastId } }] }) as Filter<Document>;
}

/** The stale documents among these `_id`s. */
export function idsFilter(stale: Filter<Document>, ids: readonly unknown[]): Filter<Document> {
  return { $and: [stale, { _id: { $in: ids } }] } as Filter<Document>;
}
