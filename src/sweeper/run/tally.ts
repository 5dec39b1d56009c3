import type { Logger } from 'pino';
import { describeError } from '../../errors.js';
import type { ResolvedSweepOptions } from '../options.js';
import type { SweepReason, SweepReport, SweepStatus } from '../status.js';
import type { VersionCounts } from './version-counts.js';

/** How a run ended, before it becomes a report. */
export interface Outcome {
  readonly status: SweepStatus;
  readonly error?: { readonly name: string; readonly message: string };
  /** Why the run did not complete (every status but `complete`). */
  readonly reason?: SweepReason;
  /** The reason in words. */
  readonly detail?: string;
}

/** The counts of one run, and the progress and report made of them. */
export class Tally {
  scanned = 0;
  migrated = 0;
  skipped = 0;
  failed = 0;
  remaining = 0;
  /** Stale documents with a failure record, counted when the run ends. */
  staleFailures = 0;
  /** Documents whose way down drops a value (reverse sweeps). */
  lossy = 0;
  /** The stored versions migrated on the server in this run (the others, if any, on the client); see {@link ranOnServer}. */
  serverVersions: readonly (number | null)[] = [];
  /** The counts by stored version, since telemetry last took them; `undefined` while telemetry records nothing (no SDK). */
  byVersion: VersionCounts | undefined;
  /** The stored pin the run followed, if any. */
  pinned: SweepReport['pinned'];
  /** Whether the stale index was there, built by the run, or missing. */
  staleIndex: SweepReport['staleIndex'];
  /** Why batches ran on the client although the mode allowed the server. */
  clientReason: string | undefined;
  /** Keys of migrated documents that the target schema does not declare (at most 20 kept). */
  readonly undeclaredKeys = new Set<string>();
  readonly #options: ResolvedSweepOptions;
  readonly #collection: string;
  readonly #targetVersion: number;
  readonly #started: number;

  constructor(options: ResolvedSweepOptions, collection: string, targetVersion: number) {
    this.#options = options;
    this.#collection = collection;
    this.#targetVersion = targetVersion;
    this.#started = options.startedAt;
  }

  /** Notes that the server migrated documents stored at `version` in this run: kept once, unversioned (`null`) first, then by version. */
  ranOnServer(version: number | null): void {
    if (this.serverVersions.includes(version)) return;
    this.serverVersions = [...this.serverVersions, version].sort((a, b) => (a === null ? -1 : b === null ? 1 : a - b));
  }

  get elapsedMs(): number {
    return this.#options.clock.now() - this.#started;
  }

  /** Calls `onProgress`, if given; a throwing callback is logged, never fatal. */
  progress(pass: number, log: Logger | undefined): void {
    const onProgress = this.#options.onProgress;
    if (!onProgress) return;
    const elapsedMs = this.elapsedMs;
    const ratePerSecond = elapsedMs > 0 ? (this.scanned * 1000) / elapsedMs : 0;
    try {
      onProgress({
        collection: this.#collection,
        pass,
        scanned: this.scanned,
        migrated: this.migrated,
        skipped: this.skipped,
        failed: this.failed,
        remaining: this.remaining,
        ratePerSecond,
        etaMs: ratePerSecond > 0 ? (this.remaining / ratePerSecond) * 1000 : undefined,
        elapsedMs,
      });
    } catch (error) {
      log?.warn({ error: describeError(error) }, 'onProgress threw; the sweep goes on');
    }
  }

  report(outcome: Outcome, pass: number): SweepReport {
    return {
      status: outcome.status,
      scanned: this.scanned,
      migrated: this.migrated,
      skipped: this.skipped,
      failed: this.failed,
      remaining: this.remaining,
      staleFailures: this.staleFailures,
      lossy: this.lossy,
      elapsedMs: Math.round(this.elapsedMs),
      collection: this.#collection,
      targetVersion: this.#targetVersion,
      pass,
      dryRun: this.#options.dryRun,
      mode: this.serverVersions.length === 0 ? 'client' : 'server',
      serverVersions: this.serverVersions,
      ...(this.clientReason !== undefined ? { clientReason: this.clientReason } : {}),
      undeclaredKeys: [...this.undeclaredKeys].sort(),
      ...(outcome.error ? { error: outcome.error } : {}),
      ...(outcome.status === 'complete' ? {} : { reason: outcome.reason ?? reasonOf(outcome) }),
      ...(outcome.detail ? { detail: outcome.detail } : {}),
      ...(this.pinned ? { pinned: this.pinned } : {}),
      ...(this.staleIndex ? { staleIndex: this.staleIndex } : {}),
    };
  }
}

/** The reason of an outcome that did not name one. */
function reasonOf(outcome: Outcome): SweepReason {
  if (outcome.status === 'locked') return outcome.error?.name === 'LeaseLost' ? 'lease-lost' : 'lock';
  if (outcome.status === 'failed') return 'max-failures';
  return 'error';
}
