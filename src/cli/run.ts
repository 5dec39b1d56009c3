import { MongoClient, type Db, type MongoClientOptions } from 'mongodb';
import pino, { type Logger } from 'pino';
import { ConfigError, describeError, InvalidOptionError } from '../errors.js';
import { parseCommandLine, requestsJson, type ParsedArgs } from './args.js';
import { loadConfig, type LoadedConfig } from './config.js';
import type { MoltCollectionConfig } from '../sweeper/define-config.js';
import { toJson } from './format.js';
import { COMMAND_HELP, MAIN_HELP } from './help.js';
import { redactUri } from './redact.js';
import { UsageError } from './usage-error.js';
import { startNodeSdk, type StartedSdk } from '../telemetry/index.js';
import { libraryDatabase } from '../server/index.js';
import { forEachTenant, formatTenant, formatTenantSummary, selectDatabases, singleDatabase, taggedEntries, worstExitCode, type TenantOutcome } from './tenants.js';
import { INIT_DEFAULT_VERSION_FIELD, initTarget, renderConfig, takeCensus, writeInitConfig } from './init.js';

import { ExitCode, isInfrastructureError, type CliIo } from './exit-code.js';
import { runCommand, sweepCommand, type CommandContext } from './commands.js';

export { ExitCode, isInfrastructureError, type CliIo } from './exit-code.js';
export { exitCodeOf, progressTotal } from './commands.js';

/** How long closing the client may take once the command is done (its report already printed). */
export const CLOSE_TIMEOUT_MS = 2_000;

/**
 * Closes the client, waiting at most `ms`: the driver's close sends `endSessions` and waits for
 * its answer without a time limit, so against a server that stopped answering it held the
 * finished command for over a minute (until the driver's monitor gave the server up), past the
 * time budget a cron schedule is planned around. What is left of the close goes on unawaited.
 */
async function closeWithin(client: MongoClient, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([client.close().catch(() => undefined), waited]);
  clearTimeout(timer);
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
  // Known before parsing, so that a refused command line answers in JSON too.
  json = requestsJson(argv);
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

  const telemetry = args.otel === true ? await startTelemetry(logger, io) : undefined;
  try {
    return await runConfigured(args, io, { out, logger, fail, started });
  } finally {
    await telemetry?.shutdown().catch((error: unknown) => logger?.warn({ error: describeError(error) }, 'OpenTelemetry: the SDK did not shut down cleanly'));
  }
}

/**
 * `--otel`: the OpenTelemetry SDK, started from the `OTEL_*` environment variables where the user
 * installed it; where not, a warning that says what to install, and the command runs without it.
 */
async function startTelemetry(logger: Logger | undefined, io: CliIo): Promise<StartedSdk | undefined> {
  const sdk = await startNodeSdk();
  if ('shutdown' in sdk) {
    logger?.info({ traces: io.env.OTEL_TRACES_EXPORTER ?? 'otlp', metrics: io.env.OTEL_METRICS_EXPORTER ?? 'otlp' }, 'OpenTelemetry SDK started from the OTEL_* environment variables');
    return sdk;
  }
  const message = `--otel: ${sdk.missing} is not installed, so nothing is exported (npm install @opentelemetry/api @opentelemetry/sdk-node, configured by the OTEL_* environment variables)`;
  if (logger) logger.warn({ missing: sdk.missing }, message);
  else io.stderr(`molt: ${message}\n`);
  return undefined;
}

/** The commands that read the config: load it, connect, run on each database. */
async function runConfigured(
  args: ParsedArgs,
  io: CliIo,
  { out, logger, fail, started }: { out: (text: string) => void; logger: Logger | undefined; fail: (message: string, code: ExitCode, name?: string) => ExitCode; started: number },
): Promise<ExitCode> {

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
  const single = singleDatabase(loaded.config.db, args.databases);
  if (args.command === 'sweep' && args.maxDurationMs !== undefined && Date.now() - started >= args.maxDurationMs) {
    // Spent before connecting (loading the config): no collection is started, the next run goes on.
    if (single === undefined) return fail('the time budget (--max-duration) was spent before the databases could be listed: nothing started; the next run goes on', ExitCode.PARTIAL, 'TimeBudgetSpent');
    const db = libraryDatabase(client.db(single));
    return sweepCommand({ args, io, out, logger, db, collections, started, print: printer(args, out, db.databaseName), sharing: 1 });
  }
  try {
    try {
      await connectWithin(client, args.maxDurationMs === undefined ? undefined : args.maxDurationMs - (Date.now() - started));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return fail(`cannot connect to ${redactUri(loaded.uri)}: ${reason}. Check MONGODB_URI (or uri in ${loaded.path}), the credentials, and that the server is up.`, ExitCode.INFRASTRUCTURE);
    }
    const selection = await selectDatabases(client, loaded.config.db, args.databases, loaded.path);
    logger?.info({ server: redactUri(loaded.uri), db: selection.single ? selection.names[0] : selection.names, command: args.command }, 'connected');
    if (!selection.single) return await runTenants({ args, io, out, logger, collections, started }, client, selection.names);
    const db = libraryDatabase(client.db(selection.names[0] as string));
    if (NAME_CHECKED.has(args.command ?? '')) {
      const missing = await missingNames(db, collections);
      if (missing !== undefined && !args.allowMissing) return fail(`${missing} (a misspelt name must not pass). Fix db or the collection's name in ${loaded.path}, or pass --allow-missing for a collection created later.`, ExitCode.USAGE, 'MissingCollection');
      if (missing !== undefined) {
        const existing = new Set(await db.listCollections({}, { nameOnly: true }).map((entry) => entry.name).toArray());
        for (const entry of collections) if (!existing.has(entry.name)) logger?.warn({ collection: entry.name }, 'the collection does not exist: skipped (--allow-missing)');
        collections = collections.filter((entry) => existing.has(entry.name));
      }
    }
    return await runCommand({ args, io, out, logger, db, collections, started, print: printer(args, out, db.databaseName), sharing: 1 });
  } catch (error) {
    if (error instanceof InvalidOptionError || error instanceof UsageError || error instanceof ConfigError) return fail(error.message, ExitCode.USAGE);
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    if (isInfrastructureError(error)) return fail(`${args.command} failed: ${message}`, ExitCode.INFRASTRUCTURE, (error as Error).name);
    return fail(`${args.command} failed: ${message}`, ExitCode.FAILURES);
  } finally {
    await closeWithin(client, CLOSE_TIMEOUT_MS);
  }
}

/**
 * How a command prints its result on one database: `--json` prints the entries, each tagged with
 * the database (`{ db, ...entry }`), else the text.
 */
function printer(args: ParsedArgs, out: (text: string) => void, db: string): CommandContext['print'] {
  return (json, text) => {
    if (args.json) out(toJson(taggedEntries(db, json)));
    else if (text !== undefined) out(text);
  };
}

/**
 * The command on each database of a list or glob, `--tenant-concurrency` at once: each with its
 * own state, lease and report; a collection a database lacks is reported (`missing`), a database
 * whose command throws is reported with its error; neither stops the others. The exit code is the
 * worst; `--json` prints one array of every database's entries.
 */
async function runTenants(base: Omit<CommandContext, 'db' | 'print' | 'sharing'>, client: MongoClient, names: readonly string[]): Promise<ExitCode> {
  const { args, out, logger } = base;
  const concurrency = args.tenantConcurrency ?? 1;
  const human = !args.json && args.log !== 'json';
  const outcomes = await forEachTenant(names, concurrency, async (name): Promise<TenantOutcome> => {
    const db = libraryDatabase(client.db(name));
    const lines: string[] = [];
    const entries: object[] = [];
    const log = logger?.child({ db: name });
    let missing: string[] = [];
    let code: ExitCode;
    try {
      let collections = base.collections;
      // verify reports a missing collection itself (a failure, unless --allow-missing); prune and restore need none.
      if (args.command === 'status' || args.command === 'sweep' || args.command === 'check' || args.command === 'failures') {
        const existing = new Set(await db.listCollections({}, { nameOnly: true }).map((entry) => entry.name).toArray());
        missing = collections.filter((entry) => !existing.has(entry.name)).map((entry) => entry.name);
        collections = collections.filter((entry) => existing.has(entry.name));
        for (const collection of missing) {
          entries.push({ db: name, collection, missing: true });
          log?.info({ collection }, 'the collection does not exist in this database: reported, skipped');
        }
      }
      const print: CommandContext['print'] = (json, text) => {
        entries.push(...taggedEntries(name, json));
        if (text) lines.push(text);
      };
      code = collections.length === 0 ? ExitCode.OK : await runCommand({ ...base, logger: log, db, collections, print, out: (text) => lines.push(text), sharing: concurrency });
    } catch (error) {
      code = error instanceof InvalidOptionError || error instanceof UsageError || error instanceof ConfigError ? ExitCode.USAGE : isInfrastructureError(error) ? ExitCode.INFRASTRUCTURE : ExitCode.FAILURES;
      const described = describeError(error);
      entries.push({ db: name, error: described, exitCode: code });
      lines.push(`${args.command as string} failed: ${described.name}: ${described.message}`);
      log?.error({ error: described, exitCode: code }, `${args.command as string} failed on this database; the others go on`);
    }
    if (human) out(formatTenant(name, missing, lines));
    return { db: name, exitCode: code, missing, entries };
  });
  const code = worstExitCode(outcomes.map((outcome) => outcome.exitCode)) as ExitCode;
  if (args.json) out(toJson(outcomes.flatMap((outcome) => outcome.entries)));
  else if (human) out(formatTenantSummary(outcomes, code));
  logger?.info({ databases: outcomes.map(({ db, exitCode, missing }) => ({ db, exitCode, ...(missing.length > 0 ? { missing } : {}) })), exitCode: code }, `${args.command as string} done on ${outcomes.length} databases`);
  return code;
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

/** The commands that exit 2 on a database or collection that does not exist (a misspelt name must not pass). */
const NAME_CHECKED: ReadonlySet<string> = new Set(['status', 'sweep', 'check', 'failures', 'pause', 'resume', 'unpin', 'lease']);

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
    await closeWithin(client, CLOSE_TIMEOUT_MS);
  }
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
