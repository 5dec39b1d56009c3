import type { Document, Filter } from 'mongodb';
import type { MigrationTarget } from '../migrate/index.js';

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

/** What a stored document was, captured before it is migrated (in place): where its write goes. */
export interface ReadState {
  readonly id: unknown;
  /** The compare-and-swap filter: the write applies only if the document is still as read. */
  readonly filter: Filter<Document>;
  /** The version field as read: `null` when absent (or not a number). */
  readonly fromVersion: number | null;
  /** Whether the stored version field differs from the target's version: only then is a write needed. */
  readonly needsWrite: boolean;
}

/**
 * Captures, before a raw document is migrated in place, what its write needs: the CAS filter (per
 * `compareOn`), the version read, and whether the document needs a write at all (its stored
 * version field against the target, not whether an upcaster ran).
 */
export function readState(raw: Readonly<Document>, target: MigrationTarget, compareOn: CompareOn): ReadState {
  const field = target.versionField;
  return { id: raw._id, filter: casFilterFor(raw, field, compareOn), fromVersion: storedVersion(raw, field), needsWrite: target.needsWrite(raw) };
}

/** A compare-and-swap replace, ready for the bulk writer. */
export interface StoredWrite {
  readonly id: unknown;
  readonly filter: Filter<Document>;
  readonly replacement: Document;
  readonly fromVersion: number | null;
}

/** The write that stores `value` at the target, for a document read as `state`. */
export function storedWrite(state: ReadState, value: object, target: MigrationTarget): StoredWrite {
  return { id: state.id, filter: state.filter, replacement: stampVersion(value, target.versionField, target.version), fromVersion: state.fromVersion };
}

/** The document as stored: the value plus the version field (the value is not modified). */
export function stampVersion<T extends object>(value: T, versionField: string, version: number): T & Document {
  return { ...value, [versionField]: version };
}
