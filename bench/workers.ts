/**
 * The workers benchmark (not a timed test): the throughput of `sweep({ workers })` with 1, 2 and 4
 * workers in one process and with 2 processes of 1 worker each, on the same fresh collection of
 * stale documents (the rename upcaster of the sweep benchmark, client mode, unthrottled), each
 * configuration in processes of its own (so that one process's start-up and heap do not carry
 * over); and the cost per document of one worker at two collection sizes, with its peak RSS.
 * Throughput is documents over the wall time from the first process's sweep start to the last
 * one's end.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Db } from 'mongodb';
import { serverCapabilities } from '../src/server/index.js';
import { fmt, printTable } from './harness.js';
import { benchUser } from './sweep-schema.js';

const HERE = dirname(fileURLToPath(import.meta.url));

export interface WorkersBenchOptions {
  readonly uri: string;
  /** Documents for the throughput comparison. Default 100,000. */
  readonly documents?: number;
  /** Collection sizes for the cost per document of one worker. Default: none. */
  readonly sizes?: readonly number[];
  readonly batchSize?: number;
}

interface ChildResult { readonly startedAt: number; readonly finishedAt: number; readonly migrated: number; readonly status: string; readonly maxRssKiB: number }

async function seed(db: Db, name: string, count: number): Promise<void> {
  const { uniqueStaleIndex } = await serverCapabilities(db);
  const collection = db.collection(name);
  await collection.drop().catch(() => undefined);
  await db.collection('molt_state').deleteMany({ collection: name });
  for (let start = 0; start < count; start += 5_000) {
    await collection.insertMany(Array.from({ length: Math.min(5_000, count - start) }, (_, offset) => benchUser(start + offset)));
  }
  await collection.createIndex({ schemaVersion: 1, _id: 1 }, uniqueStaleIndex ? { unique: true } : {});
}

function child(uri: string, db: Db, name: string, workers: number, batchSize: number): Promise<ChildResult> {
  const tsx = pathToFileURL(join(HERE, '..', 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
  const process_ = spawn(process.execPath, ['--import', tsx, join(HERE, 'workers-child.ts'), uri, db.databaseName, name, String(workers), String(batchSize)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  process_.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) => {
    process_.once('error', reject);
    process_.once('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim()) as ChildResult) : reject(new Error(`workers-child exited ${String(code)}: ${out}`))));
  });
}

/** Sweeps a fresh collection of `documents` with `processes` processes of `workers` workers; documents per second over the wall time. */
async function measure(uri: string, db: Db, documents: number, processes: number, workers: number, batchSize: number): Promise<{ perSecond: number; ms: number; maxRssKiB: number }> {
  const name = `workers_${processes}x${workers}_${documents}`;
  await seed(db, name, documents);
  const results = await Promise.all(Array.from({ length: processes }, () => child(uri, db, name, workers, batchSize)));
  const migrated = results.reduce((sum, result) => sum + result.migrated, 0);
  if (migrated !== documents) throw new Error(`${processes}×${workers}: migrated ${migrated} of ${documents}`);
  const ms = Math.max(...results.map((result) => result.finishedAt)) - Math.min(...results.map((result) => result.startedAt));
  await db.collection(name).drop();
  return { perSecond: (documents * 1000) / ms, ms, maxRssKiB: Math.max(...results.map((result) => result.maxRssKiB)) };
}

export async function runWorkersBench(db: Db, options: WorkersBenchOptions): Promise<unknown> {
  const documents = options.documents ?? 100_000;
  const batchSize = options.batchSize ?? 500;
  console.log(`\n## Workers: ${documents} stale documents, rename upcaster, batch ${batchSize}, unthrottled, client mode\n`);
  const configurations = [
    { label: '1 process × 1 worker', processes: 1, workers: 1 },
    { label: '1 process × 2 workers', processes: 1, workers: 2 },
    { label: '1 process × 4 workers', processes: 1, workers: 4 },
    { label: '2 processes × 1 worker', processes: 2, workers: 1 },
  ];
  const throughput = [];
  for (const configuration of configurations) {
    const result = await measure(options.uri, db, documents, configuration.processes, configuration.workers, batchSize);
    throughput.push({ ...configuration, ...result });
    console.log(`${configuration.label}: ${fmt(result.perSecond, 0)} docs/s`);
  }
  const base = throughput[0]?.perSecond ?? 1;
  printTable(['configuration', 'docs/s', 'vs 1 worker', 'wall time', 'peak RSS (MiB)'], throughput.map((row) => [row.label, fmt(row.perSecond, 0), `${(row.perSecond / base).toFixed(2)}x`, `${(row.ms / 1000).toFixed(1)} s`, String(Math.round(row.maxRssKiB / 1024))]));
  const scaling = [];
  for (const size of options.sizes ?? []) {
    const result = await measure(options.uri, db, size, 1, 1, batchSize);
    scaling.push({ documents: size, ...result, usPerDocument: (result.ms * 1000) / size });
  }
  if (scaling.length > 0) {
    const first = scaling[0]?.usPerDocument ?? 1;
    console.log('\nOne worker: cost per document and peak RSS by collection size\n');
    printTable(['documents', 'µs/document', 'vs smallest', 'peak RSS (MiB)'], scaling.map((row) => [fmt(row.documents, 0), row.usPerDocument.toFixed(1), `${(row.usPerDocument / first).toFixed(2)}x`, String(Math.round(row.maxRssKiB / 1024))]));
  }
  return { documents, batchSize, throughput, scaling };
}
