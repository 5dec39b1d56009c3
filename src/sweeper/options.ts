import type { Logger } from 'pino';
import { InvalidOptionError } from '../errors.js';
import { checkCompareOn, DEFAULT_ARCHIVE_COLLECTION, DEFAULT_ARCHIVE_TTL_MS, type CompareOn } from '../storage/index.js';
import { DEFAULT_UPCAST_CONCURRENCY, DEFAULT_UPCAST_TIMEOUT_MS } from '../migrate/index.js';
import { systemClock, type SweepClock } from './clock.js';
import type { SweepProgress } from './status.js';

/** Options of `sweep(collection, schema, options)`. @public */
export interface SweepOptions {
  /** Stale documents read and written per batch (one query, one bulk write). Default: 500 ({@link DEFAULT_BATCH_SIZE}). */
  readonly batchSize?: number | undefined;
  /**
   * Documents per second, enforced with a token bucket (time spent working counts toward it).
   * `Infinity` turns the limit off. Default: 2000 ({@link DEFAULT_RATE_PER_SECOND}).
   */
  readonly ratePerSecond?: number | undefined;
  /** A pause between batches, on top of the rate limit, for the server's other work. Default: 50 ({@link DEFAULT_PAUSE_MS}). */
  readonly pauseMs?: number | undefined;
  /** The time budget: no batch starts after it; the run reports `partial`. Default: `Infinity` (none). */
  readonly maxDurationMs?: number | undefined;
  /** Read, upcast and validate, but write nothing: no documents, checkpoint, lease, index or failure records. Default: `false`. */
  readonly dryRun?: boolean | undefined;
  /**
   * A reverse sweep (`to` below the latest) converts documents down even when that drops a value
   * (brought back up, a field or value would not come back). Without it such documents are not
   * written: recorded as `LossyDowncastError` failures and counted in `lossy`. Default: `false`.
   */
  readonly allowLoss?: boolean | undefined;
  /** First drive again the documents recorded in the failures collection (after a fix), clearing those that now succeed. Default: `false`. */
  readonly retryFailed?: boolean | undefined;
  /** Stop with status `failed` once this many documents failed in this run. Default: `Infinity` ({@link DEFAULT_MAX_FAILURES}). */
  readonly maxFailures?: number | undefined;
  /** How many async upcasters run at once within a batch. Default: 16 ({@link DEFAULT_UPCAST_CONCURRENCY}). */
  readonly upcastConcurrency?: number | undefined;
  /**
   * How long an async upcaster may take before its document is recorded as failed (an `UpcastError`)
   * and the batch goes on. Default: 30000 ({@link DEFAULT_UPCAST_TIMEOUT_MS}); `Infinity` waits for ever.
   */
  readonly upcastTimeoutMs?: number | undefined;
  /** Store the failing document's body in its failure record. Documents may hold personal data. Default: `false`. */
  readonly captureDocuments?: boolean | undefined;
  /** The collection (in the swept collection's database) for checkpoints and leases. Default: `molt_state` ({@link DEFAULT_STATE_COLLECTION}). */
  readonly stateCollection?: string | undefined;
  /** The collection for failure records. Default: `molt_failures` ({@link DEFAULT_FAILURES_COLLECTION}). */
  readonly failuresCollection?: string | undefined;
  /**
   * How long the lease lasts without renewal; it is renewed every third of it while the run lives
   * (a heartbeat) and after every batch. A run whose batch takes longer (`batchSize /
   * ratePerSecond` above it) is warned about before it starts: a stall that long loses the lease.
   * A crashed run's lease is taken over once it expires (or freed by `releaseLease`).
   * Default: 60000 ({@link DEFAULT_LEASE_MS}).
   */
  readonly leaseMs?: number | undefined;
  /** Retries of a read or write that failed with a transient error (network, failover, busy server). Default: 5 ({@link DEFAULT_MAX_RETRIES}). */
  readonly maxRetries?: number | undefined;
  /** The first backoff delay; it doubles each retry, with jitter, up to 10 s. Default: 200 ({@link DEFAULT_RETRY_DELAY_MS}). */
  readonly retryDelayMs?: number | undefined;
  /** Stops the sweep between batches (the CLI wires SIGINT/SIGTERM to it); the run reports `partial`. */
  readonly signal?: AbortSignal | undefined;
  /** A pino logger: batches at `debug`, the run at `info`, failures at `warn`; `_id`s, never document bodies. Default: silent. */
  readonly logger?: Logger | undefined;
  /** Called after every batch with counts, rate and an estimate of what remains. */
  readonly onProgress?: ((progress: SweepProgress) => void) | undefined;
  /**
   * What each compare-and-swap compares, as for `versioned()`: `document`, the whole document as
   * read (the default and the only choice: the sweep never overwrites a write made since it read a
   * document, through mongo-molt or not). Kept so that configs naming it keep working.
   */
  readonly compareOn?: CompareOn | undefined;
  /**
   * The version to bring documents to. Default: the schema's latest. Below it, a reverse sweep:
   * every document above `to` goes down through the downcasters (refused before any write when
   * one is missing). The rollback recipe: pin `writeVersion: to` in the app, sweep down, deploy
   * the old code. Stored: below the latest it pins the collection at `to` (a sweep without `to`,
   * what a scheduled job runs, then goes to `to` and reports `pinned`); at the latest it clears
   * the pin (as `unpinSweeps` does). Not stored by a dry run. A paused collection (`pauseSweeps`)
   * is not swept, whatever `to`.
   */
  readonly to?: number | undefined;
  /**
   * Where documents are migrated: `client` (read, migrate and validate here, write back with
   * compare-and-swap), `server` (one update pipeline per batch, no document crosses the wire; every
   * step to the target must be declarative with a server form, and the target's schema
   * expressible on the server), or `auto` (default, {@link DEFAULT_SWEEP_MODE}: server for the
   * versions that can, where the server runs update pipelines; client for the rest).
   */
  readonly mode?: SweepMode | undefined;
  /**
   * Keep each document as it was before its first migration in `archiveCollection`, with an
   * expiry, so that `restore` (`molt restore`) can put it back, even after a lossy upcaster. The
   * original is archived before the migration is written. Batches then run on the client.
   * Default: `false`.
   */
  readonly archive?: boolean | undefined;
  /** Default: `molt_archive` ({@link DEFAULT_ARCHIVE_COLLECTION}). */
  readonly archiveCollection?: string | undefined;
  /** How long originals are kept. Default: 30 days ({@link DEFAULT_ARCHIVE_TTL_MS}). */
  readonly archiveTtlMs?: number | undefined;
  /**
   * Run this many range workers in this process, on the pass's stored plan: ranges of `_id`
   * (never spanning two BSON types, about equal document counts), each claimed, heartbeated,
   * checkpointed and taken over after its claim expires. Any number of processes started with
   * `workers` on the same collection and target cooperate on one plan; `ratePerSecond` is the
   * plan's, shared among all its workers. A run without `workers` keeps the whole-collection lease,
   * and reports `locked` while a plan's workers run (and the other way round). Not with `dryRun` or
   * `retryFailed` (run those without workers). `maxDurationMs` is the process's (planning
   * included); `maxFailures` and `onProgress` are each worker's (its own counts); the report sums
   * the process's workers. Default: none (one run over the whole collection).
   */
  readonly workers?: number | undefined;
  /**
   * With `workers`: the split points of the plan, for a user who knows the key space (each point
   * starts a range; points split within their own BSON type bracket; numbers, strings, dates and
   * ObjectIds in any order, points of other types in ascending order). Default: computed
   * (`$bucketAuto` where the server runs it, else offsets into the `_id` order).
   */
  readonly ranges?: readonly unknown[] | undefined;
}

/**
 * Not an option: the key under which tests hand the sweeper a manual clock. A symbol, so it is no
 * option name, and the public `SweepOptions` type does not have it.
 */
export const SWEEP_CLOCK: unique symbol = Symbol('mongo-molt.sweepClock');

/** `SweepOptions` as the sweeper reads them, with the clock a test may inject. */
export interface InternalSweepOptions extends SweepOptions {
  readonly [SWEEP_CLOCK]?: SweepClock;
}

/** Where a sweep migrates documents. @public */
export const SweepMode = Object.freeze({ AUTO: 'auto', CLIENT: 'client', SERVER: 'server' } as const);
/** @public */
export type SweepMode = (typeof SweepMode)[keyof typeof SweepMode];
/** Default of `mode`. */
export const DEFAULT_SWEEP_MODE: SweepMode = 'auto';

/** Default of `batchSize`. */
export const DEFAULT_BATCH_SIZE = 500;
/** Default of `ratePerSecond`. */
export const DEFAULT_RATE_PER_SECOND = 2000;
/** Default of `pauseMs`. */
export const DEFAULT_PAUSE_MS = 50;
/** Default of `maxDurationMs`: no time budget. */
export const DEFAULT_MAX_DURATION_MS = Infinity;
/** Default of `maxFailures`: never stop for failures. */
export const DEFAULT_MAX_FAILURES = Infinity;
/** Default of `stateCollection`. */
export const DEFAULT_STATE_COLLECTION = 'molt_state';
/** Default of `failuresCollection`. */
export const DEFAULT_FAILURES_COLLECTION = 'molt_failures';
/** Default of `leaseMs`. */
export const DEFAULT_LEASE_MS = 60_000;
/** Default of `maxRetries`. */
export const DEFAULT_MAX_RETRIES = 5;
/** Default of `retryDelayMs`. */
export const DEFAULT_RETRY_DELAY_MS = 200;
/** The most range workers one process runs. */
export const MAX_WORKERS = 64;
/** The longest backoff delay. */
export const MAX_RETRY_DELAY_MS = 10_000;

/** The options with their defaults applied, checked before any I/O. */
export interface ResolvedSweepOptions {
  readonly batchSize: number;
  readonly ratePerSecond: number;
  readonly pauseMs: number;
  readonly maxDurationMs: number;
  readonly dryRun: boolean;
  readonly allowLoss: boolean;
  readonly retryFailed: boolean;
  readonly maxFailures: number;
  readonly captureDocuments: boolean;
  readonly upcastConcurrency: number;
  readonly upcastTimeoutMs: number;
  readonly stateCollection: string;
  readonly failuresCollection: string;
  readonly leaseMs: number;
  readonly maxRetries: number;
  readonly retryDelayMs: number;
  readonly signal: AbortSignal | undefined;
  readonly logger: Logger | undefined;
  readonly onProgress: ((progress: SweepProgress) => void) | undefined;
  readonly clock: SweepClock;
  /** When the call started, on `clock`: the time budget and the report's `elapsedMs` count from it (reading the control and planning included). */
  readonly startedAt: number;
  readonly compareOn: CompareOn;
  /** `undefined`: the schema's latest version. */
  readonly to: number | undefined;
  readonly mode: SweepMode;
  readonly archive: boolean;
  readonly archiveCollection: string;
  readonly archiveTtlMs: number;
  /** `undefined`: no plan, one run over the whole collection. */
  readonly workers: number | undefined;
  readonly ranges: readonly unknown[] | undefined;
}

/** The names `sweep` accepts, for the CLI's config check too. */
export const SWEEP_OPTION_NAMES: readonly string[] = Object.freeze([
  'batchSize', 'ratePerSecond', 'pauseMs', 'maxDurationMs', 'dryRun', 'retryFailed', 'maxFailures', 'captureDocuments', 'upcastConcurrency', 'upcastTimeoutMs',
  'stateCollection', 'failuresCollection', 'leaseMs', 'maxRetries', 'retryDelayMs', 'signal', 'logger', 'onProgress', 'compareOn', 'to', 'mode',
  'archive', 'archiveCollection', 'archiveTtlMs', 'allowLoss', 'workers', 'ranges',
]);
const KNOWN = new Set(SWEEP_OPTION_NAMES);

/** Applies the defaults and checks every option: a bad value is an `InvalidOptionError`, thrown before any I/O. */
export function resolveSweepOptions(options: InternalSweepOptions): ResolvedSweepOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', `sweep() takes an options object, got ${options === null ? 'null' : typeof options}.`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new InvalidOptionError(key, `is not an option of sweep(); the options are ${SWEEP_OPTION_NAMES.join(', ')}.`);
  }
  const logger = options.logger;
  if (logger !== undefined && (typeof logger !== 'object' || logger === null || typeof logger.info !== 'function')) {
    throw new InvalidOptionError('logger', "must be a pino logger (or anything with pino's level methods).");
  }
  const signal = options.signal;
  if (signal !== undefined && (typeof signal !== 'object' || signal === null || typeof signal.aborted !== 'boolean')) {
    throw new InvalidOptionError('signal', 'must be an AbortSignal.');
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new InvalidOptionError('onProgress', `must be a function, got ${typeof options.onProgress}.`);
  }
  const workers = options.workers === undefined ? undefined : integer('workers', options.workers, 1, MAX_WORKERS);
  if (workers !== undefined && options.dryRun === true) throw new InvalidOptionError('workers', 'a dry run reads without claiming anything: run it without workers.');
  if (workers !== undefined && options.retryFailed === true) throw new InvalidOptionError('workers', 'the recorded failures are retried by a run without workers: run retryFailed first, then the workers.');
  if (options.ranges !== undefined && (!Array.isArray(options.ranges) || workers === undefined)) {
    throw new InvalidOptionError('ranges', `must be an array of split points (_id values), given with workers, got ${Array.isArray(options.ranges) ? 'no workers' : describe(options.ranges)}.`);
  }
  const clock = options[SWEEP_CLOCK] ?? systemClock;
  return {
    workers,
    ranges: options.ranges,
    batchSize: integer('batchSize', options.batchSize ?? DEFAULT_BATCH_SIZE, 1, 100_000),
    ratePerSecond: positive('ratePerSecond', options.ratePerSecond ?? DEFAULT_RATE_PER_SECOND, true),
    pauseMs: nonNegative('pauseMs', options.pauseMs ?? DEFAULT_PAUSE_MS),
    maxDurationMs: positive('maxDurationMs', options.maxDurationMs ?? DEFAULT_MAX_DURATION_MS, true),
    dryRun: boolean('dryRun', options.dryRun ?? false),
    allowLoss: boolean('allowLoss', options.allowLoss ?? false),
    retryFailed: boolean('retryFailed', options.retryFailed ?? false),
    maxFailures: maxFailures(options.maxFailures ?? DEFAULT_MAX_FAILURES),
    captureDocuments: boolean('captureDocuments', options.captureDocuments ?? false),
    upcastConcurrency: integer('upcastConcurrency', options.upcastConcurrency ?? DEFAULT_UPCAST_CONCURRENCY, 1, 10_000),
    upcastTimeoutMs: positive('upcastTimeoutMs', options.upcastTimeoutMs ?? DEFAULT_UPCAST_TIMEOUT_MS, true),
    stateCollection: collectionName('stateCollection', options.stateCollection ?? DEFAULT_STATE_COLLECTION),
    failuresCollection: collectionName('failuresCollection', options.failuresCollection ?? DEFAULT_FAILURES_COLLECTION),
    leaseMs: integer('leaseMs', options.leaseMs ?? DEFAULT_LEASE_MS, 100, Number.MAX_SAFE_INTEGER),
    maxRetries: integer('maxRetries', options.maxRetries ?? DEFAULT_MAX_RETRIES, 0, 100),
    retryDelayMs: nonNegative('retryDelayMs', options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS),
    signal,
    logger,
    onProgress: options.onProgress,
    compareOn: compareOn(options.compareOn),
    to: options.to === undefined ? undefined : integer('to', options.to, 1, Number.MAX_SAFE_INTEGER),
    mode: sweepMode(options.mode ?? DEFAULT_SWEEP_MODE),
    archive: boolean('archive', options.archive ?? false),
    archiveCollection: collectionName('archiveCollection', options.archiveCollection ?? DEFAULT_ARCHIVE_COLLECTION),
    archiveTtlMs: positive('archiveTtlMs', options.archiveTtlMs ?? DEFAULT_ARCHIVE_TTL_MS, false),
    clock,
    startedAt: clock.now(),
  };
}

function integer(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `must be an integer from ${min} to ${max === Number.MAX_SAFE_INTEGER ? 'Infinity' : max}, got ${describe(value)}.`);
  }
  return value;
}

function sweepMode(value: unknown): SweepMode {
  if (value !== 'auto' && value !== 'client' && value !== 'server') {
    throw new InvalidOptionError('mode', `must be 'auto', 'client' or 'server', got ${describe(value)}.`);
  }
  return value;
}

function maxFailures(value: unknown): number {
  return value === Infinity ? Infinity : integer('maxFailures', value, 1, Number.MAX_SAFE_INTEGER);
}

function positive(name: string, value: unknown, allowInfinity: boolean): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value <= 0 || (!allowInfinity && !Number.isFinite(value))) {
    throw new InvalidOptionError(name, `must be a number above 0${allowInfinity ? ' (Infinity for no limit)' : ''}, got ${describe(value)}.`);
  }
  return value;
}

function nonNegative(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidOptionError(name, `must be a finite number of milliseconds, 0 or more, got ${describe(value)}.`);
  }
  return value;
}

function boolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new InvalidOptionError(name, `must be true or false, got ${describe(value)}.`);
  return value;
}

function collectionName(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.includes('$') || value.includes('\0')) {
    throw new InvalidOptionError(name, `must be a collection name (a non-empty string without "$"), got ${describe(value)}.`);
  }
  return value;
}

function compareOn(value: unknown): CompareOn {
  return checkCompareOn(value);
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
