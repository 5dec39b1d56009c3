import { BSON, type Collection, type DistinctOptions, type Document, type Filter } from 'mongodb';
import { andFilters, isPromiseLike, migrationTarget } from '../migrate/index.js';
import type { SchemaDefinition } from '../schema/types.js';
import type { DocumentReader } from './reader.js';

/**
 * `distinct` over the latest shape: documents at the latest version are asked of the server;
 * stale ones matching the filter are upcast and their values merged in.
 */
export async function distinctLatest(
  collection: Collection<Document>,
  definition: SchemaDefinition,
  reader: DocumentReader,
  key: string,
  filter: Filter<Document>,
  options: DistinctOptions,
): Promise<unknown[]> {
  // The one definition of "at the latest version" (an array holding the version is not).
  const latest = migrationTarget(definition, definition.latest, 'any');
  const current = await collection.distinct(key, andFilters(filter, latest.atTarget) as Filter<Document>, options);
  const seen = new Map<string, unknown>();
  for (const value of current) seen.set(distinctKey(value), value);
  const staleOptions = options.session ? { session: options.session } : {};
  const path = key.split('.');
  for await (const raw of collection.find(andFilters(filter, latest.notAtTarget) as Filter<Document>, staleOptions)) {
    const read = reader.read(raw);
    const doc = isPromiseLike<Document>(read) ? await read : read;
    for (const value of valuesAt(doc, path)) {
      const mapKey = distinctKey(value);
      if (!seen.has(mapKey)) seen.set(mapKey, value);
    }
  }
  return [...seen.values()];
}

function distinctKey(value: unknown): string {
  return Buffer.from(BSON.serialize({ v: value })).toString('base64');
}

/** The values `distinct` collects at a dotted path: arrays are unwound, as the server does. */
function valuesAt(value: unknown, path: readonly string[]): unknown[] {
  if (Array.isArray(value)) return value.flatMap((item) => valuesAt(item, path));
  if (path.length === 0) return value === undefined ? [] : [value];
  if (typeof value !== 'object' || value === null) return [];
  const [head, ...rest] = path;
  return valuesAt((value as Document)[head as string], rest);
}
