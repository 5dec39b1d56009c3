import type { Document, Filter } from 'mongodb';

/**
 * The filter of a compare-and-swap write-back: the document's `_id` and the version it was read
 * at. A document migrated or rewritten at another version in between no longer matches, so a
 * write-back never overwrites it; a missing version field matches `null` (unversioned).
 */
export function casFilter(id: unknown, versionField: string, versionRead: number | null): Filter<Document> {
  return { _id: id, [versionField]: versionRead } as Filter<Document>;
}

/**
 * What a compare-and-swap compares: `version` (the default) matches `{ _id, <versionField>: <version
 * read> }`, so a document migrated or rewritten at another version in between is never overwritten;
 * `document` also compares every top-level field as read, so a write that changed the document
 * without changing its version (older code or a plain driver writing in place) is not overwritten
 * either. `document` sends bigger filters.
 * @public
 */
export const CompareOn = Object.freeze({ VERSION: 'version', DOCUMENT: 'document' } as const);
/** @public */
export type CompareOn = (typeof CompareOn)[keyof typeof CompareOn];

/**
 * The compare-and-swap filter for a raw document as it was read. Call it before the document is
 * migrated in place.
 */
export function casFilterFor(raw: Readonly<Document>, versionField: string, compareOn: CompareOn): Filter<Document> {
  if (compareOn === 'version') return casFilter(raw._id, versionField, storedVersion(raw, versionField));
  return { ...raw, [versionField]: raw[versionField] ?? null } as Filter<Document>;
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
