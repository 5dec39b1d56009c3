import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { limited, type OperationLimit } from '../server/index.js';
import type { IdBracket } from './keyset.js';
import type { SweepReport } from './status.js';

/** Where a pass stands: saved after every batch, so a killed run resumes after the last completed batch. @public */
export interface SweepCheckpoint {
  /** Passes are numbered from 1; a pass walks the stale documents once, in `_id` order. */
  readonly pass: number;
  /** The version this pass migrates to; a schema with a newer latest version starts a new pass. */
  readonly targetVersion: number;
  /** The target's key (`up:3`): checkpoints are kept per target, and a run resumes only its own target's. */
  readonly target?: string;
  /** The `_id` of the last document of the last completed batch; `null` before the first. */
  readonly lastId: unknown;
  /**
   * The BSON type bracket of `lastId` (`number`, `string`, `objectId`, ...: the server orders
   * `_id`s by bracket first), so that a resumed pass goes on into the later brackets. Absent in
   * checkpoints saved before it was recorded: then `lastId`'s own bracket.
   */
  readonly lastIdType?: IdBracket;
  /** Totals of the pass, over all the runs that worked on it. */
  readonly scanned: number;
  readonly migrated: number;
  readonly skipped: number;
  readonly failed: number;
  readonly startedAt: Date;
  readonly updatedAt: Date;
  /** Set when the pass reached the end of the collection; the next run starts a new pass. */
  readonly completedAt: Date | null;
}

/** Who holds a collection's sweep lease, and until when. @public */
export interface SweepLease {
  readonly owner: string;
  readonly host: string;
  readonly pid: number;
  readonly acquiredAt: Date;
  readonly expiresAt: Date;
  /** Held by a plan's workers (owner `plan:<target>`): the processes that joined it (see `PlanLease`). */
  readonly holders?: readonly string[];
}

/** The state document of one collection and schema, in the state collection. @public */
export interface SweepStateDocument {
  /** `<collection>:<schema name>`. */
  readonly _id: string;
  readonly collection: string;
  readonly schema: string;
  readonly lease: SweepLease | null;
  /** The checkpoint saved last, whatever its target (what `molt status` shows). */
  readonly checkpoint: SweepCheckpoint | null;
  /** The checkpoint of each target, by its key (`up:3`). */
  readonly checkpoints?: Readonly<Record<string, SweepCheckpoint>>;
  readonly lastRun: (SweepReport & { readonly finishedAt: Date }) | null;
}

/** The `_id` of a collection's state document. */
export function stateKey(collectionName: string, schemaName: string): string {
  return `${collectionName}:${schemaName}`;
}

/** The result of trying to take the lease. */
export type LeaseResult =
  | { readonly acquired: true; readonly state: SweepStateDocument | null }
  | { readonly acquired: false; readonly holder: SweepLease | null };

/**
 * The lease and checkpoints of one collection and schema. The lease is taken with one atomic write
 * (an upsert on the state document's unique `_id`: when another owner holds an unexpired lease the
 * filter does not match, the upsert's insert hits the duplicate `_id`, and the run is `locked`).
 * Lease times are on the server's clock (this process's clock corrected by the offset measured
 * when the server was detected), so sweepers on hosts whose clocks disagree agree on expiry.
 */
export class SweepState {
  readonly #states: Collection<SweepStateDocument>;
  readonly #key: string;
  readonly #collection: string;
  readonly #schema: string;
  readonly #leaseMs: number;
  readonly #clockOffsetMs: number;
  /** Unique per run: a second run in the same process is another owner. */
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

  readonly #limit: OperationLimit | undefined;

  /** `limit`: bounds every call (the sweep's time budget). */
  constructor(db: Db, stateCollection: string, collectionName: string, schemaName: string, leaseMs: number, clockOffsetMs = 0, limit?: OperationLimit) {
    this.#limit = limit;
    this.#clockOffsetMs = clockOffsetMs;
    this.#states = db.collection<SweepStateDocument>(stateCollection);
    this.#key = stateKey(collectionName, schemaName);
    this.#collection = collectionName;
    this.#schema = schemaName;
    this.#leaseMs = leaseMs;
  }

  /** Takes the lease if it is free, expired, or already ours. */
  async acquire(): Promise<LeaseResult> {
    const now = this.#now();
    const lease: SweepLease = { owner: this.owner, host: hostname(), pid: process.pid, acquiredAt: now, expiresAt: new Date(now.getTime() + this.#leaseMs) };
    try {
      const state = await this.#states.findOneAndUpdate(
        { _id: this.#key, $or: [{ lease: null }, { 'lease.expiresAt': { $lte: now } }, { 'lease.owner': this.owner }] },
        { $set: { lease }, $setOnInsert: { collection: this.#collection, schema: this.#schema, checkpoint: null, lastRun: null } },
        limited({ upsert: true, returnDocument: 'after' } as const, this.#limit),
      );
      return { acquired: true, state };
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      const current = await this.#states.findOne({ _id: this.#key }, limited({}, this.#limit));
      return { acquired: false, holder: current?.lease ?? null };
    }
  }

  /** Saves the checkpoint and extends the lease, if the lease is still ours; `false` when it was taken over. */
  async renew(checkpoint: SweepCheckpoint, target: string): Promise<boolean> {
    const result = await this.#states.updateOne(
      { _id: this.#key, 'lease.owner': this.owner },
      { $set: { checkpoint, [`checkpoints.${target}`]: checkpoint, 'lease.expiresAt': new Date(this.#now().getTime() + this.#leaseMs) } },
      limited({}, this.#limit),
    );
    return result.matchedCount === 1;
  }

  /** Saves the final checkpoint and the run's report and frees the lease, if it is still ours. */
  async release(checkpoint: SweepCheckpoint | null, target: string, lastRun: SweepReport): Promise<void> {
    await this.#states.updateOne(
      { _id: this.#key, 'lease.owner': this.owner },
      { $set: { lease: null, lastRun: { ...lastRun, finishedAt: this.#now() }, ...(checkpoint ? { checkpoint, [`checkpoints.${target}`]: checkpoint } : {}) } },
      limited({}, this.#limit),
    );
  }

  /** Extends the lease by `leaseMs` from now, if it is still ours (the heartbeat); `false` when it was taken over. */
  async heartbeat(): Promise<boolean> {
    const result = await this.#states.updateOne(
      { _id: this.#key, 'lease.owner': this.owner },
      { $set: { 'lease.expiresAt': new Date(this.#now().getTime() + this.#leaseMs) } },
      limited({}, this.#limit),
    );
    return result.matchedCount === 1;
  }

  /**
   * Frees the lease if this run's owner token holds it, and nothing else: for an acquisition cut
   * off (time budget, signal, a reply lost) after the server may have taken it for this run.
   */
  async releaseIfHeld(): Promise<void> {
    await this.#states.updateOne({ _id: this.#key, 'lease.owner': this.owner }, { $set: { lease: null } }, limited({}, this.#limit));
  }

  #now(): Date {
    return new Date(Date.now() + this.#clockOffsetMs);
  }
}

/** Reads a collection's state document (for `molt status`). */
export async function readSweepState(db: Db, stateCollection: string, collectionName: string, schemaName: string, limit?: OperationLimit): Promise<SweepStateDocument | null> {
  return db.collection<SweepStateDocument>(stateCollection).findOne({ _id: stateKey(collectionName, schemaName) }, limited({}, limit));
}

/** A duplicate-key error (11000; some servers use 11001 or only say so in the message). */
export function isDuplicateKey(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return code === 11000 || code === 11001 || (typeof message === 'string' && /duplicate key/i.test(message));
}
