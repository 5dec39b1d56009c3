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
import { Redactor, redactUri } from './redact.js';
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
  /** Partial: the time budget was spent, another run holds the lease, or the run was interrupted. */
  PARTIAL: 3,
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
  let redactor = new Redactor(io.env.MONGODB_URI);
  const out = (text: string): void => io.stdout(`${redactor.redact(text)}\n`);
  const logger = createLogger(io, (text) => io.stderr(redactor.redact(text)));
  const fail = (message: string, code: ExitCode): ExitCode => {
    if (logger) logger.error({ exitCode: code }, message);
    else io.stderr(`${redactor.redact(`molt: ${message}`)}\n`);
    return code;
  };

  let args: ParsedArgs;
  try {
    args = parseCommandLine(argv);
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

  let loaded: LoadedConfig;
  try {
    loaded = await loadConfig({ path: args.config, cwd: io.cwd, env: io.env });
  } catch (error) {
    if (error instanceof ConfigError) return fail(error.message, ExitCode.USAGE);
    throw error;
  }
  redactor = new Redactor(loaded.uri);
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
  try {
    try {
      await client.connect();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return fail(`cannot connect to ${redactUri(loaded.uri)}: ${reason}. Check MONGODB_URI (or uri in ${loaded.path}) and that the server is up.`, ExitCode.FAILURES);
    }
    logger?.info({ server: redactUri(loaded.uri), db: loaded.config.db, command: args.command }, 'connected');
    const db = client.db(loaded.config.db);
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
    return fail(`${args.command} failed: ${message}`, ExitCode.FAILURES);
  } finally {
    await client.close().catch(() => undefined);
  }
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
async function init(args: ParsedArgs, io: CliIo, out: (text: string) => void, fail: (message: string, code: ExitCode) => ExitCode): Promise<ExitCode> {
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

/** pino JSON lines on stderr when it is not a terminal; nothing otherwise (the progress bar speaks there). */
function createLogger(io: CliIo, write: (text: string) => void): Logger | undefined {
  if (io.interactive) return undefined;
  const level = io.env.MOLT_LOG_LEVEL ?? 'info';
  return pino({ name: 'molt', level: pino.levels.values[level] === undefined ? 'info' : level, base: { pid: process.pid } }, { write });
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
  const reports: SweepReport[] = [];
  const display = io.interactive ? new ProgressDisplay(io.stderr, Math.max(40, (io.columns ?? 80) - 1)) : undefined;
  for (const entry of context.collections) {
    const budget = args.maxDurationMs === undefined ? undefined : args.maxDurationMs - (Date.now() - started);
    if (budget !== undefined && budget <= 0) {
      logger?.info({ collection: entry.name }, 'time budget spent before this collection: not started');
      reports.push(notStarted(entry, SweepStatus.PARTIAL, args.dryRun));
      continue;
    }
    if (io.signal?.aborted) {
      reports.push(notStarted(entry, SweepStatus.PARTIAL, args.dryRun));
      continue;
    }
    let lastProgressLog = Date.now();
    const report = await sweep(context.db.collection(entry.name), entry.schema, {
      ...sweepOptionsOf(entry),
      ...(args.batchSize !== undefined ? { batchSize: args.batchSize } : {}),
      ...(args.ratePerSecond !== undefined ? { ratePerSecond: args.ratePerSecond } : {}),
      ...(args.pauseMs !== undefined ? { pauseMs: args.pauseMs } : {}),
      ...(budget !== undefined ? { maxDurationMs: budget } : {}),
      dryRun: args.dryRun,
      retryFailed: args.retryFailed,
      ...(args.allowLoss === true ? { allowLoss: true } : {}),
      ...(args.to !== undefined ? { to: args.to } : {}),
      ...(args.mode !== undefined ? { mode: args.mode } : {}),
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
    reports.push(report);
    if (!args.json) context.out(formatSweepReport(report));
  }
  if (args.json) context.out(toJson(reports.length === 1 && args.collections.length === 1 ? reports[0] : reports));
  return exitCodeOf(reports);
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

/** 1 when anything failed (it needs someone), else 3 when anything is partial or locked (the next run goes on), else 0. */
export function exitCodeOf(reports: readonly SweepReport[]): ExitCode {
  if (reports.some((report) => report.failed > 0 || report.status === SweepStatus.FAILED || report.status === SweepStatus.ABORTED)) return ExitCode.FAILURES;
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
