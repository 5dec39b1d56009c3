import { type Db } from 'mongodb';
import { type Logger } from 'pino';
import { listFailures } from '../sweeper/failures.js';
import { checkMigration, migrationStatus, verifyVersion } from '../sweeper/inspection/inspect.js';
import { DEFAULT_FAILURES_COLLECTION } from '../sweeper/options.js';
import { SweepReason, SweepStatus, type SweepReport } from '../sweeper/status.js';
import { pauseSweeps, resumeSweeps, SWEEP_ACTOR, unpinSweeps } from '../sweeper/control.js';
import { releaseLease } from '../sweeper/lease-release.js';
import { buildStaleIndex } from '../sweeper/inspection/stale-index.js';
import { leaseRisk } from '../sweeper/run/lease-risk.js';
import { DEFAULT_BATCH_SIZE, DEFAULT_LEASE_MS, DEFAULT_RATE_PER_SECOND, type SweepOptions } from '../sweeper/options.js';
import { definitionOf, sweep } from '../sweeper/run/sweep.js';
import { migrationTarget } from '../migrate/index.js';
import { limited, untilLimit } from '../server/index.js';
import { restore } from '../sweeper/archive/restore.js';
import { pruneArchive } from '../sweeper/archive/prune.js';
import { DEFAULT_ARCHIVE_COLLECTION } from '../storage/index.js';
import { type ParsedArgs } from './args.js';
import { censusStyle } from './census.js';
import type { MoltCollectionConfig } from '../sweeper/define-config.js';
import { formatBuildIndex, formatCheck, formatControl, formatFailures, formatLeaseRelease, formatRestore, formatStatus, formatSweepReport, formatVerify, toJson } from './format.js';
import { ProgressDisplay } from './progress.js';
import { UsageError } from './usage-error.js';

import { ExitCode, isInfrastructureError, type CliIo } from './exit-code.js';

/** What a command runs with: the parsed command line, where it writes, the database and its collections. */
export interface CommandContext {
  readonly args: ParsedArgs;
  readonly io: CliIo;
  readonly out: (text: string) => void;
  readonly logger: Logger | undefined;
  readonly db: Db;
  readonly collections: readonly MoltCollectionConfig[];
  /** When the command started (`Date.now()`): the time budget counts from there. */
  readonly started: number;
  /** Prints the command's result: `json` (an array, one entry per collection, or an object) under `--json`, else `text`. */
  readonly print: (json: unknown, text: string | undefined) => void;
  /** How many databases run at once (`--tenant-concurrency`): they share the rate, and a progress bar only shows for one. */
  readonly sharing: number;
}

/** Runs the command on the context's database. */
export async function runCommand(context: CommandContext): Promise<ExitCode> {
  switch (context.args.command) {
    case 'status':
      return status(context);
    case 'sweep':
      return sweepCommand(context);
    case 'check':
      return check(context);
    case 'failures':
      return failures(context);
    case 'verify':
      return verify(context);
    case 'restore':
      return restoreCommand(context);
    case 'prune':
      return prune(context);
    case 'pause':
    case 'resume':
    case 'unpin':
      return control(context, context.args.command);
    case 'lease':
      return leaseRelease(context);
    default:
      throw new UsageError(`${String(context.args.command)} does not run on a database.`);
  }
}

/** A config entry's sweep options: everything but what names the collection and what only `molt verify` reads. */
function sweepOptionsOf(entry: MoltCollectionConfig): Omit<MoltCollectionConfig, 'name' | 'schema' | 'minVersion'> {
  const { name: _name, schema: _schema, minVersion: _minVersion, ...options } = entry;
  return options;
}

async function status(context: CommandContext): Promise<ExitCode> {
  const results = [];
  for (const entry of context.collections) {
    const { stateCollection, failuresCollection } = entry;
    results.push(await migrationStatus(context.db.collection(entry.name), entry.schema, {
      ...(stateCollection ? { stateCollection } : {}),
      ...(failuresCollection ? { failuresCollection } : {}),
    }));
  }
  const census = censusStyle(context.io.env, context.io.stdoutTerminal === true, context.io.stdoutColumns);
  context.print(results, context.args.json ? '' : results.map((result) => formatStatus(result, census)).join('\n\n'));
  return ExitCode.OK;
}

export async function sweepCommand(context: CommandContext): Promise<ExitCode> {
  const { args, io, logger, started } = context;
  if (args.buildIndex) return buildIndexCommand(context);
  const reports: CliSweepReport[] = [];
  const display = io.interactive && args.log !== 'json' && context.sharing === 1 ? new ProgressDisplay(io.stderr, Math.max(40, (io.columns ?? 80) - 1)) : undefined;
  for (const entry of context.collections) {
    const budget = args.maxDurationMs === undefined ? undefined : args.maxDurationMs - (Date.now() - started);
    const skippedFor = budget !== undefined && budget <= 0 ? 'budget' : io.signal?.aborted ? 'signal' : undefined;
    if (skippedFor !== undefined) {
      logger?.info({ collection: entry.name, reason: skippedFor }, 'not started');
      const report: CliSweepReport = { ...notStarted(entry, SweepStatus.PARTIAL, args), remaining: await staleWithin(context.db, entry, args.to, NOT_STARTED_COUNT_MS), reason: skippedFor === 'budget' ? SweepReason.BUDGET : SweepReason.SIGNAL };
      reports.push(report);
      if (!args.json && args.log !== 'json') context.out(formatSweepReport(report));
      continue;
    }
    const options = {
      ...sweepOptionsOf(entry),
      ...(args.batchSize !== undefined ? { batchSize: args.batchSize } : {}),
      ...(args.ratePerSecond !== undefined ? { ratePerSecond: args.ratePerSecond } : {}),
      // Databases swept at once share the rate: each takes its part.
      ...(context.sharing > 1 ? { ratePerSecond: (args.ratePerSecond ?? entry.ratePerSecond ?? DEFAULT_RATE_PER_SECOND) / context.sharing } : {}),
      ...(args.pauseMs !== undefined ? { pauseMs: args.pauseMs } : {}),
      ...(budget !== undefined ? { maxDurationMs: budget } : {}),
      ...(args.leaseMs !== undefined ? { leaseMs: args.leaseMs } : {}),
    };
    // Said before the run starts; the library logs it too, where there is a logger.
    const risk = leaseRisk({ batchSize: options.batchSize ?? DEFAULT_BATCH_SIZE, ratePerSecond: options.ratePerSecond ?? DEFAULT_RATE_PER_SECOND, leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS });
    if (risk !== undefined && !logger) io.stderr(`molt: warning: ${entry.name}: ${risk}\n`);
    let lastProgressLog = Date.now();
    const report = await sweep(context.db.collection(entry.name), entry.schema, {
      ...options,
      dryRun: args.dryRun,
      retryFailed: args.retryFailed,
      ...(args.allowLoss === true ? { allowLoss: true } : {}),
      ...(args.to !== undefined ? { to: args.to } : {}),
      ...(args.mode !== undefined ? { mode: args.mode } : {}),
      ...(args.workers !== undefined ? { workers: args.workers } : {}),
      ...(io.signal ? { signal: io.signal } : {}),
      ...(logger ? { logger } : {}),
      [SWEEP_ACTOR]: `molt sweep${args.to !== undefined ? ` --to ${args.to}` : ''}`,
      onProgress: (progress) => {
        display?.update({
          label: entry.name,
          done: progress.scanned,
          total: progressTotal(progress),
          ratePerSecond: progress.ratePerSecond,
          etaMs: progress.etaMs,
          failed: progress.failed,
        });
        if (logger && Date.now() - lastProgressLog >= 10_000) {
          lastProgressLog = Date.now();
          logger.info({ ...progress, ratePerSecond: Math.round(progress.ratePerSecond) }, 'progress');
        }
      },
    } as SweepOptions);
    display?.done();
    reports.push(report);
    if (!args.json && args.log !== 'json') context.out(formatSweepReport(report));
  }
  // One shape for every --json: an array, one entry per collection.
  if (args.json) context.print(reports, undefined);
  return exitCodeOf(reports);
}

/** `molt sweep --build-index`: the stale-version index of each collection, and no sweep. */
async function buildIndexCommand(context: CommandContext): Promise<ExitCode> {
  const results = [];
  for (const entry of context.collections) {
    results.push(await buildStaleIndex(context.db.collection(entry.name), entry.schema, context.logger ? { logger: context.logger } : {}));
  }
  context.out(context.args.json ? toJson(results) : results.map(formatBuildIndex).join('\n'));
  return ExitCode.OK;
}

/** A sweep's report as the CLI prints it: `remaining` may be unknown for a collection the run never started. */
export type CliSweepReport = Omit<SweepReport, 'remaining'> & {
  /**
   * Stale documents left: the sweep's recount; for a collection the run did not start (its time
   * budget was spent, or it was interrupted, before this collection) a count of its own, bounded
   * by {@link NOT_STARTED_COUNT_MS}; `null` when that count could not be had: unknown, never 0.
   */
  readonly remaining: number | null;
};

/** `molt pause`, `molt resume`, `molt unpin`: the stored control of each collection. */
async function control(context: CommandContext, command: 'pause' | 'resume' | 'unpin'): Promise<ExitCode> {
  const results = [];
  for (const entry of context.collections) {
    const collection = context.db.collection(entry.name);
    const options = { ...(entry.stateCollection !== undefined ? { stateCollection: entry.stateCollection } : {}), by: `molt ${command}` };
    const stored = command === 'pause' ? await pauseSweeps(collection, options) : command === 'resume' ? await resumeSweeps(collection, options) : await unpinSweeps(collection, options);
    context.logger?.info({ collection: entry.name, control: stored }, `molt ${command}`);
    results.push({ collection: entry.name, ...stored });
  }
  context.out(context.args.json ? toJson(results) : results.map((result) => formatControl(result.collection, result)).join('\n'));
  return ExitCode.OK;
}

/** `molt lease release`: 1 when a lease was left held (it has not expired and its run may be alive: --force). */
async function leaseRelease(context: CommandContext): Promise<ExitCode> {
  const reports = [];
  for (const entry of context.collections) {
    reports.push(await releaseLease(context.db.collection(entry.name), entry.schema, {
      ...(entry.stateCollection !== undefined ? { stateCollection: entry.stateCollection } : {}),
      force: context.args.force === true,
    }));
  }
  context.out(context.args.json ? toJson(reports) : reports.map(formatLeaseRelease).join('\n'));
  return reports.some((report) => report.lease === 'held') ? ExitCode.FAILURES : ExitCode.OK;
}

/** How long a collection the run did not start may take to count its stale documents (the budget is spent already). */
export const NOT_STARTED_COUNT_MS = 1_000;

function notStarted(entry: MoltCollectionConfig, status: SweepStatus, args: { readonly dryRun: boolean; readonly to?: number | undefined }): Omit<SweepReport, 'remaining'> {
  const targetVersion = args.to ?? entry.schema.latest;
  return { status, scanned: 0, migrated: 0, skipped: 0, failed: 0, staleFailures: 0, lossy: 0, elapsedMs: 0, collection: entry.name, targetVersion, pass: 0, dryRun: args.dryRun, mode: 'client', serverVersions: [] };
}

/** The stale documents of a collection (for `to`, when given), or `null` when they cannot be counted within `ms`. */
async function staleWithin(db: Db, entry: MoltCollectionConfig, to: number | undefined, ms: number): Promise<number | null> {
  const definition = definitionOf(entry.schema);
  const version = to ?? definition.latest;
  if (!Number.isSafeInteger(version) || version < definition.first || version > definition.latest) return null;
  const { staleFilter } = migrationTarget(definition, version, version < definition.latest ? 'down' : 'up');
  const limit = { signal: AbortSignal.timeout(ms) };
  return untilLimit(db.collection(entry.name).countDocuments(staleFilter, limited({}, limit)), limit).catch(() => null);
}

/**
 * The version `verify` requires of a collection: `--min-version name=N`, else `--min-version N`,
 * else the config's `minVersion`. Checked against the schema here, so that the error names the flag.
 */
function minVersionOf(args: ParsedArgs, entry: MoltCollectionConfig): number {
  const fromFlag = args.minVersions?.get(entry.name) ?? args.minVersion;
  const minVersion = fromFlag ?? entry.minVersion;
  if (minVersion === undefined) {
    throw new UsageError(`verify needs a version for "${entry.name}": pass --min-version N (or --min-version ${entry.name}=N), or set minVersion in its config entry.`, 'verify');
  }
  const latest = entry.schema.latest;
  if (minVersion > latest) {
    const source = fromFlag === undefined ? `minVersion ${minVersion} in the config of "${entry.name}"` : `--min-version ${minVersion}`;
    throw new UsageError(`${source} is above the latest version of schema "${entry.schema.name}" (v${latest}): pass a version from 1 to ${latest}.`, 'verify');
  }
  return minVersion;
}

/**
 * The progress bar's total: what was scanned plus what is left. `remaining` still counts the
 * documents that failed (they stay stale), which `scanned` already holds: without taking them out
 * once, the total would grow with every failure.
 */
export function progressTotal(progress: { readonly scanned: number; readonly remaining: number; readonly failed: number }): number {
  return progress.scanned + Math.max(0, progress.remaining - progress.failed);
}

/**
 * 4 when the server could not be used; 1 when anything failed or recorded failures are left stale
 * (the report's `staleFailures`, over every run: it needs someone, every run until they are
 * fixed); else 3 when anything is partial or locked (the next run goes on); else 0.
 */
export function exitCodeOf(reports: readonly CliSweepReport[]): ExitCode {
  if (reports.some((report) => report.status === SweepStatus.ABORTED && report.error !== undefined && isInfrastructureError(report.error))) return ExitCode.INFRASTRUCTURE;
  if (reports.some((report) => report.failed > 0 || report.staleFailures > 0 || report.status === SweepStatus.FAILED || report.status === SweepStatus.ABORTED)) return ExitCode.FAILURES;
  if (reports.some((report) => report.status === SweepStatus.PARTIAL || report.status === SweepStatus.LOCKED)) return ExitCode.PARTIAL;
  return ExitCode.OK;
}

async function check(context: CommandContext): Promise<ExitCode> {
  const { args } = context;
  const reports = [];
  for (const entry of context.collections) {
    reports.push(await checkMigration(context.db.collection(entry.name), entry.schema, {
      ...(args.sample !== undefined ? { sample: args.sample } : {}),
      ...(args.batchSize !== undefined ? { batchSize: args.batchSize } : {}),
      ...(args.roundTrip ? { roundTrip: true } : {}),
    }));
  }
  context.print(reports, args.json ? '' : reports.map(formatCheck).join('\n\n'));
  return reports.some((report) => report.failed > 0) ? ExitCode.FAILURES : ExitCode.OK;
}

async function failures(context: CommandContext): Promise<ExitCode> {
  const results = [];
  for (const entry of context.collections) {
    const failuresCollection = entry.failuresCollection ?? DEFAULT_FAILURES_COLLECTION;
    const collection = context.db.collection(entry.name);
    const [records, total] = await Promise.all([
      listFailures(collection, { limit: context.args.limit ?? 20, failuresCollection }),
      context.db.collection(failuresCollection).countDocuments({ collection: entry.name }),
    ]);
    results.push({ collection: entry.name, total, failures: records });
  }
  context.print(results, context.args.json ? '' : results.map((result) => formatFailures(result.collection, result.failures, result.total)).join('\n\n'));
  return ExitCode.OK;
}

/** `molt restore`: archived originals back, never over a document changed since; 1 when some were skipped or missing. */
async function restoreCommand(context: CommandContext): Promise<ExitCode> {
  const reports = [];
  for (const entry of context.collections) {
    reports.push(await restore(context.db.collection(entry.name), {
      ...(entry.archiveCollection !== undefined ? { archiveCollection: entry.archiveCollection } : {}),
      ...(context.args.since ? { since: context.args.since } : {}),
      dryRun: context.args.dryRun,
    }));
  }
  context.print(reports, context.args.json ? '' : reports.map(formatRestore).join('\n'));
  return reports.every((report) => report.skipped === 0 && report.missing === 0) ? ExitCode.OK : ExitCode.FAILURES;
}

/** `molt prune`: deletes expired archived originals (for servers without TTL indexes). */
async function prune(context: CommandContext): Promise<ExitCode> {
  const archives = [...new Set(context.collections.map((entry) => entry.archiveCollection ?? DEFAULT_ARCHIVE_COLLECTION))];
  let deleted = 0;
  for (const archiveCollection of archives) deleted += await pruneArchive(context.db, { archiveCollection });
  context.print({ deleted }, `pruned ${deleted} expired original${deleted === 1 ? '' : 's'} from ${archives.join(', ')}`);
  return ExitCode.OK;
}

async function verify(context: CommandContext): Promise<ExitCode> {
  const { args } = context;
  for (const name of args.minVersions?.keys() ?? []) {
    if (!context.collections.some((entry) => entry.name === name)) {
      throw new UsageError(`--min-version ${name}=…: "${name}" is not among the collections verified (${context.collections.map((entry) => `"${entry.name}"`).join(', ')}).`, 'verify');
    }
  }
  const targets = context.collections.map((entry) => ({ entry, minVersion: minVersionOf(args, entry) }));
  const reports = [];
  for (const { entry, minVersion } of targets) {
    reports.push(await verifyVersion(context.db.collection(entry.name), entry.schema, minVersion, {
      allowMissing: args.allowMissing === true,
      ...(entry.stateCollection !== undefined ? { stateCollection: entry.stateCollection } : {}),
      ...(entry.failuresCollection !== undefined ? { failuresCollection: entry.failuresCollection } : {}),
    }));
  }
  context.print(reports, context.args.json ? '' : reports.map(formatVerify).join('\n'));
  return reports.every((report) => report.ok) ? ExitCode.OK : ExitCode.FAILURES;
}
