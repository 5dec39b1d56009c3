import type { Logger } from 'pino';
import { InvalidOptionError } from '../errors.js';
import { DEFAULT_ON_NEWER_VERSION, DEFAULT_UPCAST_CONCURRENCY, DEFAULT_UPCAST_TIMEOUT_MS, DEFAULT_VALIDATE, missingDowncaster, type OnNewerVersion, type ValidateMode } from '../migrate/index.js';
import type { AnyVersionedSchema } from '../schema/index.js';
import { definitionOf } from '../schema/definition.js';
import type { SchemaDefinition } from '../schema/types.js';
import { DEFAULT_SHADOW_QUEUE_SIZE } from './shadow.js';
import { checkCompareOn, DEFAULT_ARCHIVE_COLLECTION, DEFAULT_ARCHIVE_TTL_MS, type CompareOn } from '../storage/index.js';

/**
 * Options of `versioned(collection, schema, options)`; `V` is the schema's versions (`1 | 2 | 3`).
 * Every option may be `undefined`, which means its default.
 * @public
 */
export interface VersionedCollectionOptions<V extends number = number> {
  /** A pino logger for migrations, write-backs, lost races and errors (`_id`s, never bodies). Default: silent. */
  readonly logger?: Logger | undefined;
  /**
   * Persist documents upcast on read, batched, with compare-and-swap, without delaying the read.
   * Default: `false` ({@link DEFAULT_WRITE_BACK_ON_READ}).
   */
  readonly writeBackOnRead?: boolean | undefined;
  /**
   * The version new writes are stored at. Pin it to the previous version during the expand phase
   * of a rolling deploy, while older code still reads the collection. Default: the schema's latest.
   */
  readonly writeVersion?: V | undefined;
  /** A stored document newer than this code knows: `error` (default) or `passthrough` (handed out untouched, never written). */
  readonly onNewerVersion?: OnNewerVersion | undefined;
  /** When reads are checked with zod: `always`, `migrated` (default), `never`. */
  readonly validate?: ValidateMode | undefined;
  /**
   * What each compare-and-swap compares: `document`, the whole document as read (the default and
   * the only choice: a write-back or update-time migration never overwrites a write made in
   * between, through mongo-molt or not). Kept so that code naming it keeps working.
   */
  readonly compareOn?: CompareOn | undefined;
  /** How many write-backs are sent in one bulk write. Default: 64 ({@link DEFAULT_WRITE_BACK_BATCH_SIZE}). */
  readonly writeBackBatchSize?: number | undefined;
  /**
   * Rewrite filters (written against the latest shape) so that they match older stored documents
   * exactly as their migrated form would (through the chain's declarative steps and the defaults
   * a read fills in), and refuse sorts that cannot be done right. Default: on when the chain has
   * declarative steps. A path (but `_id`) through a function step is refused: a function cannot
   * be read backwards. `'as-written'` opts into handing the versions behind a function step the
   * filter as it reads at that step, for paths both versions around the step declare (inexact
   * where the function changes the value: a lower-casing step makes `{ email: 'ada@x' }` miss
   * `'Ada@X'`). `false` sends filters to the server as written.
   */
  readonly translateQueries?: boolean | 'as-written' | undefined;
  /**
   * The next release's schema, rehearsed on live reads: each sampled document is also run through
   * its chain off the read path, validated and round-tripped through `down` where it has one;
   * outcomes are counted in `stats.shadow` and failures logged with `_id`s, never bodies. Nothing
   * is written. Default: none.
   */
  readonly shadow?: AnyVersionedSchema | undefined;
  /**
   * With `writeBackOnRead`: keep each document as it was stored before its write-back in the archive
   * collection (as `sweep({ archive: true })` does), so that `restore` can put it back. Default: `false`.
   */
  readonly archiveOnWriteBack?: boolean | undefined;
  /** The archive collection. Default: `molt_archive`. */
  readonly archiveCollection?: string | undefined;
  /** How long archived originals are kept. Default: 30 days. */
  readonly archiveTtlMs?: number | undefined;
  /** The share of reads rehearsed with `shadow`, from 0 to 1. Default: 1. */
  readonly shadowRate?: number | undefined;
  /** Sampled documents waiting to be rehearsed, at most; beyond it they are dropped and counted. Default: 1000. */
  readonly shadowQueueSize?: number | undefined;
  /**
   * How many async upcasters run at once when many documents are read together (`toArray`).
   * Default: 16 ({@link DEFAULT_UPCAST_CONCURRENCY}).
   */
  readonly upcastConcurrency?: number | undefined;
  /**
   * How long an async upcaster may take before the read (or update) fails with an `UpcastError`.
   * Default: 30000 ({@link DEFAULT_UPCAST_TIMEOUT_MS}); `Infinity` waits for ever.
   */
  readonly upcastTimeoutMs?: number | undefined;
}

/** Default of `writeBackOnRead`. */
export const DEFAULT_WRITE_BACK_ON_READ = false;
/** Default of `compareOn`. */
export const DEFAULT_COMPARE_ON: CompareOn = 'document';
/** Default of `writeBackBatchSize`. */
export const DEFAULT_WRITE_BACK_BATCH_SIZE = 64;

/** The options with their defaults applied and checked: bad values fail before any I/O. */
export interface ResolvedOptions {
  readonly logger: Logger | undefined;
  readonly writeBackOnRead: boolean;
  readonly writeVersion: number;
  readonly onNewerVersion: OnNewerVersion;
  readonly validate: ValidateMode;
  readonly writeBackBatchSize: number;
  readonly compareOn: CompareOn;
  /** `undefined`: decided by the chain (on when it has declarative steps). */
  readonly translateQueries: boolean | 'as-written' | undefined;
  readonly shadow: SchemaDefinition | undefined;
  readonly shadowRate: number;
  readonly shadowQueueSize: number;
  readonly upcastConcurrency: number;
  readonly upcastTimeoutMs: number;
  readonly archiveOnWriteBack: boolean;
  readonly archiveCollection: string;
  readonly archiveTtlMs: number;
}

const KNOWN_OPTIONS = new Set(['logger', 'writeBackOnRead', 'writeVersion', 'onNewerVersion', 'validate', 'writeBackBatchSize', 'compareOn', 'translateQueries', 'shadow', 'shadowRate', 'shadowQueueSize', 'upcastConcurrency', 'upcastTimeoutMs', 'archiveOnWriteBack', 'archiveCollection', 'archiveTtlMs']);

export function resolveOptions(definition: SchemaDefinition, options: VersionedCollectionOptions): ResolvedOptions {
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw new InvalidOptionError(key, `is not an option of versioned(); the options are ${[...KNOWN_OPTIONS].join(', ')}.`);
    }
  }
  const writeVersion = options.writeVersion ?? definition.latest;
  if (!Number.isSafeInteger(writeVersion) || writeVersion < definition.first || writeVersion > definition.latest) {
    throw new InvalidOptionError('writeVersion', `must be a version of schema "${definition.name}" (${definition.first}..${definition.latest}), got ${JSON.stringify(writeVersion)}.`);
  }
  const version = missingDowncaster(definition, writeVersion);
  if (version !== undefined) {
    throw new InvalidOptionError(
      'writeVersion',
      `pins writes at version ${writeVersion}, but schema "${definition.name}" has no downcaster from version ${version} to ${version - 1}: give .version(${version}, schema, { up, down }), or pin a version the chain can reach.`,
    );
  }
  const validate = options.validate ?? DEFAULT_VALIDATE;
  if (!['always', 'migrated', 'never'].includes(validate)) {
    throw new InvalidOptionError('validate', `must be 'always', 'migrated' or 'never', got ${JSON.stringify(validate)}.`);
  }
  const onNewerVersion = options.onNewerVersion ?? DEFAULT_ON_NEWER_VERSION;
  if (!['error', 'passthrough'].includes(onNewerVersion)) {
    throw new InvalidOptionError('onNewerVersion', `must be 'error' or 'passthrough', got ${JSON.stringify(onNewerVersion)}.`);
  }
  const writeBackOnRead = options.writeBackOnRead ?? DEFAULT_WRITE_BACK_ON_READ;
  if (typeof writeBackOnRead !== 'boolean') {
    throw new InvalidOptionError('writeBackOnRead', `must be true or false, got ${JSON.stringify(writeBackOnRead)}.`);
  }
  const writeBackBatchSize = options.writeBackBatchSize ?? DEFAULT_WRITE_BACK_BATCH_SIZE;
  if (!Number.isSafeInteger(writeBackBatchSize) || writeBackBatchSize < 1) {
    throw new InvalidOptionError('writeBackBatchSize', `must be a positive integer, got ${String(writeBackBatchSize)}.`);
  }
  const upcastTimeoutMs = options.upcastTimeoutMs ?? DEFAULT_UPCAST_TIMEOUT_MS;
  if (typeof upcastTimeoutMs !== 'number' || !(upcastTimeoutMs > 0)) {
    throw new InvalidOptionError('upcastTimeoutMs', `must be a positive number of milliseconds (or Infinity), got ${String(upcastTimeoutMs)}.`);
  }
  const upcastConcurrency = options.upcastConcurrency ?? DEFAULT_UPCAST_CONCURRENCY;
  if (!Number.isSafeInteger(upcastConcurrency) || upcastConcurrency < 1) {
    throw new InvalidOptionError('upcastConcurrency', `must be a positive integer, got ${String(upcastConcurrency)}.`);
  }
  const compareOn = checkCompareOn(options.compareOn);
  const logger = options.logger;
  if (logger !== undefined && (typeof logger !== 'object' || logger === null || typeof logger.info !== 'function')) {
    throw new InvalidOptionError('logger', 'must be a pino logger (or anything with pino\'s level methods).');
  }
  const translateQueries = options.translateQueries;
  if (translateQueries !== undefined && typeof translateQueries !== 'boolean' && translateQueries !== 'as-written') {
    throw new InvalidOptionError('translateQueries', `must be true, false or 'as-written', got ${JSON.stringify(translateQueries)}.`);
  }
  const shadow = options.shadow === undefined ? undefined : definitionOf(options.shadow);
  if (shadow !== undefined && shadow.versionField !== definition.versionField) {
    throw new InvalidOptionError('shadow', `must use the same version field as schema "${definition.name}" ("${definition.versionField}"), got "${shadow.versionField}".`);
  }
  const shadowRate = options.shadowRate ?? 1;
  if (typeof shadowRate !== 'number' || !(shadowRate >= 0 && shadowRate <= 1)) {
    throw new InvalidOptionError('shadowRate', `must be a number from 0 to 1, got ${JSON.stringify(shadowRate)}.`);
  }
  const shadowQueueSize = options.shadowQueueSize ?? DEFAULT_SHADOW_QUEUE_SIZE;
  if (!Number.isSafeInteger(shadowQueueSize) || shadowQueueSize < 1) {
    throw new InvalidOptionError('shadowQueueSize', `must be a positive integer, got ${String(shadowQueueSize)}.`);
  }
  const archiveOnWriteBack = options.archiveOnWriteBack ?? false;
  if (typeof archiveOnWriteBack !== 'boolean') throw new InvalidOptionError('archiveOnWriteBack', `must be true or false, got ${JSON.stringify(archiveOnWriteBack)}.`);
  if (archiveOnWriteBack && !writeBackOnRead) {
    throw new InvalidOptionError('archiveOnWriteBack', 'archives the originals of write-backs on read: it needs writeBackOnRead: true.');
  }
  const archiveCollection = options.archiveCollection ?? DEFAULT_ARCHIVE_COLLECTION;
  if (typeof archiveCollection !== 'string' || archiveCollection.length === 0 || archiveCollection.includes('$')) {
    throw new InvalidOptionError('archiveCollection', `must be a collection name, got ${JSON.stringify(archiveCollection)}.`);
  }
  const archiveTtlMs = options.archiveTtlMs ?? DEFAULT_ARCHIVE_TTL_MS;
  if (typeof archiveTtlMs !== 'number' || !Number.isFinite(archiveTtlMs) || archiveTtlMs <= 0) {
    throw new InvalidOptionError('archiveTtlMs', `must be a positive number of milliseconds, got ${String(archiveTtlMs)}.`);
  }
  return { logger, writeBackOnRead, writeVersion, onNewerVersion, validate, writeBackBatchSize, compareOn, translateQueries, shadow, shadowRate, shadowQueueSize, upcastConcurrency, upcastTimeoutMs, archiveOnWriteBack, archiveCollection, archiveTtlMs };
}
