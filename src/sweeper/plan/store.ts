import { hostname } from 'node:os';
import type { Collection, Db, Document } from 'mongodb';
import type { MigrationTarget } from '../../migrate/index.js';
import { limited, type OperationLimit } from '../../server/index.js';
import { bracketOf, type IdBracket } from '../keyset.js';
import { isDuplicateKey, stateKey, type SweepCheckpoint } from '../state.js';
import { EXACT_IDS, type PlannedRange, type SplitMethod } from './ranges.js';

/**
 * A pass's plan, in the state collection beside the collection's state document: the ranges of
 * `_id` its workers claim, computed once when the pass starts. `_id`:
 * `<collection>:<schema>:plan:<target>:<pass>`. @public
 */
export interface SweepPlanDocument {
  readonly _id: string;
  readonly kind: 'plan';
  readonly collection: string;
  readonly schema: string;
  /** The target's key (`up:3`): one plan per collection and target at a time. */
  readonly target: string;
  readonly pass: number;
  /** The documents per second of all the plan's workers together, wherever they run. */
  readonly ratePerSecond: number;
  readonly ranges: readonly PlannedRange[];
  readonly method: SplitMethod | 'given';
  readonly createdAt: Date;
  /** Set once, by the worker that found every range done. */
  readonly completedAt: Date | null;
}

/** A range's claim and checkpoint: `_id` `<plan _id>:<index>`, created by the first claim. @public */
export interface RangeClaimDocument {
  readonly _id: string;
  readonly kind: 'range';
  readonly plan: string;
  readonly index: number;
  /** The worker that holds the range, until `expiresAt`; `null` when free. */
  readonly owner: string | null;
  readonly host?: string;
  readonly pid?: number;
  readonly expiresAt: Date | null;
  /** The last `_id` of the range's last completed batch, and its type bracket. */
  readonly lastId: unknown;
  readonly lastIdType?: IdBracket;
  readonly scanned?: number;
  readonly migrated?: number;
  readonly done: boolean;
  readonly doneAt?: Date;
  readonly doneBy?: string;
}

/** A range a worker holds, and where its walk resumes. */
export interface ClaimedRange {
  readonly index: number;
  readonly range: PlannedRange;
  readonly lastId: unknown;
}

/** Where a plan stands: ranges done, claimed (by owner) and free. @public */
export interface PlanSummary {
  readonly pass: number;
  readonly total: number;
  readonly done: number;
  readonly free: number;
  /** Unexpired claims by owner (`host:pid:token/worker`). */
  readonly claimed: Readonly<Record<string, number>>;
}

/** The plans and range claims of one collection, schema and target, with times on the server's clock. */
export class PlanStore {
  readonly #states: Collection<Document>;
  readonly #collection: string;
  readonly #schema: string;
  readonly #target: MigrationTarget;
  readonly #leaseMs: number;
  readonly #clockOffsetMs: number;
  readonly #limit: OperationLimit | undefined;

  constructor(db: Db, stateCollection: string, collectionName: string, schemaName: string, target: MigrationTarget, leaseMs: number, clockOffsetMs: number, limit?: OperationLimit) {
    this.#states = db.collection(stateCollection);
    this.#collection = collectionName;
    this.#schema = schemaName;
    this.#target = target;
    this.#leaseMs = leaseMs;
    this.#clockOffsetMs = clockOffsetMs;
    this.#limit = limit;
  }

  /** The target's latest plan, done or not. */
  async latest(): Promise<SweepPlanDocument | null> {
    const [plan] = await this.#states
      .find({ kind: 'plan', collection: this.#collection, schema: this.#schema, target: this.#target.key }, limited({ ...EXACT_IDS }, this.#limit))
      .sort({ pass: -1 })
      .limit(1)
      .toArray();
    return (plan as SweepPlanDocument | undefined) ?? null;
  }

  /** Stores the plan of `pass`; when another worker stored it first, that one is the plan. */
  async create(pass: number, ranges: readonly PlannedRange[], method: SweepPlanDocument['method'], ratePerSecond: number): Promise<SweepPlanDocument> {
    const plan: SweepPlanDocument = {
      _id: `${stateKey(this.#collection, this.#schema)}:plan:${this.#target.key}:${pass}`,
      kind: 'plan', collection: this.#collection, schema: this.#schema, target: this.#target.key, pass,
      ratePerSecond: Number.isFinite(ratePerSecond) ? ratePerSecond : -1, ranges, method, createdAt: this.#now(), completedAt: null,
    };
    try {
      await this.#states.insertOne(plan as unknown as Document, limited({}, this.#limit));
      return plan;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      return (await this.#states.findOne({ _id: plan._id } as Document, limited({ ...EXACT_IDS }, this.#limit))) as unknown as SweepPlanDocument;
    }
  }

  /**
   * Claims a range that is neither done nor held (a free one, or one whose holder's claim expired),
   * with one atomic write per try: an upsert on the range's `_id` whose filter matches only a
   * claimable range (when another worker holds it, the insert hits the duplicate `_id`). `undefined`
   * when no range is left to claim; `done` tells whether every range is done.
   */
  async claim(plan: SweepPlanDocument, owner: string): Promise<{ claimed: ClaimedRange | undefined; done: boolean }> {
    const claims = await this.#claims(plan);
    const now = this.#now();
    const open = plan.ranges.map((_, index) => index).filter((index) => {
      const claim = claims.get(index);
      return claim === undefined || (!claim.done && (claim.owner === null || claim.expiresAt === null || claim.expiresAt.getTime() <= now.getTime()));
    });
    const start = Math.floor(Math.random() * Math.max(1, open.length));
    for (const index of [...open.slice(start), ...open.slice(0, start)]) {
      try {
        const claim = (await this.#states.findOneAndUpdate(
          { _id: rangeKey(plan, index), done: { $ne: true }, $or: [{ owner: null }, { expiresAt: { $lte: now } }] } as Document,
          { $set: { owner, host: hostname(), pid: process.pid, expiresAt: this.#expiry() }, $setOnInsert: { kind: 'range', plan: plan._id, index, lastId: null, done: false } },
          limited({ upsert: true, returnDocument: 'after', ...EXACT_IDS } as const, this.#limit),
        )) as RangeClaimDocument | null;
        if (claim?.owner === owner) return { claimed: { index, range: plan.ranges[index] as PlannedRange, lastId: claim.lastId ?? null }, done: false };
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
    }
    const done = [...claims.values()].filter((claim) => claim.done).length === plan.ranges.length || (await this.#doneCount(plan)) === plan.ranges.length;
    return { claimed: undefined, done };
  }

  /** Saves the range's checkpoint and extends its claim, if it is still `owner`'s. */
  async save(plan: SweepPlanDocument, index: number, owner: string, lastId: unknown, counts: { scanned: number; migrated: number }): Promise<boolean> {
    const result = await this.#states.updateOne(
      { _id: rangeKey(plan, index), owner } as Document,
      { $set: { lastId, lastIdType: bracketOf(lastId), expiresAt: this.#expiry() }, $inc: { scanned: counts.scanned, migrated: counts.migrated } },
      limited({}, this.#limit),
    );
    return result.matchedCount === 1;
  }

  /** Extends the claim, if it is still `owner`'s. */
  async heartbeat(plan: SweepPlanDocument, index: number, owner: string): Promise<boolean> {
    const result = await this.#states.updateOne({ _id: rangeKey(plan, index), owner } as Document, { $set: { expiresAt: this.#expiry() } }, limited({}, this.#limit));
    return result.matchedCount === 1;
  }

  /** Marks the range done (its walk reached its end), if it is still `owner`'s. */
  async finish(plan: SweepPlanDocument, index: number, owner: string): Promise<boolean> {
    const result = await this.#states.updateOne(
      { _id: rangeKey(plan, index), owner } as Document,
      { $set: { done: true, owner: null, expiresAt: null, doneAt: this.#now(), doneBy: owner } },
      limited({}, this.#limit),
    );
    return result.matchedCount === 1;
  }

  /** Frees the claim (keeping the checkpoint), if it is still `owner`'s: the next worker resumes after its last batch. */
  async release(plan: SweepPlanDocument, index: number, owner: string): Promise<void> {
    await this.#states.updateOne({ _id: rangeKey(plan, index), owner } as Document, { $set: { owner: null, expiresAt: null } }, limited({}, this.#limit));
  }

  /** Unexpired claims of the plan (the workers at work on it now, wherever they run). */
  async activeClaims(plan: SweepPlanDocument): Promise<number> {
    return this.#states.countDocuments({ kind: 'range', plan: plan._id, owner: { $ne: null }, expiresAt: { $gt: this.#now() } }, limited({}, this.#limit));
  }

  /**
   * Marks the plan complete once, and saves the target's checkpoint as a completed pass (totals
   * summed over the ranges), so that the next run of either kind starts a new pass. `true` for the
   * one call that completed it.
   */
  async complete(plan: SweepPlanDocument): Promise<boolean> {
    const now = this.#now();
    const result = await this.#states.updateOne({ _id: plan._id, completedAt: null } as Document, { $set: { completedAt: now } }, limited({}, this.#limit));
    if (result.modifiedCount !== 1) return false;
    const claims = [...(await this.#claims(plan)).values()];
    const checkpoint: SweepCheckpoint = {
      pass: plan.pass, targetVersion: this.#target.version, target: this.#target.key, lastId: null,
      scanned: claims.reduce((sum, claim) => sum + (claim.scanned ?? 0), 0),
      migrated: claims.reduce((sum, claim) => sum + (claim.migrated ?? 0), 0),
      skipped: 0, failed: 0, startedAt: plan.createdAt, updatedAt: now, completedAt: now,
    };
    await this.#states.updateOne(
      { _id: stateKey(this.#collection, this.#schema) } as Document,
      { $set: { checkpoint, [`checkpoints.${this.#target.key}`]: checkpoint } },
      limited({}, this.#limit),
    );
    return true;
  }

  /** Ranges done, claimed (by owner) and free. */
  async summary(plan: SweepPlanDocument): Promise<PlanSummary> {
    return summarize(plan, await this.#claims(plan), this.#now());
  }

  async #claims(plan: SweepPlanDocument): Promise<Map<number, RangeClaimDocument>> {
    const claims = (await this.#states.find({ kind: 'range', plan: plan._id }, limited({ ...EXACT_IDS }, this.#limit)).toArray()) as unknown as RangeClaimDocument[];
    return new Map(claims.map((claim) => [claim.index, claim]));
  }

  async #doneCount(plan: SweepPlanDocument): Promise<number> {
    return this.#states.countDocuments({ kind: 'range', plan: plan._id, done: true }, limited({}, this.#limit));
  }

  #expiry(): Date {
    return new Date(this.#now().getTime() + this.#leaseMs);
  }

  #now(): Date {
    return new Date(Date.now() + this.#clockOffsetMs);
  }
}

/** Ranges done, claimed (unexpired, by owner) and free at `now`. */
export function summarize(plan: SweepPlanDocument, claims: ReadonlyMap<number, RangeClaimDocument>, now: Date): PlanSummary {
  let done = 0;
  const claimed: Record<string, number> = {};
  for (const claim of claims.values()) {
    if (claim.done) done++;
    else if (claim.owner !== null && claim.expiresAt !== null && claim.expiresAt.getTime() > now.getTime()) claimed[claim.owner] = (claimed[claim.owner] ?? 0) + 1;
  }
  const held = Object.values(claimed).reduce((sum, n) => sum + n, 0);
  return { pass: plan.pass, total: plan.ranges.length, done, free: plan.ranges.length - done - held, claimed };
}

function rangeKey(plan: SweepPlanDocument, index: number): string {
  return `${plan._id}:${index}`;
}
