import type { SchemaDefinition } from '../schema/types.js';
import type { PlainObject } from '../steps/paths.js';
import { carryToVersion } from './carry.js';
import { plainVersion, readVersion } from './read-version.js';

/** A query filter as plain data: the engine builds filters but never sends them. */
export type PlainFilter = Readonly<Record<string, unknown>>;

/**
 * Which stored documents a target migrates: `up` those below it (a forward sweep), `down` those
 * above it (a reverse sweep), `any` every other version (update-time migration to the write version).
 */
export type Direction = 'up' | 'down' | 'any';

/**
 * "Migrate to version X", generated once: the target, its direction, and the one definition of
 * "stale" both as a server filter and as a JavaScript check, so that the sweeper, the wrapper and
 * the inspection functions never disagree. Filters on stored documents are built here (and only
 * here): query translation will hook in at this point.
 */
export interface MigrationTarget {
  readonly version: number;
  readonly direction: Direction;
  readonly versionField: string;
  /** `up:3`, `down:2`, `any:3`: the key of checkpoints kept per target. */
  readonly key: string;
  /**
   * The documents this target migrates: `{ <vf>: { $in: [null?, …versions] } }`. `null` also
   * matches a missing field: a document without the field is stale even when `unversioned` is
   * the target, since it still has to be stamped. Values that are not versions are left out.
   */
  readonly staleFilter: PlainFilter;
  /** The stored versions `staleFilter` matches (`null`: no version field). */
  readonly staleVersions: readonly (number | null)[];
  /** Documents stored at exactly the target version. */
  readonly atTarget: PlainFilter;
  /** Documents stored at anything else, a missing field, newer versions and non-versions included. */
  readonly notAtTarget: PlainFilter;
  /** The JavaScript form of `staleFilter`, for a stored version field's value. */
  isStaleValue(stored: unknown): boolean;
  /**
   * Whether a stored document must be written to be at the target: its version field is not the
   * target (a missing field included, even when the document reads as the target version).
   */
  needsWrite(raw: Readonly<Record<string, unknown>>): boolean;
  /** `filter` restricted to documents at the target. */
  restrictToTarget(filter: PlainFilter): PlainFilter;
  /**
   * A stored document (version field included) laid out at the target's paths, each value as it
   * is: what a declarative step renamed or converted sits at its new path (see `carryToVersion`).
   * Storage compares the migrated document with it, so a value a step only moved keeps its BSON type.
   */
  carry(stored: PlainObject): PlainObject;
}

/** Builds the target "migrate to `version`" of a schema, in one `direction`. */
export function migrationTarget(definition: SchemaDefinition, version: number, direction: Direction): MigrationTarget {
  const field = definition.versionField;
  const versions: number[] = [];
  for (let stored = definition.first; stored <= definition.latest; stored++) {
    if (stored === version) continue;
    if (direction === 'up' && stored > version) continue;
    if (direction === 'down' && stored < version) continue;
    versions.push(stored);
  }
  const unversioned = definition.unversioned;
  const includesNull = direction === 'up' ? unversioned <= version : direction === 'down' ? unversioned >= version : true;
  const staleVersions: (number | null)[] = includesNull ? [null, ...versions] : versions;
  const numeric = new Set(versions);
  // The equality alone would also match an array holding the version (MongoDB's array semantics):
  // such a field is not a version, and an update must not run on it. The equality stays a plain
  // `{ <vf>: version }`, so that an upsert takes the version from it on every server.
  const atTarget = Object.freeze({ [field]: version, $nor: [{ [field]: { $type: 'array' } }] });
  return Object.freeze({
    version,
    direction,
    versionField: field,
    key: `${direction}:${version}`,
    staleFilter: Object.freeze({ [field]: { $in: staleVersions } }),
    staleVersions: Object.freeze(staleVersions),
    atTarget,
    // Not `$ne`: that would also skip an array holding the version, which is not at any version.
    notAtTarget: Object.freeze({ $or: [{ [field]: { $ne: version } }, { [field]: { $type: 'array' } }] }),
    isStaleValue: (stored: unknown) => (stored === null || stored === undefined ? includesNull : typeof stored === 'number' && numeric.has(stored)),
    needsWrite: (raw: Readonly<Record<string, unknown>>) => plainVersion(raw[field]) !== version,
    restrictToTarget: (filter: PlainFilter) => andFilters(filter, atTarget),
    carry: (stored: PlainObject) => carryToVersion(definition, storedVersionOf(definition, stored), version, stored),
  });
}

/**
 * Both filters: merged into one object when their fields do not overlap (so that an upsert takes
 * the version field from it as an equality), else `{ $and: [a, b] }`.
 */
export function andFilters(a: PlainFilter, b: PlainFilter): PlainFilter {
  for (const key of Object.keys(b)) {
    if (key in a) return { $and: [a, b] };
  }
  return { ...a, ...b };
}

/**
 * The first version (from the latest down) without a downcaster on the way to `version`, or
 * `undefined` when the chain can go all the way down: one check for pinned writes, reverse sweeps
 * and shadow round trips.
 */
export function missingDowncaster(definition: SchemaDefinition, version: number): number | undefined {
  for (let above = definition.latest; above > version; above--) {
    if (definition.entries[above - definition.first]?.down === undefined) return above;
  }
  return undefined;
}

/** The version a document is stored at; an unreadable version field carries nothing (no step ran from it). */
function storedVersionOf(definition: SchemaDefinition, stored: PlainObject): number {
  try {
    return readVersion(definition, stored);
  } catch {
    return definition.latest + 1;
  }
}
