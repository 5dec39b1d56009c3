import type { Document } from 'mongodb';
import type { TokenBucket } from '../run/token-bucket.js';
import { rangeFilter } from './ranges.js';
import type { ClaimedRange, PlanStore, SweepPlanDocument } from './store.js';

/** What a range worker's run reports of the plan besides its counts. */
export interface RangeCounts {
  /** Ranges this worker walked to their end. */
  finished: number;
  /** Whether its last claim found every range of the plan done. */
  planDone: boolean;
}

/**
 * The rate of a plan shared among its workers: the plan's `ratePerSecond` times this process's
 * share of the workers holding a range now (counted on the server at every claim, so a worker
 * joining or leaving anywhere changes the shares). The process's workers draw on one bucket.
 */
export class RateShare {
  readonly bucket: TokenBucket;
  readonly #rate: number;
  readonly #store: PlanStore;
  readonly #plan: SweepPlanDocument;
  /** This process's workers holding a range now. */
  holding = 0;

  constructor(bucket: TokenBucket, store: PlanStore, plan: SweepPlanDocument) {
    this.bucket = bucket;
    this.#store = store;
    this.#plan = plan;
    this.#rate = plan.ratePerSecond < 0 ? Infinity : plan.ratePerSecond;
  }

  /** Recomputes this process's share. */
  async update(): Promise<void> {
    if (!Number.isFinite(this.#rate)) return;
    const active = await this.#store.activeClaims(this.#plan);
    const local = Math.max(1, this.holding);
    this.bucket.setRate((this.#rate * local) / Math.max(local, active));
  }
}

/**
 * One worker of a plan, as the sweep loop drives it: claims a range, hands out its filter and
 * checkpoint, saves the checkpoint (extending the claim) after each batch, marks the range done at
 * its end, and frees the claim when the run stops inside it (the next worker resumes there).
 */
export class RangeWorker {
  readonly #store: PlanStore;
  readonly #plan: SweepPlanDocument;
  readonly #stale: Readonly<Document>;
  readonly #share: RateShare;
  /** `<process token>/<worker index>`: the claims' owner. */
  readonly owner: string;
  readonly counts: RangeCounts = { finished: 0, planDone: false };
  #current: ClaimedRange | undefined;
  #saved = { scanned: 0, migrated: 0 };

  constructor(store: PlanStore, plan: SweepPlanDocument, stale: Readonly<Document>, owner: string, share: RateShare) {
    this.#store = store;
    this.#plan = plan;
    this.#stale = stale;
    this.owner = owner;
    this.#share = share;
  }

  get pass(): number {
    return this.#plan.pass;
  }

  /** Claims the next range: its filter (the stale documents in it) and its checkpoint; `undefined` when none is left to claim. */
  async claim(): Promise<{ filter: Document; lastId: unknown } | undefined> {
    const { claimed, done } = await this.#store.claim(this.#plan, this.owner);
    this.counts.planDone = done;
    if (claimed === undefined) return undefined;
    this.#current = claimed;
    this.#share.holding++;
    await this.#share.update();
    return { filter: rangeFilter(this.#stale, claimed.range), lastId: claimed.lastId };
  }

  /** Saves the checkpoint of the range after a batch; `false` when another worker took the range over. */
  async save(lastId: unknown, totals: { scanned: number; migrated: number }): Promise<boolean> {
    const current = this.#current;
    if (current === undefined) return true;
    const delta = { scanned: totals.scanned - this.#saved.scanned, migrated: totals.migrated - this.#saved.migrated };
    const held = await this.#store.save(this.#plan, current.index, this.owner, lastId, delta);
    if (held) this.#saved = { scanned: totals.scanned, migrated: totals.migrated };
    return held;
  }

  /** The range's walk reached its end: marks it done. */
  async finish(): Promise<void> {
    const current = this.#drop();
    if (current !== undefined && (await this.#store.finish(this.#plan, current.index, this.owner))) this.counts.finished++;
  }

  /** Extends the claim of the range held (the heartbeat); `false` when it was taken over. */
  async heartbeat(): Promise<boolean> {
    const current = this.#current;
    return current === undefined ? true : this.#store.heartbeat(this.#plan, current.index, this.owner);
  }

  /** Frees the range held, keeping its checkpoint. Never throws. */
  async release(): Promise<void> {
    const current = this.#drop();
    if (current !== undefined) await this.#store.release(this.#plan, current.index, this.owner).catch(() => undefined);
  }

  /** Lets go of a range another worker took over (its claim expired): nothing to free, it is theirs now. */
  abandon(): void {
    this.#drop();
  }

  #drop(): ClaimedRange | undefined {
    const current = this.#current;
    if (current !== undefined) this.#share.holding--;
    this.#current = undefined;
    return current;
  }
}
