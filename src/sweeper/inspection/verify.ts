import { EXAMPLES } from './inspect.js';
import type { Collection, Document, Filter } from 'mongodb';
import { InvalidOptionError } from '../../errors.js';
import { migrationTarget } from '../../migrate/index.js';
import type { SchemaDefinition } from '../../schema/types.js';
import { definitionOf } from '../../schema/definition.js';
import { databaseOf } from '../../server/index.js';
import { checkCollection } from '../arguments.js';
import { DEFAULT_BATCH_SIZE, DEFAULT_FAILURES_COLLECTION, DEFAULT_STATE_COLLECTION } from '../options.js';
import type { SweepableSchema } from '../run/sweep.js';
import { PRIVILEGES, withPrivileges } from '../privileges.js';
import { readControl } from '../control.js';
import { FailureStore } from '../failures.js';

/** What `verifyVersion` found. @public */
export interface VerifyReport {
  readonly collection: string;
  readonly minVersion: number;
  /** Whether every document is at `minVersion` or above. */
  readonly ok: boolean;
  /** Documents below `minVersion` (or whose version field holds something that is not a version). */
  readonly below: number;
  /** Up to 5 of their `_id`s. */
  readonly examples: readonly unknown[];
  /** The collection does not exist (a typo in its name or the database's?): not ok unless `allowMissing`. */
  readonly missing: boolean;
  /**
   * What fixes the documents below: `sweepable` of them a sweep to the latest version migrates
   * (`molt sweep`), `failures` of those are recorded failures (they need their step fixed, then
   * `retryFailed`), and `outOfReach` store a version the schema does not know (not an integer
   * from its first to its latest version, e.g. `"two"`, or below the first): no sweep touches
   * them, they need correcting by hand (`outOfReachExamples`). `pinned`: the collection is pinned
   * below `minVersion` (`molt sweep --to k`), so a sweep brings nothing up to it until unpinned.
   */
  readonly fix: {
    readonly sweepable: number;
    readonly failures: number;
    readonly outOfReach: number;
    readonly outOfReachExamples: readonly unknown[];
    readonly pinned?: { readonly version: number; readonly at: Date; readonly by: string };
  };
}

/** Options of `verifyVersion`. @public */
export interface VerifyOptions {
  /** Pass when the collection does not exist (an environment where it is created later). Default: `false`. */
  readonly allowMissing?: boolean | undefined;
  /** Where the pin is read (see `fix.pinned`). Default: `molt_state`. */
  readonly stateCollection?: string | undefined;
  /** Where failure records are counted (see `fix.failures`). Default: `molt_failures`. */
  readonly failuresCollection?: string | undefined;
}

/**
 * Counts the documents below `minVersion`: the gate before the contract phase (retiring an
 * upcaster, dropping an old field). Reads only. A collection that does not exist fails the gate
 * (a misspelled name must not pass it) unless `options.allowMissing`.
 * @public
 */
export async function verifyVersion<T extends Document>(
  collection: Collection<T>,
  schema: SweepableSchema,
  minVersion: number,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const raw = checkCollection(collection);
  const definition = definitionOf(schema);
  if (!Number.isSafeInteger(minVersion) || minVersion < 1 || minVersion > definition.latest) {
    throw new InvalidOptionError('minVersion', `must be a version of schema "${definition.name}" (1..${definition.latest}), got ${String(minVersion)}.`);
  }
  const vf = definition.versionField;
  // A missing field reads as `unversioned`: it passes when that is at least minVersion.
  const below: Filter<Document> = definition.unversioned >= minVersion
    ? { $and: [{ [vf]: { $ne: null } }, { [vf]: { $not: { $gte: minVersion } } }] }
    : { [vf]: { $not: { $gte: minVersion } } };
  const [count, examples, existing] = await withPrivileges(raw, PRIVILEGES.read(raw.dbName, raw.collectionName), () => Promise.all([
    raw.countDocuments(below),
    raw.find(below, { projection: { _id: 1 } }).sort({ _id: 1 }).limit(EXAMPLES).toArray(),
    databaseOf(raw).listCollections({ name: raw.collectionName }, { nameOnly: true }).toArray(),
  ]));
  // Matched here too: mongo-java-server ignores the filter and lists every collection.
  const missing = !existing.some((entry) => entry.name === raw.collectionName);
  const ok = count === 0 && (!missing || options.allowMissing === true);
  const fix = count === 0 ? { sweepable: 0, failures: 0, outOfReach: 0, outOfReachExamples: [] } : await withPrivileges(raw, PRIVILEGES.read(raw.dbName, raw.collectionName), () => fixOf(raw, definition, below, count, minVersion, options));
  return { collection: raw.collectionName, minVersion, ok, below: count, examples: examples.map((doc) => doc._id), missing, fix };
}

/** Which of the documents below the minimum a sweep migrates, which are recorded failures, which no sweep reaches. */
async function fixOf(raw: Collection<Document>, definition: SchemaDefinition, below: Filter<Document>, count: number, minVersion: number, options: VerifyOptions): Promise<VerifyReport['fix']> {
  const db = databaseOf(raw);
  const sweepable: Filter<Document> = { $and: [below, migrationTarget(definition, definition.latest, 'up').staleFilter] };
  const outOfReach: Filter<Document> = { $and: [below, { $nor: [migrationTarget(definition, definition.latest, 'up').staleFilter] }] };
  const failures = new FailureStore(db, options.failuresCollection ?? DEFAULT_FAILURES_COLLECTION, raw.collectionName, definition.name);
  const [inReach, recorded, examples, control] = await Promise.all([
    raw.countDocuments(sweepable),
    failures.staleCount(raw, sweepable, DEFAULT_BATCH_SIZE, definition.latest),
    raw.find(outOfReach, { projection: { _id: 1 } }).sort({ _id: 1 }).limit(EXAMPLES).toArray(),
    readControl(db, options.stateCollection ?? DEFAULT_STATE_COLLECTION, raw.collectionName),
  ]);
  const pinned = control.pin && control.pin.version < minVersion ? { pinned: control.pin } : {};
  return { sweepable: inReach, failures: recorded, outOfReach: count - inReach, outOfReachExamples: examples.map((doc) => doc._id), ...pinned };
}
