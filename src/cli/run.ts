import { MongoClient, type Db, type MongoClientOptions } from 'mongodb';
import pino, { type Logger } from 'pino';
import { ConfigError, InvalidOptionError } from '../errors.js';
import { listFailures } from '../sweeper/failures.js';
import { checkMigration, migrationStatus, verifyVersion } from '../sweeper/inspect.js';
import { DEFAULT_FAILURES_COLLECTION } from '../sweeper/options.js';
import { SweepStatus, type SweepReport } from '../sweeper/status.js';
import { sweep } from '../sweeper/sweep.js';
import { pruneArchive, restore } from '../sweeper/restore.js';
import { DEFAULT_ARCHIVE_COLLECTION } from '../storage/index.js';
import { parseCommandLine, type ParsedArgs } from './args.js';
import { censusStyle } from './census.js';
import { loadConfig, type LoadedConfig } from './config.js';
import type { MoltCollectionConfig } from '../sweeper/define-config.js';
import { formatCheck, formatFailures, formatRestore, formatStatus, formatSweepReport, formatVerify, toJson } from './format.js';
import { COMMAND_HELP, MAIN_HELP } from './help.js';
import { ProgressDisplay } from './progress.js';
import { redactUri } from './redact.js';
import { FailureStore } from '../sweeper/failures.js';
import { migrationTarget } from '../migrate/index.js';
import { definitionOf } from '../sweeper/sweep.js';
import { UsageError } from './usage-error.js';
import { INIT_DEFAULT_VERSION_FIELD, initTarget, renderConfig, takeCensus, writeInitConfig } from './init.js';

/** Exit codes a cron wrapper can act on. @public */
export const ExitCode = Object.freeze({
  /** Done. */
  OK: 0,
  /** Documents failed to migrate, verification failed, or an error stopped the command. */
  FAILURES: 1,
  /** Wrong command line or configuration. */
  USAGE: 2,
  /** Partial: the time budget was spent, another run holds the lease, the run was interrupted, or the collection is paused. */
  PARTIAL: 3,
  /** The server could not be used: it cannot be reached, refused the credentials, or stopped answering. */
  INFRASTRUCTURE: 4,
} as const);
/** @public */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Where the CLI reads and writes: the process's, or a test's. @public */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Whether stderr is a terminal: a progress bar there, else pino JSON lines. */
  readonly interactive: boolean;
  /** Terminal width for the progress bar. */
  readonly columns?: number | undefined;
  /** Whether stdout is a terminal: `molt status` draws its version census as bars there (see `censusStyle`). */
  readonly stdoutTerminal?: boolean | undefined;
  /** Terminal width of stdout, for those bars. */
  readonly stdoutColumns?: number | undefined;
  /** Aborted on SIGINT/SIGTERM: the sweep stops between batches. */
  readonly signal?: AbortSignal | undefined;
}

/** Runs `molt <argv…>` and resolves to its exit code. Never throws. @public */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  // --max-duration counts from here: loading the config and connecting are part of the budget.
  const started = Date.now();
  const out = (text: string): void => io.stdout(`${redactUri(text)}\n`);
  let logger: Logger | undefined;
  let json = false;
  const fail = (message: string, code: ExitCode, name = code === ExitCode.USAGE ? 'UsageError' : code === ExitCode.INFRASTRUCTURE ? 'InfrastructureError' : 'Error'): ExitCode => {
    if (logger) logger.error({ exitCode: code }, message);
    else io.stderr(`${redactUri(`molt: ${message}`)}\n`);
    // Under --json, stdout always carries one JSON document, an error included.
    if (json) out(toJson({ error: { name, message }, exitCode: code }));
    return code;
  };

  const writeLog = (text: string): void => io.stderr(redactUri(text));
  let args: ParsedArgs;
  try {
    logger = createLogger(io, undefined, writeLog);
    args = parseCommandLine(argv);
    json = args.json;
    if (args.log === 'json') logger = createLogger(io, args, writeLog);
  } catch (error) {
    if (error instanceof UsageError) return fail(error.message, ExitCode.USAGE);
    throw error;
  }
  if (args.help || args.command === undefined) {
    const text = args.command ? COMMAND_HELP[args.command] : MAIN_HELP;
    if (args.noCommand) {
      io.stderr(`${text}\n`);
      return ExitCode.USAGE;
    }
    out(text);
    return ExitCode.OK;
  }

  if (args.command === 'init') return init(args, io, out, fail);

  io.signal?.addEventListener('abort', () => {
    const reason = String(io.signal?.reason);
    const message = `${reason === 'launcher-gone' ? 'the command that started molt (npx, npm exec) is gone' : reason}: stopping after the batch in flight (again to quit at once)`;
    if (logger) logger.warn({ signal: reason }, message);
    else io.stderr(`\nmolt: ${message}\n`);
  }, { once: true });

  let loaded: LoadedConfig;
  try {
    loaded = await loadConfig({ path: args.config, cwd: io.cwd, env: io.env });
  } catch (error) {
    if (error instanceof ConfigError) return fail(error.message, ExitCode.USAGE);
    throw error;
  }
  let collections: readonly MoltCollectionConfig[];
  try {
    collections = selectCollections(loaded, args.collections);
  } catch (error) {
    if (error instanceof UsageError) return fail(error.message, ExitCode.USAGE);
    throw error;
  }

  let client: MongoClient;
  try {
    client = new MongoClient(loaded.uri, clientOptionsFor(loaded.uri, loaded.config.clientOptions));
  } catch (error) {
    const reason = redactUri(error instanceof Error ? error.message : String(error));
    return fail(`the connection string ${redactUri(loaded.uri)} is not valid: ${reason}. Fix MONGODB_URI (or uri in ${loaded.path}); special characters in a password must be percent-encoded.`, ExitCode.USAGE);
  }
  if (args.command === 'sweep' && args.maxDurationMs !== undefined && Date.now() - started >= args.maxDurationMs) {
    // Spent before connecting (loading the config): no collection is started, the next run goes on.
    return sweepCommand({ args, io, out, logger, db: client.db(loaded.config.db), collections, started });
  }
  try {
    try {
      await connectWithin(client, args.maxDurationMs === undefined ? undefined : args.maxDurationMs - (Date.now() - started));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return fail(`cannot connect to ${redactUri(loaded.uri)}: ${reason}. Check MONGODB_URI (or uri in ${loaded.path}), the credentials, and that the server is up.`, ExitCode.INFRASTRUCTURE);
    }
    logger?.info({ server: redactUri(loaded.uri), db: loaded.config.db, command: args.command }, 'connected');
    const db = client.db(loaded.config.db);
    if (args.command === 'status' || args.command === 'sweep' || args.command === 'check' || args.command === 'failures') {
      const missing = await missingNames(db, collections);
      if (missing !== undefined && !args.allowMissing) return fail(`${missing} (a misspelt name must not pass). Fix db or the collection's name in ${loaded.path}, or pass --allow-missing for a collection created later.`, ExitCode.USAGE, 'MissingCollection');
      if (missing !== undefined) {
        const existing = new Set(await db.listCollections({}, { nameOnly: true }).map((entry) => entry.name).toArray());
        for (const entry of collections) if (!existing.has(entry.name)) logger?.warn({ collection: entry.name }, 'the collection does not exist: skipped (--allow-missing)');
        collections = collections.filter((entry) => existing.has(entry.name));
      }
    }
    const context: CommandContext = { args, io, out, logger, db, collections, started };
    switch (args.command) {
      case 'status':
        return await status(context);
      case 'sweep':
        return await sweepCommand(context);
      case 'check':
        return await check(context);
      case 'failures':
        return await failures(context);
      case 'verify':
        return await verify(context);
      case 'restore':
        return await restoreCommand(context);
      case 'prune':
        return await prune(context);
    }
  } catch (error) {
    if (error instanceof InvalidOptionError || error instanceof UsageError) return fail(error.message, ExitCode.USAGE);
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    if (isInfrastructureError(error)) return fail(`${args.command} failed: ${message}`, ExitCode.INFRASTRUCTURE, (error as Error).name);
    return fail(`${args.command} failed: ${message}`, ExitCode.FAILURES);
  } finally {
    await client.close().catch(() => undefined);
  }
}

/**
 * Connects, within what is left of the time budget when there is one: the budget covers the
 * connection (an unreachable host must not hold the run for the driver's own 15 s).
 */
async function connectWithin(client: MongoClient, budgetMs: number | undefined): Promise<void> {
  if (budgetMs === undefined) {
    await client.connect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const spent = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no connection within the time budget (--max-duration, ${Math.max(0, Math.round(budgetMs))} ms left)`)), Math.max(0, budgetMs));
  });
  try {
    await Promise.race([client.connect(), spent]);
  } finally {
    clearTimeout(timer);
  }
}

/** Errors of the server or the way to it (cannot connect, credentials refused, no answer), as opposed to the data's. */
const INFRASTRUCTURE_ERRORS = new Set(['MongoServerSelectionError', 'MongoNetworkError', 'MongoNetworkTimeoutError', 'MongoTopologyClosedError', 'MongoNotConnectedError', 'TimeBudgetSpentError']);
/** Server codes for refused credentials and privileges: AuthenticationFailed, Unauthorized. */
const AUTH_CODES = new Set([18, 13]);

/** Whether an error is the infrastructure's (exit 4) rather than the data's or the command's (exit 1). */
export function isInfrastructureError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name, code } = error as { name?: unknown; code?: unknown };
  return (typeof name === 'string' && INFRASTRUCTURE_ERRORS.has(name)) || (typeof code === 'number' && AUTH_CODES.has(code));
}

/**
 * What does not exist of the database and collections named: a misspelt name would otherwise pass
 * forever ("complete, migrated 0") and a sweep would create the database to hold its state.
 */
async function missingNames(db: Db, collections: readonly MoltCollectionConfig[]): Promise<string | undefined> {
  const existing = new Set(await db.listCollections({}, { nameOnly: true }).map((entry) => entry.name).toArray());
  if (existing.size === 0) return `the database "${db.databaseName}" does not exist (it has no collections)`;
  const missing = collections.filter((entry) => !existing.has(entry.name)).map((entry) => `"${entry.name}"`);
  if (missing.length === 0) return undefined;
  return `the collection${missing.length === 1 ? '' : 's'} ${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist in the database "${db.databaseName}"`;
}

/** molt's defaults apply only where neither the connection string nor `clientOptions` set the option. */
const CLIENT_DEFAULTS: Readonly<Record<string, unknown>> = { appName: 'molt', serverSelectionTimeoutMS: 15_000 };

/** The driver lets options passed in code win over the URI's, so a default must step aside for the URI's own. */
export function clientOptionsFor(uri: string, clientOptions: MongoClientOptions | undefined): MongoClientOptions {
  const query = uri.includes('?') ? uri.slice(uri.indexOf('?') + 1).split('#')[0] ?? '' : '';
  const inUri = new Set(query.split('&').map((pair) => (pair.split('=')[0] ?? '').toLowerCase()));
  const defaults = Object.fromEntries(Object.entries(CLIENT_DEFAULTS).filter(([key]) => !inUri.has(key.toLowerCase())));
  return { ...defaults, ...clientOptions };
}

/** `molt init`: needs no config; connects with MONGODB_URI and writes a starter config with each collection's census. */
async function init(args: ParsedArgs, io: CliIo, out: (text: string) => void, fail: (message: string, code: ExitCode, name?: string) => ExitCode): Promise<ExitCode> {
  const uri = io.env.MONGODB_URI;
  if (!uri) return fail('init needs MONGODB_URI: the server whose database to list (molt init reads no config).', ExitCode.USAGE);
  let target: string | undefined;
  try {
    if (!args.json) target = initTarget(args.out, io.cwd, args.force === true);
  } catch (error) {
    if (error instanceof UsageError) return fail(error.message, ExitCode.USAGE);
    throw error;
  }
  let client: MongoClient;
  try {
    client = new MongoClient(uri, clientOptionsFor(uri, undefined));
  } catch (error) {
    return fail(`the connection string in MONGODB_URI is not valid: ${redactUri(error instanceof Error ? error.message : String(error))}.`, ExitCode.USAGE);
  }
  try {
    const db = args.db === undefined ? client.db() : client.db(args.db);
    if (args.db === undefined && db.databaseName === 'test' && !/^mongodb(\+srv)?:\/\/[^/]+\/test([?]|$)/.test(uri)) {
      return fail('init needs a database: pass --db <name> (or put it in MONGODB_URI\'s path).', ExitCode.USAGE);
    }
    const versionField = args.versionField ?? INIT_DEFAULT_VERSION_FIELD;
    if ((await db.listCollections({}, { nameOnly: true }).toArray()).length === 0) {
      return fail(`the database "${db.databaseName}" does not exist (it has no collections): check --db (or MONGODB_URI's path); nothing was written.`, ExitCode.USAGE, 'MissingCollection');
    }
    const census = await takeCensus(db, versionField);
    if (args.json) {
      out(toJson({ db: db.databaseName, versionField, collections: census }));
      return ExitCode.OK;
    }
    writeInitConfig(target as string, renderConfig(db.databaseName, versionField, census, new Date().toISOString().slice(0, 10)));
    out(`wrote ${target as string}: ${census.length} collection${census.length === 1 ? '' : 's'} of "${db.databaseName}", each commented out until it has a schema`);
    return ExitCode.OK;
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return fail(`init failed: ${message}`, ExitCode.FAILURES);
  } finally {
    await client.close().catch(() => undefined);
  }
}

interface CommandContext {
  readonly args: ParsedArgs;
  readonly io: CliIo;
  readonly out: (text: string) => void;
  readonly logger: Logger | undefined;
  readonly db: Db;
  readonly collections: readonly MoltCollectionConfig[];
  /** When the command started (`Date.now()`): the time budget counts from there. */
  readonly started: number;
}

/** The levels MOLT_LOG_LEVEL takes. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * pino JSON lines on stderr when it is not a terminal, or always with `--log json` (then the human
 * summary is not printed either: the report is in the "sweep …" line, one stream of JSON lines);
 * nothing on a terminal (the progress bar speaks there). MOLT_LOG_LEVEL sets the level (default
 * info); a level pino does not know is a usage error, not a silent info.
 */
function createLogger(io: CliIo, args: ParsedArgs | undefined, write: (text: string) => void): Logger | undefined {
  const level = io.env.MOLT_LOG_LEVEL || 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`MOLT_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}; got "${level}".`);
  if (io.interactive && args?.log !== 'json') return undefined;
  return pino({ name: 'molt', level, base: { pid: process.pid } }, { write });
}

function selectCollections(loaded: LoadedConfig, names: readonly string[]): readonly MoltCollectionConfig[] {
  if (names.length === 0) return loaded.config.collections;
  const known = new Map(loaded.config.collections.map((entry) => [entry.name, entry]));
  return names.map((name) => {
    const entry = known.get(name);
    if (!entry) throw new UsageError(`unknown collection "${name}": ${loaded.path} configures ${[...known.keys()].map((key) => `"${key}"`).join(', ')}.`);
    return entry;
  });
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
  context.out(context.args.json ? toJson(results) : results.map((result) => formatStatus(result, census)).join('\n\n'));
  return ExitCode.OK;
}

async function sweepCommand(context: CommandContext): Promise<ExitCode> {
  const { args, io, logger, started } = context;
  const reports: CliSweepReport[] = [];
  const display = io.interactive && args.log !== 'json' ? new ProgressDisplay(io.stderr, Math.max(40, (io.columns ?? 80) - 1)) : undefined;
  for (const entry of context.collections) {
    const budget = args.maxDurationMs === undefined ? undefined : args.maxDurationMs - (Date.now() - started);
    if (budget !== undefined && budget <= 0) {
      logger?.info({ collection: entry.name }, 'time budget spent before this collection: not started');
      reports.push({ ...notStarted(entry, SweepStatus.PARTIAL, args.dryRun), reason: 'budget' });
      continue;
    }
    if (io.signal?.aborted) {
      reports.push({ ...notStarted(entry, SweepStatus.PARTIAL, args.dryRun), reason: 'signal' });
      continue;
    }
    let lastProgressLog = Date.now();
    const report = await sweep(context.db.collection(entry.name), entry.schema, {
      ...sweepOptionsOf(entry),
      ...(args.batchSize !== undefined ? { batchSize: args.batchSize } : {}),
      ...(args.ratePerSecond !== undefined ? { ratePerSecond: args.ratePerSecond } : {}),
      ...(args.pauseMs !== undefined ? { pauseMs: args.pauseMs } : {}),
      ...(budget !== undefined ? { maxDurationMs: budget } : {}),
      ...(args.leaseMs !== undefined ? { leaseMs: args.leaseMs } : {}),
      dryRun: args.dryRun,
      retryFailed: args.retryFailed,
      ...(args.allowLoss === true ? { allowLoss: true } : {}),
      ...(args.to !== undefined ? { to: args.to } : {}),
      ...(args.mode !== undefined ? { mode: args.mode } : {}),
      ...(args.workers !== undefined ? { workers: args.workers } : {}),
      ...(io.signal ? { signal: io.signal } : {}),
      ...(logger ? { logger } : {}),
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
    });
    display?.done();
    const recorded = args.dryRun ? 0 : await staleFailures(context.db, entry);
    const explained: CliSweepReport = { ...report, ...reasonOf(report, io.signal, budget), ...(args.dryRun ? {} : { recordedFailures: recorded }) };
    reports.push(explained);
    if (!args.json && args.log !== 'json') context.out(formatSweepReport(explained));
  }
  // One shape for every --json: an array, one entry per collection.
  if (args.json) context.out(toJson(reports));
  return exitCodeOf(reports);
}

/** A sweep's report as the CLI prints it: why it is partial or locked, and the failures left stale. */
export type CliSweepReport = SweepReport & {
  /** Why the run stopped before the end: `signal`, `budget`, `lock` (another run holds the lease), `lease-lost`, `error`. */
  readonly reason?: string;
  /**
   * Recorded failures whose document is still stale, over every run: not one run's count, so
   * that a run after the one that recorded them still exits 1.
   */
  readonly recordedFailures?: number;
};

/** Why a run ended `partial` or `locked`. */
function reasonOf(report: SweepReport, signal: AbortSignal | undefined, budget: number | undefined): { reason?: string } {
  if (report.status === SweepStatus.LOCKED) return { reason: report.error?.name === 'LeaseLost' ? 'lease-lost' : 'lock' };
  if (report.status !== SweepStatus.PARTIAL) return {};
  if (signal?.aborted) return { reason: 'signal' };
  if (budget !== undefined && report.elapsedMs >= budget - 50) return { reason: 'budget' };
  if (report.error?.name === 'TimeBudgetSpentError') return { reason: 'budget' };
  return { reason: report.error ? 'error' : 'budget' };
}

/** The failures recorded for a collection whose document is still stale (below the latest version). */
async function staleFailures(db: Db, entry: MoltCollectionConfig): Promise<number> {
  const definition = definitionOf(entry.schema);
  const store = new FailureStore(db, entry.failuresCollection ?? DEFAULT_FAILURES_COLLECTION, entry.name, definition.name);
  const { staleFilter } = migrationTarget(definition, definition.latest, 'up');
  return store.staleCount(db.collection(entry.name), staleFilter, 500);
}

function notStarted(entry: MoltCollectionConfig, status: SweepStatus, dryRun: boolean): SweepReport {
  return { status, scanned: 0, migrated: 0, skipped: 0, failed: 0, remaining: 0, staleFailures: 0, lossy: 0, elapsedMs: 0, collection: entry.name, targetVersion: entry.schema.latest, pass: 0, dryRun, mode: 'client', serverVersions: [] };
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
 * (it needs someone, every run until they are fixed); else 3 when anything is partial or locked
 * (the next run goes on); else 0.
 */
export function exitCodeOf(reports: readonly CliSweepReport[]): ExitCode {
  if (reports.some((report) => report.status === SweepStatus.ABORTED && report.error !== undefined && isInfrastructureError(report.error))) return ExitCode.INFRASTRUCTURE;
  if (reports.some((report) => report.failed > 0 || (report.recordedFailures ?? 0) > 0 || report.status === SweepStatus.FAILED || report.status === SweepStatus.ABORTED)) return ExitCode.FAILURES;
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
  context.out(args.json ? toJson(reports) : reports.map(formatCheck).join('\n\n'));
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
  context.out(context.args.json ? toJson(results) : results.map((result) => formatFailures(result.collection, result.failures, result.total)).join('\n\n'));
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
  context.out(context.args.json ? toJson(reports) : reports.map(formatRestore).join('\n'));
  return reports.every((report) => report.skipped === 0 && report.missing === 0) ? ExitCode.OK : ExitCode.FAILURES;
}

/** `molt prune`: deletes expired archived originals (for servers without TTL indexes). */
async function prune(context: CommandContext): Promise<ExitCode> {
  const archives = [...new Set(context.collections.map((entry) => entry.archiveCollection ?? DEFAULT_ARCHIVE_COLLECTION))];
  let deleted = 0;
  for (const archiveCollection of archives) deleted += await pruneArchive(context.db, { archiveCollection });
  context.out(context.args.json ? toJson({ deleted }) : `pruned ${deleted} expired original${deleted === 1 ? '' : 's'} from ${archives.join(', ')}`);
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
    reports.push(await verifyVersion(context.db.collection(entry.name), entry.schema, minVersion, { allowMissing: args.allowMissing === true }));
  }
  context.out(context.args.json ? toJson(reports) : reports.map(formatVerify).join('\n'));
  return reports.every((report) => report.ok) ? ExitCode.OK : ExitCode.FAILURES;
}
