import { InvalidVersionError } from '../errors.js';
import type { SchemaDefinition } from '../schema/types.js';

/**
 * The version a raw stored document is at: its version field, or `unversioned` when the field is
 * missing or null. Throws an `InvalidVersionError` for anything that is not a positive integer or
 * is below the first registered version. A version above `latest` is returned as is: the caller
 * decides whether a newer document is an error.
 */
export function readVersion(definition: SchemaDefinition, raw: Readonly<Record<string, unknown>>): number {
  const stored = raw[definition.versionField];
  if (stored === undefined || stored === null) return definition.unversioned;
  if (typeof stored === 'number' && Number.isSafeInteger(stored) && stored > 0) {
    if (stored >= definition.first) return stored;
    throw invalid(definition, raw, stored, `the schema's first registered version is ${definition.first}`);
  }
  const numeric = toNumber(stored);
  if (numeric !== undefined && Number.isSafeInteger(numeric) && numeric >= definition.first) return numeric;
  throw invalid(definition, raw, stored, 'a version is a positive integer');
}

/**
 * A stored version field as a plain value: a BSON Int32/Long/Double wrapper or a bigint (what a
 * driver set to promote nothing, or to `useBigInt64`, decodes) as its number; anything else as is.
 * Decisions about a version (is it the target?) do not depend on how the app decodes numbers.
 */
export function plainVersion(value: unknown): unknown {
  return toNumber(value) ?? value;
}

/** BSON Int32/Long/Double wrappers (when a driver is set to promote nothing) hold a number too. */
function toNumber(value: unknown): number | undefined {
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'object' && value !== null && '_bsontype' in value) {
    const wrapped = value as { toNumber?: () => number; valueOf(): unknown };
    const n = typeof wrapped.toNumber === 'function' ? wrapped.toNumber() : wrapped.valueOf();
    return typeof n === 'number' ? n : undefined;
  }
  return undefined;
}

function invalid(definition: SchemaDefinition, raw: Readonly<Record<string, unknown>>, version: unknown, reason: string): InvalidVersionError {
  return new InvalidVersionError({
    schemaName: definition.name,
    _id: raw._id,
    version,
    versionField: definition.versionField,
    reason,
  });
}
