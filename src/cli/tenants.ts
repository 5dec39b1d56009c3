import type { MongoClient } from 'mongodb';
import { ConfigError } from '../errors.js';
import type { MoltDatabases } from '../sweeper/define-config.js';

/**
 * The databases one command runs on. `single`: exactly one database was named (a plain `db`
 * string, or one `--db` name without a wildcard): the command behaves as it always did (a missing
 * database or collection is a usage error). Otherwise each database is a tenant: its own state,
 * lease and report, and a collection it lacks is reported, not an error.
 */
export interface TenantSelection {
  readonly names: readonly string[];
  readonly single: boolean;
}

/**
 * The one database named, known before connecting: a plain `db` string, or one `--db` name
 * without a wildcard; `undefined` when the command runs on several (or on what a glob or a
 * function finds).
 */
export function singleDatabase(configured: MoltDatabases, flags: readonly string[] | undefined): string | undefined {
  const selectors = flags !== undefined && flags.length > 0 ? flags : configured;
  if (typeof selectors === 'string') return isGlob(selectors) ? undefined : selectors;
  if (flags !== undefined && flags.length === 1 && !isGlob(flags[0] as string)) return flags[0];
  return undefined;
}

/** Databases a glob never matches: the server's own. */
const SYSTEM_DATABASES = new Set(['admin', 'local', 'config']);

/** Whether a database selector is a glob (`*` any run of characters, `?` one). */
export function isGlob(selector: string): boolean {
  return /[*?]/.test(selector);
}

/** A glob as an anchored regular expression; every other character stands for itself. */
export function globPattern(glob: string): RegExp {
  const source = [...glob].map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${source}$`);
}

/**
 * Which databases a command runs on: the `--db` selectors when given, else the config's `db`.
 * Globs are matched against the server's database list (sorted by name; `admin`, `local` and
 * `config` never match); a function of the client is called once. Names are deduplicated, in
 * the order given. A function returning something other than names is a `ConfigError`.
 */
export async function selectDatabases(client: MongoClient, configured: MoltDatabases, flags: readonly string[] | undefined, path: string): Promise<TenantSelection> {
  const single = singleDatabase(configured, flags);
  if (single !== undefined) return { names: [single], single: true };
  const selectors = flags !== undefined && flags.length > 0 ? flags : configured;
  let listed: readonly string[];
  if (typeof selectors === 'function') {
    const names: unknown = await selectors(client);
    if (!Array.isArray(names) || names.some((name) => typeof name !== 'string' || name.length === 0)) {
      throw new ConfigError(`${path}: db, a function, must return an array of database names (non-empty strings); got ${JSON.stringify(names)}.`, { path });
    }
    listed = names as string[];
  } else {
    listed = typeof selectors === 'string' ? [selectors] : (selectors as readonly string[]);
  }
  const names: string[] = [];
  let onServer: readonly string[] | undefined;
  for (const selector of listed) {
    if (!isGlob(selector)) {
      names.push(selector);
      continue;
    }
    onServer ??= (await client.db('admin').admin().listDatabases({ nameOnly: true })).databases.map((entry) => entry.name).sort();
    const pattern = globPattern(selector);
    names.push(...onServer.filter((name) => !SYSTEM_DATABASES.has(name) && pattern.test(name)));
  }
  return { names: [...new Set(names)], single: false };
}

/**
 * Runs `work` for every name, at most `concurrency` at once, and resolves to the results in the
 * order of the names. `work` reports its own failures (a failing tenant must not stop the others):
 * a rejection here is a defect and rejects the whole.
 */
export async function forEachTenant<T>(names: readonly string[], concurrency: number, work: (name: string) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(names.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const index = next++;
      results[index] = await work(names[index] as string);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, names.length)) }, worker));
  return results;
}

/**
 * The exit code of several databases' outcomes: the worst of them, in the order a cron wrapper
 * acts on: 4 (the server could not be used), 2 (usage), 1 (failures), 3 (partial), 0.
 */
export function worstExitCode(codes: readonly number[]): number {
  for (const code of [4, 2, 1, 3]) if (codes.includes(code)) return code;
  return 0;
}

/** What one database's command came to: its exit code, the collections it lacks, its `--json` entries. */
export interface TenantOutcome {
  readonly db: string;
  readonly exitCode: number;
  readonly missing: readonly string[];
  readonly entries: readonly object[];
}

/** A command's `--json` result with its database: each entry of an array as `{ db, ...entry }`; an object alone stays as it is. */
export function taggedEntries(db: string, json: unknown): object[] {
  if (!Array.isArray(json)) return [{ db, ...(json as object) }];
  return json.map((entry: object) => ({ db, ...entry }));
}

/** One database's text output, under a header line with its name. */
export function formatTenant(db: string, missing: readonly string[], lines: readonly string[]): string {
  return [`== ${db} ==`, ...missing.map((name) => `${name}: the collection does not exist in this database (skipped)`), ...lines].join('\n');
}

const OUTCOMES: Readonly<Record<number, string>> = {
  0: 'done',
  1: 'failures or an error (exit 1)',
  2: 'usage or configuration error (exit 2)',
  3: 'partial: time budget, lease held by another run, or interrupted (exit 3)',
  4: 'the server could not be used (exit 4)',
};

/** The closing summary: each database's outcome, and the exit code (the worst). */
export function formatTenantSummary(outcomes: readonly TenantOutcome[], exitCode: number): string {
  const width = Math.max(...outcomes.map((outcome) => outcome.db.length), 0);
  const lines = outcomes.map(({ db, exitCode: code, missing }) => `  ${db.padEnd(width)}  ${OUTCOMES[code] ?? `exit ${code}`}${missing.length > 0 ? `; no collection ${missing.join(', ')}` : ''}`);
  return [`${outcomes.length} database${outcomes.length === 1 ? '' : 's'}, exit ${exitCode} (the worst):`, ...lines].join('\n');
}
