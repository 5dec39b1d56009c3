import { hostname } from 'node:os';
import type { Collection, Db } from 'mongodb';
import { limited, type OperationLimit } from '../../server/index.js';
import { isDuplicateKey, stateKey, type SweepLease, type SweepStateDocument } from '../state.js';

/** The lease owner that stands for every worker of a target's plan, wherever it runs. */
export function planOwner(targetKey: string): string {
  return `plan:${targetKey}`;
}

/** The result of joining a plan's lease. */
export type JoinResult = { readonly joined: true } | { readonly joined: false; readonly holder: SweepLease | null };

/**
 * The collection's lease (the one a run without `workers` takes), held by a plan's workers
 * together: its owner is the plan's (`plan:<target>`), and `holders` lists the processes that
 * joined. A run without `workers` finds it held and reports `locked`; a plan's workers find a
 * plain run's lease (or another target's plan) held and report `locked`: two kinds of run, and two
 * plans, never work on a collection at once. Each process heartbeats it while it works and leaves
 * at the end; the last to leave frees it. A process that dies stays listed until the lease
 * expires (`leaseMs` after the last heartbeat of any holder); the next to take it starts the list afresh.
 */
export class PlanLease {
  readonly #states: Collection<SweepStateDocument>;
  readonly #key: string;
  readonly #collection: string;
  readonly #schema: string;
  readonly #owner: string;
  readonly #leaseMs: number;
  readonly #clockOffsetMs: number;
  readonly #limit: OperationLimit | undefined;
  /** This process's place in `holders`. */
  readonly token: string;

  constructor(db: Db, stateCollection: string, collectionName: string, schemaName: string, targetKey: string, token: string, leaseMs: number, clockOffsetMs: number, limit?: OperationLimit) {
    this.#states = db.collection<SweepStateDocument>(stateCollection);
    this.#key = stateKey(collectionName, schemaName);
    this.#collection = collectionName;
    this.#schema = schemaName;
    this.#owner = planOwner(targetKey);
    this.token = token;
    this.#leaseMs = leaseMs;
    this.#clockOffsetMs = clockOffsetMs;
    this.#limit = limit;
  }

  /** Joins the plan's lease while it is held and unexpired, else takes it when it is free or expired. */
  async join(): Promise<JoinResult> {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await this.#joinHeld()) return { joined: true };
      const now = this.#now();
      const lease = { owner: this.#owner, host: hostname(), pid: process.pid, acquiredAt: now, expiresAt: this.#expiry(), holders: [this.token] };
      try {
        await this.#states.updateOne(
          { _id: this.#key, $or: [{ lease: null }, { 'lease.expiresAt': { $lte: now } }] },
          { $set: { lease }, $setOnInsert: { collection: this.#collection, schema: this.#schema, checkpoint: null, lastRun: null } },
          limited({ upsert: true }, this.#limit),
        );
        return { joined: true };
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
      const current = await this.#states.findOne({ _id: this.#key }, limited({}, this.#limit));
      if (current?.lease?.owner !== this.#owner) return { joined: false, holder: current?.lease ?? null };
    }
    return { joined: false, holder: null };
  }

  /** Extends the lease while this process is among its holders; `false` when it no longer is (it expired and was taken). */
  async heartbeat(): Promise<boolean> {
    const result = await this.#states.updateOne({ _id: this.#key, 'lease.owner': this.#owner, 'lease.holders': this.token }, { $set: { 'lease.expiresAt': this.#expiry() } }, limited({}, this.#limit));
    return result.matchedCount === 1;
  }

  /** Leaves the lease; the last holder to leave frees it. */
  async leave(): Promise<void> {
    await this.#states.updateOne({ _id: this.#key, 'lease.owner': this.#owner }, { $pull: { 'lease.holders': this.token } }, limited({}, this.#limit));
    await this.#states.updateOne({ _id: this.#key, 'lease.owner': this.#owner, 'lease.holders': { $size: 0 } }, { $set: { lease: null } }, limited({}, this.#limit));
  }

  async #joinHeld(): Promise<boolean> {
    const result = await this.#states.updateOne(
      { _id: this.#key, 'lease.owner': this.#owner, 'lease.expiresAt': { $gt: this.#now() } },
      { $addToSet: { 'lease.holders': this.token }, $set: { 'lease.expiresAt': this.#expiry() } },
      limited({}, this.#limit),
    );
    return result.matchedCount === 1;
  }

  #expiry(): Date {
    return new Date(this.#now().getTime() + this.#leaseMs);
  }

  #now(): Date {
    return new Date(Date.now() + this.#clockOffsetMs);
  }
}
