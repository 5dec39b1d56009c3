/**
 * The benchmarks' results as JSON, one file per benchmark and server
 * (`bench/results/<benchmark>-<server>.json`, committed), so that the charts (`bench/charts.ts`)
 * are drawn from what the benchmark measured. `MOLT_BENCH_OUT` moves `results/` and `charts/` to
 * another folder (a trial run that must not replace the committed figures).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerCapabilities } from '../src/server/index.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Where `results/` and `charts/` live: `bench/`, or `MOLT_BENCH_OUT`. */
export function outputDir(): string {
  return process.env.MOLT_BENCH_OUT ?? HERE;
}

/** The server a result file is named after: `documentdb` (FerretDB 2), `java`, `mongod`, `ferretdb1`. */
export interface ServerTag {
  readonly key: string;
  /** For people: the chart legends and the tables. */
  readonly label: string;
  /** The version the server reports (FerretDB: its own). */
  readonly version: string;
}

export function serverTag(capabilities: ServerCapabilities): ServerTag {
  const { kind, version } = capabilities;
  if (kind === 'mongo-java-server') return { key: 'java', label: 'mongo-java-server', version };
  if (kind === 'mongod') return { key: 'mongod', label: 'MongoDB', version };
  return capabilities.updatePipelines ? { key: 'documentdb', label: 'FerretDB 2 / DocumentDB', version } : { key: 'ferretdb1', label: 'FerretDB 1', version };
}

/** One result file: what was measured, where, by which command. No date: git keeps when. */
export interface BenchResult<F = unknown> {
  readonly benchmark: string;
  readonly server: ServerTag;
  /** The command that produced the figures (the server's URI left out). */
  readonly command: string;
  readonly machine: string;
  readonly note?: string;
  readonly figures: F;
}

/** `MONGODB_URI=<uri> [MOLT_BENCH_…=…] npm run bench -- <args>`: this process's command line. */
export function commandLine(argv: readonly string[]): string {
  const knobs = Object.entries(process.env)
    .filter(([key, value]) => (key.startsWith('MOLT_BENCH_') || key === 'PEERS_MIGRATE_DOCS') && key !== 'MOLT_BENCH_OUT' && value !== undefined && value !== '')
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}=${value as string} `)
    .join('');
  return `MONGODB_URI=<uri> ${knobs}npm run bench --${argv.length > 0 ? ` ${argv.join(' ')}` : ''}`;
}

export function writeResult(result: BenchResult): string {
  const dir = join(outputDir(), 'results');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${result.benchmark}-${result.server.key}.json`);
  // Four significant digits: what the medians of a shared machine can tell apart, and readable diffs.
  const rounded = (_key: string, value: unknown): unknown => (typeof value === 'number' && !Number.isInteger(value) ? Number(value.toPrecision(4)) : value);
  writeFileSync(path, `${JSON.stringify(result, rounded, 2)}\n`);
  return path;
}

/** Every result file of `dir`, sorted by name (so that the charts come out the same from the same files). */
export function readResults(dir = join(outputDir(), 'results')): BenchResult[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.json')).sort();
  } catch {
    return [];
  }
  return names.map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as BenchResult);
}
