import type { Document, Filter } from 'mongodb';

/**
 * The filter of a compare-and-swap write-back: the document's `_id` and the version it was read
 * at. A document migrated or rewritten at another version in between no longer matches, so a
 * write-back never overwrites it; a missing version field matches `null` (unversioned).
 */
export function casFilter(id: unknown, versionField: string, versionRead: number | null): Filter<Document> {
  return { _id: id, [versionField]: versionRead } as Filter<Document>;
}

/** The version a raw document was read at, as the CAS filter must compare it: `null` when absent. */
export function storedVersion(raw: Readonly<Document>, versionField: string): number | null {
  const value: unknown = raw[versionField];
  return typeof value === 'number' ? value : null;
}

/** The document as stored: the value plus the version field (the value is not modified). */
export function stampVersion<T extends object>(value: T, versionField: string, version: number): T & Document {
  return { ...value, [versionField]: version };
}
