import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { createJiti } from 'jiti';
import { ConfigError, InvalidOptionError } from '../errors.js';
import { resolveSweepOptions } from '../sweeper/options.js';
import { definitionOf } from '../sweeper/run/sweep.js';
import type { MoltCollectionConfig, MoltConfig } from '../sweeper/define-config.js';

/** The file names looked for in the working directory, in order, when `--config` is not given. */
export const CONFIG_FILES = ['molt.config.ts', 'molt.config.mts', 'molt.config.js', 'molt.config.mjs'] as const;

/** A config, loaded and checked, with the URI to use. */
export interface LoadedConfig {
  readonly path: string;
  readonly uri: string;
  readonly config: MoltConfig;
}

/**
 * Finds and loads `molt.config.ts` (TypeScript, through jiti: no build step), checks its shape
 * and every collection's sweep options, and applies `MONGODB_URI`. Any problem is a `ConfigError`
 * that says what to fix.
 */
export async function loadConfig(options: { readonly path: string | undefined; readonly cwd: string; readonly env: NodeJS.ProcessEnv }): Promise<LoadedConfig> {
  const path = findConfig(options.path, options.cwd);
  let exported: unknown;
  try {
    // tsconfigPaths: a config may import schemas through the project's own tsconfig "paths".
    const jiti = createJiti(join(options.cwd, 'molt-cli.js'), { moduleCache: false, interopDefault: true, tsconfigPaths: true });
    exported = await jiti.import(path, { default: true });
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    const reason = (message.split('\n')[0] ?? '').trim();
    throw new ConfigError(`${path}${where(message, path)} could not be loaded: ${reason}. Fix the file (it must run as it is: molt compiles it on the fly).`, { cause, path });
  }
  const config = checkConfig(exported, path);
  const uri = options.env.MONGODB_URI || config.uri;
  if (!uri) throw new ConfigError(`no MongoDB connection string: set MONGODB_URI (preferred: keeps credentials out of the file) or uri in ${path}.`, { path });
  if (!/^mongodb(\+srv)?:\/\//.test(uri)) {
    throw new ConfigError(`the connection string ${options.env.MONGODB_URI ? 'in MONGODB_URI' : `in ${path}`} must start with mongodb:// or mongodb+srv://.`, { path });
  }
  return { path, uri, config };
}

/**
 * Where in the config a syntax error is: the compiler names it as `<path>:<line>:<column>` on a line
 * of its own (which the first line of its message, kept above, lacks), with the line's text.
 */
function where(message: string, path: string): string {
  const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`${escaped}:(\\d+):(\\d+)`).exec(message);
  if (match === null) return '';
  const line = Number(match[1]);
  let text = '';
  try {
    text = (readFileSync(path, 'utf8').split('\n')[line - 1] ?? '').trim();
  } catch {
    // The line's text is a help, not a need.
  }
  return ` (line ${line}, column ${match[2] as string}${text ? `: ${text.length > 80 ? `${text.slice(0, 77)}...` : text}` : ''})`;
}

function findConfig(given: string | undefined, cwd: string): string {
  if (given !== undefined) {
    const path = isAbsolute(given) ? given : resolve(cwd, given);
    if (!existsSync(path)) throw new ConfigError(`the config file ${path} (from --config) does not exist.`, { path });
    return path;
  }
  for (const name of CONFIG_FILES) {
    const path = join(cwd, name);
    if (existsSync(path)) return path;
  }
  throw new ConfigError(
    `no molt.config.ts in ${cwd}. Create one that exports defineConfig({ db, collections: [{ name, schema }] }) (import { defineConfig } from 'mongo-molt'), or pass --config <file>.`,
  );
}

function checkConfig(value: unknown, path: string): MoltConfig {
  const fail = (message: string): never => {
    throw new ConfigError(`${path}: ${message}`, { path });
  };
  if (typeof value !== 'object' || value === null) {
    return fail('the default export must be defineConfig({ db, collections: [...] }), got ' + (value === null ? 'null' : typeof value) + '.');
  }
  const config = value as Partial<MoltConfig> & Record<string, unknown>;
  const named = Object.keys(config).find((key) => key !== 'default' && looksLikeConfig(config[key]));
  if (!('db' in config) && !('collections' in config) && named !== undefined) {
    fail(`the config is exported as "${named}", a named export: molt reads the default export. Write export default defineConfig({ ... }).`);
  }
  const known = new Set(['uri', 'db', 'collections', 'clientOptions']);
  for (const key of Object.keys(config)) if (!known.has(key)) fail(`unknown field "${key}"; the fields are ${[...known].join(', ')}.`);
  if (config.uri !== undefined && typeof config.uri !== 'string') fail('uri must be a string (or leave it out and set MONGODB_URI).');
  const db: unknown = config.db;
  const isName = (value: unknown): boolean => typeof value === 'string' && value.length > 0;
  if (!(isName(db) || typeof db === 'function' || (Array.isArray(db) && db.length > 0 && db.every(isName)))) {
    fail("db must be the name of the database (a non-empty string), a glob such as 'tenant_*', a non-empty list of names, or a function of the client returning names.");
  }
  if (config.clientOptions !== undefined && (typeof config.clientOptions !== 'object' || config.clientOptions === null)) fail('clientOptions must be an object of MongoClient options.');
  if (!Array.isArray(config.collections) || config.collections.length === 0) fail('collections must be a non-empty array of { name, schema, ...sweepOptions }.');
  const names = new Set<string>();
  (config.collections as unknown[]).forEach((entry, index) => {
    const where = `collections[${index}]`;
    if (typeof entry !== 'object' || entry === null) fail(`${where} must be { name, schema, ...sweepOptions }.`);
    const { name, schema, minVersion, ...sweepOptions } = entry as Partial<MoltCollectionConfig>;
    if (typeof name !== 'string' || name.length === 0) fail(`${where}.name must be the collection's name.`);
    const label = `${where} ("${String(name)}")`;
    if (names.has(name as string)) fail(`${label} is listed twice.`);
    names.add(name as string);
    let latest = 0;
    try {
      latest = definitionOf(schema).latest;
    } catch {
      fail(`${label}.schema must be a versioned schema made with defineSchema(name).version(1, zodSchema)...`);
    }
    if (minVersion !== undefined && (!Number.isSafeInteger(minVersion) || minVersion < 1 || minVersion > latest)) {
      fail(`${label}.minVersion must be a version of its schema (1..${latest}), got ${JSON.stringify(minVersion)}.`);
    }
    for (const runOnly of ['signal', 'logger', 'onProgress', 'dryRun', 'retryFailed']) {
      if (runOnly in sweepOptions) fail(`${label}.${runOnly} cannot be set in the config${runOnly === 'dryRun' ? ' (use molt sweep --dry-run)' : runOnly === 'retryFailed' ? ' (use molt sweep --retry-failed)' : ''}.`);
    }
    try {
      resolveSweepOptions(sweepOptions);
    } catch (error) {
      if (error instanceof InvalidOptionError) fail(`${label}: ${error.message}`);
      throw error;
    }
  });
  return config as MoltConfig;
}

function looksLikeConfig(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'db' in value && 'collections' in value;
}
