import { existsSync, writeFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Db } from 'mongodb';
import { DEFAULT_FAILURES_COLLECTION, DEFAULT_STATE_COLLECTION } from '../sweeper/options.js';
import { DEFAULT_VERSION_FIELD } from '../schema/types.js';
import { DEFAULT_ARCHIVE_COLLECTION } from '../storage/index.js';
import { formatCount } from './progress.js';
import { UsageError } from './usage-error.js';

/** The documents of one collection per stored value of the version field. */
export interface CollectionCensus {
  readonly name: string;
  readonly total: number;
  /** Ascending; `null`: no version field. */
  readonly versions: readonly { readonly version: unknown; readonly count: number }[];
}

/** Counts every collection's documents per stored version (one `$group` each). molt's own collections (state, failures, archive) are left out. */
export async function takeCensus(db: Db, versionField: string): Promise<CollectionCensus[]> {
  const listed = await db.listCollections({}, { nameOnly: true }).toArray();
  const names = listed
    .filter((entry) => (entry.type ?? 'collection') === 'collection')
    .map((entry) => entry.name)
    .filter((name) => !name.startsWith('system.') && name !== DEFAULT_STATE_COLLECTION && name !== DEFAULT_FAILURES_COLLECTION && name !== DEFAULT_ARCHIVE_COLLECTION)
    .sort();
  const census: CollectionCensus[] = [];
  for (const name of names) {
    const groups = await db.collection(name).aggregate<{ _id: unknown; count: number }>([{ $group: { _id: `$${versionField}`, count: { $sum: 1 } } }]).toArray();
    const versions = groups
      .map((group) => ({ version: group._id ?? null, count: group.count }))
      .sort((a, b) => order(a.version) - order(b.version));
    census.push({ name, total: versions.reduce((sum, entry) => sum + entry.count, 0), versions });
  }
  return census;
}

function order(version: unknown): number {
  if (version === null) return -Infinity;
  return typeof version === 'number' ? version : Infinity;
}

function describeVersion(version: unknown): string {
  if (version === null) return 'no version field';
  return typeof version === 'number' ? `v${version}` : `invalid ${JSON.stringify(version)}`;
}

/** The text of a starter `molt.config.ts`: every collection commented out, with its census. */
export function renderConfig(dbName: string, versionField: string, census: readonly CollectionCensus[], today: string): string {
  const lines = [
    `// molt.config.ts, written by \`molt init\` on ${today} for database "${dbName}".`,
    '// Each collection is listed with its documents per stored version (field "' + versionField + '").',
    '// Give a collection a versioned schema (defineSchema(...).version(...)), uncomment its entry, and',
    '// leave out the collections molt should not manage. `molt status` then shows where each one stands.',
    '// The connection string comes from MONGODB_URI: keep credentials out of this file.',
    "import { defineConfig } from 'mongo-molt';",
    "// import { User } from './schemas/users.js';",
    '',
    'export default defineConfig({',
    `  db: ${JSON.stringify(dbName)},`,
    '  collections: [',
  ];
  if (census.length === 0) lines.push('    // (the database has no collections yet)');
  for (const entry of census) {
    const versions = entry.versions.map((version) => `${describeVersion(version.version)} ${formatCount(version.count)}`).join(', ');
    lines.push(`    // ${entry.name}: ${formatCount(entry.total)} document${entry.total === 1 ? '' : 's'}${versions ? `; ${versions}` : ''}`);
    lines.push(`    // { name: ${JSON.stringify(entry.name)}, schema: TODO, batchSize: 500, ratePerSecond: 2000 },`);
  }
  lines.push('  ],', '});', '');
  return lines.join('\n');
}

/** Where `molt init` writes: `--out`, else `molt.config.ts` in the working directory; never over a file without `--force`. */
export function initTarget(out: string | undefined, cwd: string, force: boolean): string {
  const path = out === undefined ? resolve(cwd, 'molt.config.ts') : isAbsolute(out) ? out : resolve(cwd, out);
  if (existsSync(path) && !force) throw new UsageError(`${path} exists: molt init does not overwrite it. Pass --force to replace it, or --out <file> to write elsewhere.`, 'init');
  return path;
}

/** Writes the starter config. */
export function writeInitConfig(path: string, text: string): void {
  writeFileSync(path, text);
}

/** The default version field, for `--version-field`. */
export const INIT_DEFAULT_VERSION_FIELD = DEFAULT_VERSION_FIELD;
