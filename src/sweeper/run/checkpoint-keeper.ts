import type { MigrationTarget } from '../../migrate/index.js';
import { bracketOf } from '../keyset.js';
import type { SweepCheckpoint, SweepState, SweepStateDocument } from '../state.js';
import type { SweepReport } from '../status.js';
import type { Tally } from './tally.js';

type PassBase = Pick<SweepCheckpoint, 'scanned' | 'migrated' | 'skipped' | 'failed' | 'startedAt'>;

/**
 * Where the run stands in its pass (pass number, last `_id`, totals of earlier runs) and the
 * lease that lets it write: resumes the checkpoint of its own target only, saves it (renewing the
 * lease) after every batch, and releases the lease at the end.
 */
export class CheckpointKeeper {
  readonly #state: SweepState;
  readonly #target: MigrationTarget;
  pass = 0;
  lastId: unknown = null;
  completedAt: Date | null = null;
  #base: PassBase = { scanned: 0, migrated: 0, skipped: 0, failed: 0, startedAt: new Date() };

  constructor(state: SweepState, target: MigrationTarget) {
    this.#state = state;
    this.#target = target;
  }

  /**
   * Resumes this target's unfinished pass, or starts the next pass. A pass is resumed only while
   * no run towards another target (a reverse sweep after a forward one, or the other way round)
   * saved a checkpoint since: that run may have moved documents behind this pass's position,
   * which a resumed pass would never revisit.
   */
  startPass(document: SweepStateDocument | null): void {
    const own = document?.checkpoints?.[this.#target.key] ?? null;
    const legacy = document?.checkpoint && document.checkpoint.target === undefined && document.checkpoint.targetVersion === this.#target.version && this.#target.direction === 'up'
      ? document.checkpoint
      : null;
    const checkpoint = own ?? legacy;
    if (checkpoint && checkpoint.completedAt === null && !this.#otherTargetSince(document, checkpoint)) {
      this.pass = checkpoint.pass;
      this.lastId = checkpoint.lastId ?? null;
      this.#base = checkpoint;
      return;
    }
    this.pass = Math.max(checkpoint?.pass ?? 0, document?.checkpoint?.pass ?? 0) + 1;
    this.lastId = null;
    this.#base = { scanned: 0, migrated: 0, skipped: 0, failed: 0, startedAt: new Date() };
  }

  #otherTargetSince(document: SweepStateDocument | null, checkpoint: SweepCheckpoint): boolean {
    const saved = new Date(checkpoint.updatedAt).getTime();
    return Object.entries(document?.checkpoints ?? {}).some(([key, other]) => key !== this.#target.key && new Date(other.updatedAt).getTime() > saved);
  }

  checkpoint(tally: Tally): SweepCheckpoint {
    const base = this.#base;
    return {
      pass: this.pass,
      targetVersion: this.#target.version,
      target: this.#target.key,
      lastId: this.lastId,
      ...(this.lastId === null ? {} : { lastIdType: bracketOf(this.lastId) }),
      scanned: base.scanned + tally.scanned,
      migrated: base.migrated + tally.migrated,
      skipped: base.skipped + tally.skipped,
      failed: base.failed + tally.failed,
      startedAt: base.startedAt,
      updatedAt: new Date(),
      completedAt: this.completedAt,
    };
  }

  /** Saves the checkpoint and renews the lease; `false` when another run took the lease over. */
  save(tally: Tally): Promise<boolean> {
    return this.#state.renew(this.checkpoint(tally), this.#target.key);
  }

  /** Saves the final checkpoint and the report, and frees the lease. */
  release(tally: Tally, report: SweepReport): Promise<void> {
    return this.#state.release(this.checkpoint(tally), this.#target.key, report);
  }
}
