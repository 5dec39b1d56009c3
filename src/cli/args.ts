import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './usage-error.js';

export const COMMANDS = ['status', 'sweep', 'check', 'failures', 'verify', 'restore', 'prune', 'init', 'pause', 'resume', 'unpin', 'lease'] as const;
export type Command = (typeof COMMANDS)[number];

type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** `--db <name|glob>` (repeatable) and `--tenant-concurrency N`: the commands that run over several databases. */
const TENANTS: OptionSpec = { db: { type: 'string', multiple: true }, 'tenant-concurrency': { type: 'string' } };

const COMMON: OptionSpec = {
  config: { type: 'string', short: 'c' },
  json: { type: 'boolean' },
  log: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

const PER_COMMAND: Record<Command, OptionSpec> = {
  status: { 'allow-missing': { type: 'boolean' }, ...TENANTS },
  sweep: {
    'allow-missing': { type: 'boolean' },
    'batch-size': { type: 'string' },
    rate: { type: 'string' },
    pause: { type: 'string' },
    'max-duration': { type: 'string' },
    lease: { type: 'string' },
    'dry-run': { type: 'boolean' },
    'retry-failed': { type: 'boolean' },
    to: { type: 'string' },
    'allow-loss': { type: 'boolean' },
    mode: { type: 'string' },
    otel: { type: 'boolean' },
    ...TENANTS,
    'build-index': { type: 'boolean' },
    workers: { type: 'string' },
  },
  check: { 'allow-missing': { type: 'boolean' }, sample: { type: 'string' }, 'batch-size': { type: 'string' }, 'round-trip': { type: 'boolean' }, ...TENANTS },
  failures: { 'allow-missing': { type: 'boolean' }, limit: { type: 'string' } },
  verify: { 'min-version': { type: 'string', multiple: true }, 'allow-missing': { type: 'boolean' }, ...TENANTS },
  restore: { since: { type: 'string' }, 'dry-run': { type: 'boolean' } },
  prune: {},
  init: { db: { type: 'string' }, 'version-field': { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' } },
  pause: {},
  resume: {},
  unpin: {},
  lease: { force: { type: 'boolean' } },
};

/** A parsed command line. */
export interface ParsedArgs {
  readonly command: Command | undefined;
  /** `molt` alone: the help goes to stderr and the exit code is 2. */
  readonly noCommand: boolean;
  /** Collection names given after the command (all configured collections when empty). */
  readonly collections: readonly string[];
  readonly help: boolean;
  readonly json: boolean;
  /** `--log json`: every log line as JSON on stderr, even on a terminal, and no human summary. */
  readonly log?: 'json' | 'text';
  readonly config: string | undefined;
  readonly batchSize?: number;
  readonly ratePerSecond?: number;
  readonly pauseMs?: number;
  readonly maxDurationMs?: number;
  /** `molt sweep --lease 2m`: the sweep's `leaseMs`. */
  readonly leaseMs?: number;
  readonly dryRun: boolean;
  readonly retryFailed: boolean;
  /** `molt sweep --allow-loss`: a reverse sweep converts documents down even when that drops a value. */
  readonly allowLoss?: boolean;
  readonly sample?: number;
  readonly limit?: number;
  /** `--min-version N`: for every collection verified. */
  readonly minVersion?: number;
  /** `molt sweep --to k`: a reverse sweep down to version k. */
  readonly to?: number;
  readonly mode?: 'auto' | 'client' | 'server';
  /** `molt sweep --workers N`: N range workers in this process, on the pass's stored plan. */
  readonly workers?: number;
  /** `molt check --round-trip`. */
  readonly roundTrip?: boolean;
  /** `molt restore --since <ISO date>`. */
  readonly since?: Date;
  /** `--min-version name=N`: for one collection (over `minVersion` and the config's). */
  readonly minVersions?: ReadonlyMap<string, number>;
  /** `--allow-missing`: a collection that does not exist is skipped (verify: passes) instead of an error. */
  readonly allowMissing?: boolean;
  /** `--db <name|glob>` (repeatable): the databases to run on, instead of the config's `db`. */
  readonly databases?: readonly string[];
  /** `molt sweep --otel`: start the OpenTelemetry SDK from the `OTEL_*` environment variables. */
  readonly otel?: boolean;
  /** `--tenant-concurrency N`: how many databases at once (default 1). */
  readonly tenantConcurrency?: number;
  /** `init`: the database to take the census of, the version field, where to write, whether to overwrite. */
  readonly db?: string;
  readonly versionField?: string;
  readonly out?: string;
  readonly force?: boolean;
  /** `molt sweep --build-index`: build the stale-version index, sweep nothing. */
  readonly buildIndex?: boolean;
  /** `molt lease release`: the lease command's action. */
  readonly action?: 'release';
}

/**
 * Whether the command line asks for `--json`, read even from a command line `parseCommandLine`
 * refuses: a cron wrapper that parses stdout gets its JSON error for a misspelt flag or value too.
 * The command's own flags are known, so a `--json` that is the value of a flag (`--config --json`)
 * is not taken for the switch; an unknown command is read with every command's flags.
 */
export function requestsJson(argv: readonly string[]): boolean {
  const command = argv[0];
  const known = command !== undefined && isCommand(command) ? PER_COMMAND[command] : Object.assign({}, ...Object.values(PER_COMMAND)) as OptionSpec;
  const { tokens } = parseArgs({ args: argv.slice(1), options: { ...known, ...COMMON }, allowPositionals: true, strict: false, tokens: true });
  return tokens.some((token) => token.kind === 'option' && token.name === 'json' && token.value === undefined);
}

/** Parses `molt <command> [collection…] [flags]`; a wrong command line is a `UsageError`. */
export function parseCommandLine(argv: readonly string[]): ParsedArgs {
  const first = argv[0];
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? argv[1] : undefined;
    if (topic !== undefined && !isCommand(topic)) throw new UsageError(`unknown command "${topic}"; the commands are ${COMMANDS.join(', ')}.`);
    return { command: topic, collections: [], help: true, json: false, config: undefined, dryRun: false, retryFailed: false, noCommand: first === undefined };
  }
  if (first.startsWith('-')) throw new UsageError(`expected a command before "${first}"; the commands are ${COMMANDS.join(', ')}.`);
  if (!isCommand(first)) throw new UsageError(`unknown command "${first}"; the commands are ${COMMANDS.join(', ')}.`);
  const command = first;
  let parsed: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv.slice(1), options: { ...COMMON, ...PER_COMMAND[command] }, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '').replace(/^Unknown option/, 'unknown option');
    throw new UsageError(`${message} (molt ${command} --help lists the flags).`, command);
  }
  const values = parsed.values;
  const flag = (name: string): string | undefined => {
    const value = values[name];
    return typeof value === 'string' ? value : undefined;
  };
  let positionals = parsed.positionals;
  let action: 'release' | undefined;
  if (command === 'lease') {
    if (positionals[0] !== 'release') throw new UsageError(`molt lease expects an action: molt lease release [collection…]${positionals[0] === undefined ? '' : `; got "${positionals[0]}"`}.`, command);
    action = 'release';
    positionals = positionals.slice(1);
  }
  const args: { -readonly [K in keyof ParsedArgs]: ParsedArgs[K] } = {
    command,
    noCommand: false,
    collections: positionals,
    ...(action ? { action } : {}),
    help: values.help === true,
    json: values.json === true,
    config: flag('config'),
    dryRun: values['dry-run'] === true,
    retryFailed: values['retry-failed'] === true,
    ...(values['allow-loss'] === true ? { allowLoss: true } : {}),
  };
  const log = flag('log');
  if (log !== undefined) {
    if (log !== 'json' && log !== 'text') throw new UsageError(`--log expects json or text; got "${log}".`, command);
    args.log = log;
  }
  const batchSize = flag('batch-size');
  if (batchSize !== undefined) args.batchSize = positiveInteger('--batch-size', batchSize, command);
  const rate = flag('rate');
  if (rate !== undefined) args.ratePerSecond = rate === 'unlimited' ? Infinity : positiveNumber('--rate', rate, command);
  const pause = flag('pause');
  if (pause !== undefined) args.pauseMs = nonNegativeInteger('--pause', pause, command);
  const maxDuration = flag('max-duration');
  if (maxDuration !== undefined) args.maxDurationMs = parseDuration(maxDuration, command);
  const lease = flag('lease');
  if (lease !== undefined) args.leaseMs = parseDuration(lease, command, '--lease');
  const sample = flag('sample');
  if (sample !== undefined) args.sample = positiveInteger('--sample', sample, command);
  const limit = flag('limit');
  if (limit !== undefined) args.limit = positiveInteger('--limit', limit, command);
  const workers = flag('workers');
  if (workers !== undefined) args.workers = positiveInteger('--workers', workers, command);
  const to = flag('to');
  if (to !== undefined) args.to = positiveInteger('--to', to, command);
  const mode = flag('mode');
  if (mode !== undefined) {
    if (mode !== 'auto' && mode !== 'client' && mode !== 'server') throw new UsageError(`--mode expects auto, client or server; got "${mode}".`, command);
    args.mode = mode;
  }
  if (values['round-trip'] === true) args.roundTrip = true;
  const since = flag('since');
  if (since !== undefined) {
    const date = new Date(since);
    if (Number.isNaN(date.getTime())) throw new UsageError(`--since expects a date or time, such as 2026-11-27 or 2026-11-27T10:00:00Z; got "${since}".`, command);
    args.since = date;
  }
  const minVersions = values['min-version'];
  if (Array.isArray(minVersions)) parseMinVersions(args, minVersions.map(String), command);
  if (values['allow-missing'] === true) args.allowMissing = true;
  const db = values.db;
  if (typeof db === 'string') args.db = db;
  if (Array.isArray(db)) args.databases = db.map(String);
  const tenantConcurrency = flag('tenant-concurrency');
  if (tenantConcurrency !== undefined) args.tenantConcurrency = positiveInteger('--tenant-concurrency', tenantConcurrency, command);
  const versionField = flag('version-field');
  if (versionField !== undefined) args.versionField = versionField;
  const out = flag('out');
  if (out !== undefined) args.out = out;
  if (values.force === true) args.force = true;
  if (values.otel === true) args.otel = true;
  if (values['build-index'] === true) {
    if (args.dryRun || args.to !== undefined || args.retryFailed) throw new UsageError('--build-index builds the index and sweeps nothing: it takes no --dry-run, --to or --retry-failed.', command);
    args.buildIndex = true;
  }
  return args;
}

/** `--min-version 3` (every collection) or `--min-version users=3` (one), repeatable. */
function parseMinVersions(args: { minVersion?: number; minVersions?: ReadonlyMap<string, number> }, texts: readonly string[], command: string): void {
  const perCollection = new Map<string, number>();
  for (const text of texts) {
    const match = /^([^=]+)=(.*)$/.exec(text);
    if (match === null) {
      args.minVersion = positiveInteger('--min-version', text, command);
    } else {
      perCollection.set(match[1] as string, positiveInteger(`--min-version ${match[1] as string}=`, match[2] as string, command));
    }
  }
  if (perCollection.size > 0) args.minVersions = perCollection;
}

function isCommand(value: string): value is Command {
  return (COMMANDS as readonly string[]).includes(value);
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `90s`, `10m`, `1.5h` -> milliseconds. A bare number is refused: its unit would be a guess. */
export function parseDuration(text: string, command?: string, name = '--max-duration'): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  const amount = match?.[1];
  const unit = match?.[2];
  if (amount === undefined || unit === undefined || Number(amount) <= 0) {
    throw new UsageError(`${name} expects a duration with a unit, such as 90s, 10m or 1h; got "${text}".`, command);
  }
  return Math.round(Number(amount) * (UNITS[unit] ?? 1));
}

function positiveInteger(name: string, text: string, command: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) throw new UsageError(`${name} expects a whole number above 0, got "${text}".`, command);
  return value;
}

function nonNegativeInteger(name: string, text: string, command: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) throw new UsageError(`${name} expects milliseconds (a whole number, 0 or more), got "${text}".`, command);
  return value;
}

function positiveNumber(name: string, text: string, command: string): number {
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(value > 0)) throw new UsageError(`${name} expects documents per second (a number above 0, or "unlimited"), got "${text}".`, command);
  return value;
}
