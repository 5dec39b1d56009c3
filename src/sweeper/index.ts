export { sweep, type SweepableSchema } from './run/sweep.js';
export { restore, type RestoreOptions, type RestoreReport } from './archive/restore.js';
export { pruneArchive } from './archive/prune.js';
export { DEFAULT_ARCHIVE_COLLECTION, DEFAULT_ARCHIVE_TTL_MS, type ArchiveEntry } from '../storage/index.js';
export { SweepReason, SweepStatus, type SweepCounts, type SweepProgress, type SweepReport } from './status.js';
export { pauseSweeps, resumeSweeps, sweepControl, unpinSweeps, type SweepControl, type SweepControlMark, type SweepControlOptions } from './control.js';
export { releaseLease, type LeaseReleaseReport } from './lease-release.js';
export { buildStaleIndex, type StaleIndexState } from './inspection/stale-index.js';
export {
  DEFAULT_BATCH_SIZE,
  DEFAULT_FAILURES_COLLECTION,
  DEFAULT_LEASE_MS,
  DEFAULT_MAX_DURATION_MS,
  DEFAULT_MAX_FAILURES,
  DEFAULT_MAX_RETRIES,
  DEFAULT_PAUSE_MS,
  DEFAULT_RATE_PER_SECOND,
  DEFAULT_RETRY_DELAY_MS,
  DEFAULT_STATE_COLLECTION,
  DEFAULT_SWEEP_MODE,
  SweepMode,
  type SweepOptions,
} from './options.js';
export { listFailures, type FailureRecord } from './failures.js';
export type { SweepCheckpoint, SweepLease, SweepStateDocument } from './state.js';
export type { IdBracket, IdRange } from './keyset.js';
export {
  checkMigration,
  migrationStatus,
  verifyVersion,
  type CheckFailureGroup,
  type CheckOptions,
  type CheckReport,
  type MigrationStatus,
  type MigrationStatusOptions,
  type VerifyOptions,
  type VerifyReport,
  type VersionCount,
} from './inspection/inspect.js';
export { defineConfig, type MoltCollectionConfig, type MoltCollectionSweepOptions, type MoltConfig, type MoltDatabases } from './define-config.js';
