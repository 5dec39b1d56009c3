import type { Collection, Document } from 'mongodb';
import { describeId, InvalidOptionError } from '../../errors.js';
import { losesSomething, migrate, migrationTarget, readVersion, type MigrationTarget } from '../../migrate/index.js';
import type { SchemaDefinition } from '../../schema/types.js';
import { declaredKeys, undeclaredKeys } from '../../schema/zod/index.js';
import { definitionOf } from '../../schema/definition.js';
import { databaseOf } from '../../server/index.js';
import { checkCollection } from '../arguments.js';
import { migrateBatch } from '../batch.js';
import { DEFAULT_BATCH_SIZE, DEFAULT_FAILURES_COLLECTION, DEFAULT_STATE_COLLECTION } from '../options.js';
import { PlanStore, type PlanSummary } from '../plan/store.js';
import { serverPlan, type ServerPlan } from '../server-plan.js';
import { KeysetPages } from '../stale-pages.js';
import { readSweepState, type SweepCheckpoint, type SweepLease, type SweepStateDocument } from '../state.js';
import type { SweepableSchema } from '../run/sweep.js';
import { PRIVILEGES, withPrivileges } from '../privileges.js';
import { readControl, type SweepControl } from '../control.js';
import { staleIndexState, type StaleIndexState } from '../stale.js';

/** How many documents are stored at one version. `null`: no version field (read as `unversioned`); a string: a stored value that is not a version. @public */
export interface VersionCount {
  readonly version: number | null | string;
  readonly count: number;
}

/** Where a collection stands (what `molt status` shows). @public */
export interface MigrationStatus {
  readonly collection: string;
  readonly schema: string;
  readonly versionField: string;
  readonly latest: number;
  readonly total: number;
  /** Documents below the latest version (what the sweeper would migrate), failures included. */
  readonly stale: number;
  /** Documents per stored version, ascending (`null` first): one aggregation. */
  readonly histogram: readonly VersionCount[];
  readonly checkpoint: SweepCheckpoint | null;
  /** The lease, when a run holds one that has not expired. */
  readonly lease: SweepLease | null;
  /** Documents with a failure record. */
  readonly failures: number;
  readonly lastRun: SweepStateDocument['lastRun'];
  /** The stored control: paused (`molt pause`), pinned at a version (`molt sweep --to k`). */
  readonly control: SweepControl;
  /** Whether the stale-version index exists, and what building it costs. */
  readonly staleIndex: StaleIndexState;
  /** The latest plan of the latest version (runs with `workers`): its ranges done, claimed by owner and free; `null` when none was made. */
  readonly plan?: (PlanSummary & { readonly completedAt: Date | null }) | null;
}

/** Options of `migrationStatus`. @public */
export interface MigrationStatusOptions {
  /** Default: `molt_state`. */
  readonly stateCollection?: string | undefined;
  /** Default: `molt_failures`. */
  readonly failuresCollection?: string | undefined;
}

/** The version histogram, stale count, checkpoint, lease, failures count and last run of a collection. Reads only. @public */
export async function migrationStatus<T extends Document>(collection: Collection<T>, schema: SweepableSchema, options: MigrationStatusOptions = {}): Promise<MigrationStatus> {
  const raw = checkCollection(collection);
  const molt = [options.stateCollection ?? DEFAULT_STATE_COLLECTION, options.failuresCollection ?? DEFAULT_FAILURES_COLLECTION];
  return withPrivileges(raw, PRIVILEGES.read(raw.dbName, raw.collectionName, ...molt), () => statusOf(raw, schema, options));
}

async function statusOf(raw: Collection<Document>, schema: SweepableSchema, options: MigrationStatusOptions): Promise<MigrationStatus> {
  const definition = definitionOf(schema);
  const db = databaseOf(raw);
  const failuresCollection = options.failuresCollection ?? DEFAULT_FAILURES_COLLECTION;
  const stateCollection = options.stateCollection ?? DEFAULT_STATE_COLLECTION;
  const [groups, state, failures, control, staleIndex] = await Promise.all([
    // One $group with a single $sum: servers that implement $group partially (FerretDB) agree on this one.
    raw.aggregate<{ _id: unknown; count: number }>([{ $group: { _id: `$${definition.versionField}`, count: { $sum: 1 } } }]).toArray(),
    readSweepState(db, stateCollection, raw.collectionName, definition.name),
    db.collection(failuresCollection).countDocuments({ collection: raw.collectionName }),
    readControl(db, stateCollection, raw.collectionName),
    staleIndexState(raw, definition.versionField),
  ]);
  const histogram = mergeCounts(groups.map((group) => ({ version: toVersionKey(group._id), count: group.count })));
  const total = histogram.reduce((sum, entry) => sum + entry.count, 0);
  const target = migrationTarget(definition, definition.latest, 'up');
  const stale = histogram.reduce((sum, entry) => sum + (target.isStaleValue(entry.version) ? entry.count : 0), 0);
  const lease = state?.lease && state.lease.expiresAt.getTime() > Date.now() ? state.lease : null;
  const plans = new PlanStore(db, options.stateCollection ?? DEFAULT_STATE_COLLECTION, raw.collectionName, definition.name, target, 0, 0);
  const latestPlan = await plans.latest();
  const plan = latestPlan === null ? null : { ...(await plans.summary(latestPlan)), completedAt: latestPlan.completedAt };
  return {
    collection: raw.collectionName,
    schema: definition.name,
    versionField: definition.versionField,
    latest: definition.latest,
    total,
    stale,
    histogram,
    checkpoint: state?.checkpoint ?? null,
    lease,
    failures,
    lastRun: state?.lastRun ?? null,
    control,
    staleIndex,
    plan,
  };
}

function toVersionKey(value: unknown): number | null | string {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value;
  const numeric = Number((value as { valueOf(): unknown }).valueOf());
  if (typeof value === 'object' && '_bsontype' in (value as object) && Number.isFinite(numeric)) return numeric;
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function mergeCounts(entries: VersionCount[]): VersionCount[] {
  const merged = new Map<number | null | string, number>();
  for (const entry of entries) merged.set(entry.version, (merged.get(entry.version) ?? 0) + entry.count);
  const rank = (version: number | null | string): number => (version === null ? -Infinity : typeof version === 'number' ? version : Infinity);
  return [...merged].map(([version, count]) => ({ version, count })).sort((a, b) => rank(a.version) - rank(b.version) || String(a.version).localeCompare(String(b.version)));
}

/** Failures of one kind, found by `checkMigration`. @public */
export interface CheckFailureGroup {
  /** The error class, e.g. `UpcastError`, `ValidationError`. */
  readonly error: string;
  /** The message, with the document's `_id` replaced by `<_id>` so that failures of one cause group together. */
  readonly message: string;
  readonly count: number;
  /** Up to 5 `_id`s of documents that fail this way. */
  readonly examples: readonly unknown[];
}

/** What `checkMigration` found. @public */
export interface CheckReport {
  readonly collection: string;
  readonly targetVersion: number;
  /** Stale documents checked. */
  readonly checked: number;
  readonly passed: number;
  readonly failed: number;
  /** `random` ($sample), `first` (the first N by `_id`, where the server has no $sample), or `all`. */
  readonly sample: 'all' | 'random' | 'first';
  /** Grouped by error, most frequent first. */
  readonly groups: readonly CheckFailureGroup[];
  /** Top-level keys the migrated documents would keep that the latest schema does not declare (leftovers of a spread, misspellings). */
  readonly undeclaredKeys: readonly string[];
  /**
   * With `roundTrip`: documents migrated up and brought back down to their stored version that did
   * not come back the same (lossy steps), and those whose chain has no way down.
   */
  readonly roundTrip?: {
    readonly checked: number;
    readonly lossy: number;
    readonly noDown: number;
    readonly examples: readonly unknown[];
    /**
     * Documents at the latest version brought down one version and back up (what a reverse sweep
     * `to: latest - 1` would do): those that would lose a value, and those with no way down.
     * Absent for a schema with one version.
     */
    readonly down?: { readonly checked: number; readonly lossy: number; readonly noDown: number; readonly examples: readonly unknown[] };
  };
  /**
   * The stale versions a sweep can migrate on the server (declarative steps with server forms;
   * `null`: no version field), and why the others cannot. `compared`: the checked documents of
   * those versions on which the server form (`upExpr`, then the validity expression) was run
   * without writing and compared with `up` and zod; `differing`: how many came out otherwise (a
   * sweep in `auto` mode sends such a version to the client path, `server` mode stops), with up to
   * 5 example `_id`s.
   */
  /** Whether the stale-version index a sweep needs exists, and what building it costs. */
  readonly staleIndex: StaleIndexState;
  readonly serverSide: {
    readonly versions: readonly (number | null)[];
    readonly clientOnly: readonly { readonly version: number | null; readonly reason: string }[];
    readonly compared: number;
    readonly differing: number;
    readonly examples: readonly unknown[];
  };
}

/** Options of `checkMigration`. @public */
export interface CheckOptions {
  /** Check a random sample of this many stale documents instead of all of them. */
  readonly sample?: number | undefined;
  /** Documents read per query. Default: 500. */
  readonly batchSize?: number | undefined;
  /** Also bring each migrated document back down to its stored version and compare (`molt check --round-trip`). */
  readonly roundTrip?: boolean | undefined;
}

export const EXAMPLES = 5;

/**
 * Runs every upcaster and validation over the stale documents (or a sample) and groups the
 * failures by error: the "test against real data before you trust the migration" step. Writes nothing.
 * @public
 */
export async function checkMigration<T extends Document>(collection: Collection<T>, schema: SweepableSchema, options: CheckOptions = {}): Promise<CheckReport> {
  const raw = checkCollection(collection);
  return withPrivileges(raw, PRIVILEGES.read(raw.dbName, raw.collectionName), () => checkOf(raw, schema, options));
}

async function checkOf(raw: Collection<Document>, schema: SweepableSchema, options: CheckOptions): Promise<CheckReport> {
  const definition = definitionOf(schema);
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new InvalidOptionError('batchSize', `must be a positive integer, got ${String(batchSize)}.`);
  if (options.sample !== undefined && (!Number.isSafeInteger(options.sample) || options.sample < 1)) {
    throw new InvalidOptionError('sample', `must be a positive integer, got ${String(options.sample)}.`);
  }
  const target = migrationTarget(definition, definition.latest, 'up');
  const stale = target.staleFilter;
  const plan = { definition, target, captureDocuments: false } as const;
  const groups = new Map<string, { error: string; message: string; count: number; examples: unknown[] }>();
  let checked = 0;
  let failed = 0;
  const declared = declaredKeys(definition.entries[definition.latest - definition.first]?.schema as never);
  const undeclared = new Set<string>();
  const trip = { checked: 0, lossy: 0, noDown: 0, examples: [] as unknown[] };
  const { plan: serverForms } = serverPlan(definition, target);
  const forms = { compared: 0, differing: 0, examples: [] as unknown[] };
  const checkPage = async (documents: Document[]): Promise<void> => {
    if (options.roundTrip) await roundTrips(definition, documents, trip);
    if (serverForms.size > 0) await compareServerForms(raw, definition, serverForms, documents, forms);
    const result = await migrateBatch(plan, documents);
    for (const write of result.writes) for (const key of undeclaredKeys(declared, write.replacement, definition.versionField)) undeclared.add(key);
    checked += documents.length;
    failed += result.failures.length;
    for (const failure of result.failures) {
      const message = failure.error.message.split(describeId(failure.documentId)).join('<_id>');
      const key = `${failure.error.name}\u0000${message}`;
      const group = groups.get(key) ?? { error: failure.error.name, message, count: 0, examples: [] };
      group.count++;
      if (group.examples.length < EXAMPLES) group.examples.push(failure.documentId);
      groups.set(key, group);
    }
  };

  let sample: CheckReport['sample'] = 'all';
  if (options.sample !== undefined) {
    const size = options.sample;
    let documents: Document[];
    try {
      documents = await raw.aggregate([{ $match: { ...stale } }, { $sample: { size } }]).toArray();
      sample = 'random';
    } catch (error) {
      if (!isUnsupportedStage(error)) throw error;
      documents = await raw.find({ ...stale }).sort({ _id: 1 }).limit(size).toArray();
      sample = 'first';
    }
    for (let start = 0; start < documents.length; start += batchSize) await checkPage(documents.slice(start, start + batchSize));
  } else {
    const pages = new KeysetPages(raw, stale, batchSize);
    try {
      let lastId: unknown = null;
      for (;;) {
        const page = await pages.next(lastId);
        const last = page.at(-1);
        if (last === undefined) break;
        lastId = last._id; // before checkPage, which may consume the documents
        await checkPage(page);
        if (page.length < batchSize) break;
      }
    } finally {
      await pages.close();
    }
  }
  const down = options.roundTrip && definition.latest > definition.first ? await downTrips(raw, definition, batchSize) : undefined;
  return {
    collection: raw.collectionName,
    targetVersion: target.version,
    checked,
    passed: checked - failed,
    failed,
    sample,
    groups: [...groups.values()].sort((a, b) => b.count - a.count),
    undeclaredKeys: [...undeclared].sort(),
    ...(options.roundTrip ? { roundTrip: { ...trip, ...(down ? { down } : {}) } } : {}),
    serverSide: { ...serverSideOf(definition, target), ...forms },
    staleIndex: await staleIndexState(raw, definition.versionField),
  };
}

/** The server form of each version the plan covers, run without writing over these documents and compared with `up` and zod. */
async function compareServerForms(
  collection: Collection<Document>,
  definition: SchemaDefinition,
  plan: ServerPlan,
  documents: readonly Document[],
  forms: { compared: number; differing: number; examples: unknown[] },
): Promise<void> {
  const byVersion = new Map<number | null, unknown[]>();
  for (const doc of documents) {
    const stored = doc[definition.versionField] === undefined || doc[definition.versionField] === null ? null : (doc[definition.versionField] as number);
    if (plan.has(stored)) byVersion.set(stored, [...(byVersion.get(stored) ?? []), doc._id]);
  }
  for (const [stored, ids] of byVersion) {
    const comparison = await plan.get(stored)?.compare(collection, ids);
    if (comparison === undefined) continue; // the server form fails on these (or the server cannot run it): the client path decides
    forms.compared += comparison.checked;
    forms.differing += comparison.differing.length;
    for (const id of comparison.differing) if (forms.examples.length < EXAMPLES) forms.examples.push(id);
  }
}

/** Up to the latest and back down to the stored version, compared with the stored document (the version field aside). */
async function roundTrips(definition: SchemaDefinition, documents: readonly Document[], trip: { checked: number; lossy: number; noDown: number; examples: unknown[] }): Promise<void> {
  const field = definition.versionField;
  for (const raw of documents) {
    let from: number;
    let up: Document;
    try {
      from = readVersion(definition, raw);
      up = (await migrate(definition, raw, { validate: 'never' })).value;
    } catch {
      continue; // a failure of its own, counted by the check itself
    }
    trip.checked++;
    const { [field]: _stored, ...original } = raw;
    try {
      const back = (await migrate(definition, { ...up, [field]: definition.latest }, { to: from, validate: 'never' })).value;
      if (!losesSomething(original, back)) continue;
      trip.lossy++;
    } catch {
      trip.noDown++;
    }
    if (trip.examples.length < EXAMPLES) trip.examples.push(raw._id);
  }
}

/** The documents at the latest version, brought down one version and back up (the rule of a reverse sweep's loss check). */
async function downTrips(raw: Collection<Document>, definition: SchemaDefinition, batchSize: number): Promise<{ checked: number; lossy: number; noDown: number; examples: unknown[] }> {
  const field = definition.versionField;
  const below = definition.latest - 1;
  const trip = { checked: 0, lossy: 0, noDown: 0, examples: [] as unknown[] };
  const pages = new KeysetPages(raw, { [field]: definition.latest }, batchSize);
  try {
    let lastId: unknown = null;
    for (;;) {
      const page = await pages.next(lastId);
      if (page.length === 0) break;
      lastId = page.at(-1)?._id;
      for (const stored of page) {
        trip.checked++;
        const { [field]: _version, ...original } = stored;
        try {
          const down = (await migrate(definition, stored, { to: below, validate: 'never' })).value;
          const back = (await migrate(definition, { ...down, [field]: below }, { validate: 'never' })).value;
          if (!losesSomething(original, back)) continue;
          trip.lossy++;
        } catch {
          trip.noDown++;
        }
        if (trip.examples.length < EXAMPLES) trip.examples.push(stored._id);
      }
    }
  } finally {
    await pages.close();
  }
  return trip;
}

function serverSideOf(definition: SchemaDefinition, target: MigrationTarget): Pick<CheckReport['serverSide'], 'versions' | 'clientOnly'> {

  const { plan, clientOnly } = serverPlan(definition, target);
  return { versions: [...plan.keys()], clientOnly: [...clientOnly].map(([version, reason]) => ({ version, reason })) };
}

/** A server without `$sample` (FerretDB 1.x answers "not implemented", code 238). */
function isUnsupportedStage(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === 238 || code === 40324 || (typeof message === 'string' && /\$sample/.test(message));
}

// verifyVersion lives in verify.ts; re-exported here, where the other inspections are.
export { verifyVersion, type VerifyOptions, type VerifyReport } from './verify.js';
