/**
 * Which stored versions a sweep can migrate on the server, and the update pipeline for each: every
 * step from the stored version to the target declarative with a server form, and the target's
 * schema expressible as an aggregation expression (so that the server writes only documents that
 * would validate; the others are restored as they were and left to the client path, which records
 * them as failures exactly as client mode would).
 */
import type { Collection, Document } from 'mongodb';
import type { MigrationTarget } from '../migrate/index.js';
import type { OperationLimit } from '../server/index.js';
import type { SchemaDefinition, Step } from '../schema/types.js';
import { downPipeline, upPipeline, type PipelineStage } from '../steps/pipeline.js';
import { validityExpression } from '../schema/zod/index.js';
import { compareServerForm, type ServerFormComparison } from './server-form-check.js';

/** The field a server-side batch keeps the original document in while it migrates it (removed before the write completes). */
const ORIGINAL = '__molt_original';
/** The field a server-side batch builds the document to write in (the migrated one, or the original put back). */
const RESULT = '__molt_result';

/** How one stored version is migrated on the server. */
export interface ServerPlanEntry {
  /** The update pipeline that migrates a document and writes it only where it still is at that version and validates. */
  readonly update: readonly PipelineStage[];
  /** Compares the server form with `up` and zod on the stored documents with these `_id`s (see `compareServerForm`). */
  readonly compare: (collection: Collection<Document>, ids: readonly unknown[], limit?: OperationLimit) => Promise<ServerFormComparison | undefined>;
}

/** Stored version (`null`: no version field) -> how it migrates to the target on the server. */
export type ServerPlan = ReadonlyMap<number | null, ServerPlanEntry>;

/** Why versions cannot run on the server, for `mode: 'server'` and `molt check`. */
export interface ServerPlanResult {
  readonly plan: ServerPlan;
  /** Stale versions with no server form, and why. */
  readonly clientOnly: ReadonlyMap<number | null, string>;
}

/** The server plan of a target: one pipeline per stale version that can run on the server. */
export function serverPlan(definition: SchemaDefinition, target: MigrationTarget): ServerPlanResult {
  const plan = new Map<number | null, ServerPlanEntry>();
  const clientOnly = new Map<number | null, string>();
  const targetSchema = definition.entries[target.version - definition.first]?.schema;
  const validity = targetSchema === undefined ? undefined : validityExpression(targetSchema);
  for (const stored of target.staleVersions) {
    const version = stored ?? definition.unversioned;
    if (validity === undefined) {
      clientOnly.set(stored, `version ${target.version}'s zod schema cannot be checked on the server (refinements, tuples, exclusive unions, transforms, formats…)`);
      continue;
    }
    const steps = stepsBetween(definition, version, target.version);
    if (typeof steps === 'string') {
      clientOnly.set(stored, steps);
      continue;
    }
    // The compare-and-swap is in the pipeline, not the filter: a filter on the version field next to
    // `_id: { $in }` made DocumentDB scan the whole stale index for every batch (229 ms against 45 ms
    // per 500 documents at 100,000). A document no longer at `stored` is written back as it was.
    const stillStored = stored === null
      ? { $in: [{ $type: `$${ORIGINAL}.${target.versionField}` }, ['missing', 'null']] }
      : { $eq: [`$${ORIGINAL}.${target.versionField}`, stored] };
    const update = [
      { $set: { [ORIGINAL]: '$$ROOT' } },
      ...steps,
      // The version field is written last, after the migrated fields, as the client path lays it out.
      { $unset: target.versionField },
      // Write the migrated document only where it was still at `stored` and validates; elsewhere put the original back.
      { $set: { [RESULT]: { $cond: [{ $and: [stillStored, validity] }, { $mergeObjects: ['$$ROOT', { [target.versionField]: target.version }] }, `$${ORIGINAL}`] } } },
      // The replacement leaves `_id` out (the update keeps the stored one, first): DocumentDB writes
      // a replacement's `_id` after the stored one, and the document then holds two `_id` fields.
      { $unset: [`${RESULT}._id`, `${RESULT}.${ORIGINAL}`, `${RESULT}.${RESULT}`] },
      { $replaceWith: `$${RESULT}` },
    ];
    plan.set(stored, { update, compare: (collection, ids, limit) => compareServerForm(collection, definition, target, stored, steps, validity, ids, limit) });
  }
  return { plan, clientOnly };
}

/** The stages from `from` to `to` (up or down), or why there are none. */
function stepsBetween(definition: SchemaDefinition, from: number, to: number): PipelineStage[] | string {
  const stages: PipelineStage[] = [];
  const entry = (version: number) => definition.entries[version - definition.first];
  // zod fills defaults in on the client only: a version that has some is migrated there.
  for (let version = Math.min(from, to); version <= Math.max(from, to); version++) {
    if (version !== from && entry(version)?.fillsDefaults === true) return `version ${version}'s zod schema fills in defaults (.default()), which only the client applies`;
  }
  if (from < to) {
    for (let version = from + 1; version <= to; version++) {
      const step = entry(version)?.up;
      const pipeline = step?.kind === 'declarative' ? upPipeline(step.steps) : undefined;
      if (pipeline === undefined) return reason(step, version - 1, version);
      stages.push(...pipeline);
    }
  } else {
    for (let version = from; version > to; version--) {
      const step = entry(version)?.down;
      const pipeline = step?.kind === 'declarative' ? downPipeline(step.steps) : undefined;
      if (pipeline === undefined) return reason(step, version, version - 1);
      stages.push(...pipeline);
    }
  }
  return stages;
}

function reason(step: Step | undefined, from: number, to: number): string {
  if (step === undefined) return `no step from version ${from} to ${to}`;
  if (step.kind === 'function') return `the step from version ${from} to ${to} is a function`;
  return `a step from version ${from} to ${to} has no server form (a convert without ${from < to ? 'upExpr' : 'downExpr'}, or a remove going down)`;
}
