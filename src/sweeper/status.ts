/**
 * How a sweep ended:
 * - `complete`: the pass reached the end of the collection and a recount found no stale document it
 *   could still migrate: the only stale documents left are recorded failures (`staleFailures`);
 * - `partial`: stopped early by the time budget or the abort signal (the next run resumes at the
 *   checkpoint), or the pass ended with stale documents left that it could still migrate (written
 *   at an old version behind it, or changed under a write that then lost its compare-and-swap: the
 *   next run starts a new pass over them); `reason` says which;
 * - `aborted`: an error the sweeper could not retry stopped it (`report.error` says which); the checkpoint holds the last completed batch;
 * - `locked`: another run holds the collection's lease (or took it over during this run); nothing more was done;
 * - `failed`: `maxFailures` documents failed to migrate, so the sweep stopped.
 * @public
 */
export const SweepStatus = Object.freeze({
  COMPLETE: 'complete',
  PARTIAL: 'partial',
  ABORTED: 'aborted',
  LOCKED: 'locked',
  FAILED: 'failed',
} as const);
/** @public */
export type SweepStatus = (typeof SweepStatus)[keyof typeof SweepStatus];

/**
 * Why a run did not complete (`report.reason`): `signal` (its abort signal, SIGTERM/SIGINT in the
 * CLI), `budget` (`maxDurationMs` spent), `lock` (another run holds the lease), `lease-lost`
 * (another run took the lease over), `paused` (the collection is paused: `molt pause`),
 * `stale-left` (the pass ended with stale documents it could still migrate: the next run starts a
 * new pass over them), `max-failures` (`maxFailures` reached), `error` (an error the sweeper
 * could not retry, in `report.error`, or the final recount failed). `report.detail` says it in words.
 * @public
 */
export const SweepReason = Object.freeze({
  SIGNAL: 'signal',
  BUDGET: 'budget',
  LOCK: 'lock',
  LEASE_LOST: 'lease-lost',
  PAUSED: 'paused',
  STALE_LEFT: 'stale-left',
  MAX_FAILURES: 'max-failures',
  ERROR: 'error',
} as const);
/** @public */
export type SweepReason = (typeof SweepReason)[keyof typeof SweepReason];

/** The counts of one sweep run (not of earlier runs). @public */
export interface SweepCounts {
  /** Stale documents read. */
  readonly scanned: number;
  /** Documents written at the latest version (with `dryRun`: that would have been written). */
  readonly migrated: number;
  /** Documents changed by someone else between the read and the compare-and-swap write: left as they are. */
  readonly skipped: number;
  /** Documents whose upcaster threw or whose result failed validation in this run: recorded, left untouched. */
  readonly failed: number;
}

/** What `sweep` returns: it never throws halfway, it reports. @public */
export interface SweepReport extends SweepCounts {
  readonly status: SweepStatus;
  /**
   * Stale documents left after this run, recounted on the server when the run ends, whatever its
   * status (an estimate only when the recount itself failed, which `reason` then says; with
   * `dryRun`: the stale count minus what would have been migrated or skipped). Includes the
   * recorded failures (`staleFailures`).
   */
  readonly remaining: number;
  /**
   * Stale documents left that have a failure record (from this run or an earlier one): they stay
   * stale until their step is fixed and they are retried (`retryFailed`), or they are changed.
   * Non-zero means the collection is not migrated, even when this run itself failed nothing.
   */
  readonly staleFailures: number;
  /**
   * Documents whose way down (a reverse sweep, `to` below the latest version) drops a value: a
   * field the target version does not keep, or a value it changes. Without `allowLoss` they are not
   * written (recorded as `LossyDowncastError` failures, and counted in `failed` too); with it they
   * are written and counted here. A reverse sweep in `mode: 'server'` (with `allowLoss`) migrates
   * on the server and does not check for loss there: its server batches count none (`mode: 'auto'`
   * goes down on the client, and counts them).
   */
  readonly lossy: number;
  /** Why the run did not complete: set for every status but `complete`, absent then. */
  readonly reason?: SweepReason;
  /** The reason in words, with what happens next. */
  readonly detail?: string;
  /**
   * The stored pin this run followed (it was started without `to`, and `molt sweep --to k` had
   * pinned the collection at k): the run went to `pinned.version`, not the latest.
   */
  readonly pinned?: { readonly version: number; readonly at: Date; readonly by: string };
  /**
   * The index `{ <versionField>: 1, _id: 1 }` that serves the stale filter: `present` before the
   * run, `built` by this run (the first real sweep with stale documents builds it), `missing`
   * (not built: a dry run, which says so, or nothing stale).
   */
  readonly staleIndex?: 'present' | 'built' | 'missing';
  readonly elapsedMs: number;
  /** The collection swept. */
  readonly collection: string;
  /** The version documents were migrated to. */
  readonly targetVersion: number;
  /** The pass this run worked on (a pass is one walk over the collection's stale documents in `_id` order). */
  readonly pass: number;
  readonly dryRun: boolean;
  /**
   * `server` when update pipelines migrated documents on the server in this run (the versions in
   * `serverVersions`; documents that would not validate, and other versions, still go through the
   * client path), else `client`.
   */
  readonly mode: 'client' | 'server';
  /** The stored versions migrated on the server (`null`: documents without a version field). */
  readonly serverVersions: readonly (number | null)[];
  /**
   * Why every batch ran on the client although `mode` was `auto` or `server` (a dry run, a reverse
   * sweep without `allowLoss`, archive, no server form in this direction, a server without update
   * pipelines); absent when the server ran batches or `mode` was `client`.
   */
  readonly clientReason?: string;
  /**
   * Top-level keys the migrated documents have (and that were stored) which the target schema does
   * not declare: usually leftovers of a spread in an upcaster. Server-side batches are not inspected.
   */
  readonly undeclaredKeys?: readonly string[];
  /**
   * With `workers`: the plan's ranges, those done (by any worker, in any run) and those this run's
   * workers finished.
   */
  readonly ranges?: { readonly total: number; readonly done: number; readonly byThisRun: number };
  /** Set when `status` is `aborted` (and when `locked`: who holds the lease). */
  readonly error?: { readonly name: string; readonly message: string };
}

/** What `onProgress` receives after every batch. @public */
export interface SweepProgress extends SweepCounts {
  readonly collection: string;
  readonly pass: number;
  /** Documents per second since the run started (scanned). */
  readonly ratePerSecond: number;
  /** Stale documents left: counted once at the start with the stale filter, then decremented. */
  readonly remaining: number;
  /** Estimated milliseconds to go at the current rate; `undefined` until a rate is known. */
  readonly etaMs: number | undefined;
  readonly elapsedMs: number;
}
