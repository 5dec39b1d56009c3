/**
 * The sweep benchmark (not a timed test): migrating N stale documents (a rename upcaster) with
 * `sweep()` against a hand-written baseline (one cursor + unordered `bulkWrite` of `replaceOne`,
 * the same batch size) and a naive per-document loop (`findOne` + `replaceOne`, what migrating
 * one document at a time costs), on the same server in the same run; then the sweeper's peak RSS
 * at several collection sizes, each in a process of its own.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AnyBulkWriteOperation, Db, Document } from 'mongodb';
import { sweep } from '../src/index.js';
import { serverCapabilities } from '../src/server/index.js';
import { fmt, median, printTable, time } from './harness.js';
import { BenchUser, benchUser } from './sweep-schema.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const VF = 'schemaVersion';
const STALE = { [VF]: { $in: [null, 1] } };

export interface SweepBenchOptions {
  readonly uri: string;
  /** Documents for the throughput comparison. Default 100,000. */
  readonly documents?: number;
  /** Documents for the naive loop (it is slow). Default 10,000. */
  readonly naiveDocuments?: number;
  readonly batchSize?: number;
  /** Rounds of sweeper vs baseline (alternating). Default 3. */
  readonly rounds?: number;
  /** Collection sizes for the peak-RSS and scaling runs. */
  readonly sizes?: readonly number[];
}

/** A fresh collection of stale documents, with the index the sweeper ensures (unique only where the server needs it), so every contender gets it. */
async function seed(db: Db, name: string, count: number): Promise<void> {
  const { uniqueStaleIndex } = await serverCapabilities(db);
  const collection = db.collection(name);
  await collection.drop().catch(() => undefined);
  for (let start = 0; start < count; start += 5_000) {
    await collection.insertMany(Array.from({ length: Math.min(5_000, count - start) }, (_, offset) => benchUser(start + offset)));
  }
  await collection.createIndex({ [VF]: 1, _id: 1 }, uniqueStaleIndex ? { unique: true } : {});
}

/**
 * The compare-and-swap filter a careful engineer would write for "the document is still exactly as
 * read", on this server (the same question the sweeper asks, see `casFilter`): the fields in order
 * in one `$expr`, or (mongo-java-server) `$eq` per field plus the field count.
 */
function wholeDocumentFilter(doc: Document, match: 'expr' | 'fields'): Document {
  if (match === 'expr') {
    const fields = Object.entries(doc).filter(([key]) => key !== '_id').map(([k, v]) => ({ k, v: v as unknown }));
    return { _id: doc._id, $expr: { $eq: [{ $filter: { input: { $objectToArray: '$$ROOT' }, cond: { $ne: ['$$this.k', '_id'] } } }, { $literal: fields }] } };
  }
  const filter: Document = Object.fromEntries(Object.entries(doc).map(([key, value]) => [key, { $eq: value }]));
  filter.$expr = { $eq: [{ $size: { $objectToArray: '$$ROOT' } }, Object.keys(doc).length] };
  return filter;
}

/** Compare-and-swap on the whole document, values read as stored (the sweeper's guarantee), or on `{ _id, version }` only (the guarantee before). */
type Guarantee = 'document' | 'version';

/**
 * The baseline a careful engineer would write by hand: one cursor, batches of compare-and-swap
 * replaces. `sorted` walks in `_id` order, as a loop that can resume from a checkpoint must (the
 * sweeper does); unsorted is the cheapest loop there is. With `document` it gives the sweeper's
 * guarantee: documents read as stored (no BSON type changes) and compared whole.
 */
async function handWritten(db: Db, name: string, batchSize: number, sorted = false, guarantee: Guarantee = 'document'): Promise<number> {
  const collection = db.collection(name);
  const { documentMatch } = await serverCapabilities(db);
  let operations: AnyBulkWriteOperation<Document>[] = [];
  let written = 0;
  const flush = async (): Promise<void> => {
    if (operations.length === 0) return;
    written += (await collection.bulkWrite(operations, { ordered: false })).matchedCount;
    operations = [];
  };
  const cursor = collection.find(STALE, guarantee === 'document' ? { promoteValues: false, promoteLongs: false, bsonRegExp: true } : {}).batchSize(batchSize);
  for await (const doc of sorted ? cursor.sort({ _id: 1 }) : cursor) {
    const { full_name, schemaVersion, ...rest } = doc;
    const filter = guarantee === 'document' ? wholeDocumentFilter(doc, documentMatch) : { _id: doc._id, [VF]: schemaVersion ?? null };
    operations.push({ replaceOne: { filter, replacement: { ...rest, display_name: full_name, [VF]: 2 } } });
    if (operations.length >= batchSize) await flush();
  }
  await flush();
  return written;
}

/** Per-document lazy migration: find one stale document, upcast it, write it back, repeat. */
async function naiveLoop(db: Db, name: string): Promise<number> {
  const collection = db.collection(name);
  const ids = (await collection.find(STALE, { projection: { _id: 1 } }).toArray()).map((doc) => doc._id as unknown as number);
  let written = 0;
  for (const id of ids) {
    const doc = await collection.findOne({ _id: id } as Document);
    if (doc === null) continue;
    const { value } = await BenchUser.migrate(doc);
    written += (await collection.replaceOne({ _id: id, [VF]: doc[VF] ?? null } as Document, { ...value, [VF]: 2 })).matchedCount;
  }
  return written;
}

async function sweeper(db: Db, name: string, batchSize: number): Promise<number> {
  const report = await sweep(db.collection(name), BenchUser, { batchSize, ratePerSecond: Infinity, pauseMs: 0, stateCollection: `${name}_state`, failuresCollection: `${name}_failures` });
  if (report.status !== 'complete') throw new Error(`the sweep ended ${report.status}: ${report.error?.message ?? ''}`);
  await db.collection(`${name}_state`).drop().catch(() => undefined);
  return report.migrated;
}

async function timed(db: Db, name: string, count: number, run: () => Promise<number>): Promise<number> {
  await seed(db, name, count);
  let migrated = 0;
  const ms = await time(async () => {
    migrated = await run();
  });
  if (migrated !== count) throw new Error(`${name}: migrated ${migrated} of ${count}`);
  return ms;
}

const rate = (count: number, ms: number): string => fmt((count * 1000) / ms, 0);

/** A sweep in a process of its own: its peak RSS and wall time (start-up included). */
function sweepInChild(uri: string, db: Db, name: string, batchSize: number, dryRun: boolean): { maxRssMiB: number; ms: number; migrated: number } {
  const tsx = pathToFileURL(join(HERE, '..', 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
  const started = performance.now();
  const child = spawnSync(process.execPath, ['--import', tsx, join(HERE, 'sweep-rss-child.ts'), uri, db.databaseName, name, String(batchSize), dryRun ? 'dry-run' : 'write'], { encoding: 'utf8' });
  const ms = performance.now() - started;
  if (child.status !== 0) throw new Error(`sweep-rss-child failed: ${child.stderr}`);
  const result = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}') as { maxRssKiB: number; migrated: number };
  return { maxRssMiB: result.maxRssKiB / 1024, ms, migrated: result.migrated };
}

/** What the sweep benchmark measured (fields absent in figures copied from a table that did not give them). */
export interface SweepFigures {
  readonly documents: number;
  readonly batchSize: number;
  readonly rounds: number;
  readonly handWrittenMs?: number;
  readonly handWrittenSortedMs?: number;
  /** The hand-written loop with the compare-and-swap on `{ _id, version }` only (the guarantee before the whole-document one). */
  readonly handWrittenVersionOnlyMs?: number;
  readonly sweepMs?: number;
  /** Throughputs: sweep() / the hand-written loop, sweep() / the `_id`-order loop, that loop / the hand-written one. */
  readonly sweepVsHandWritten: number;
  readonly sweepVsSorted: number;
  readonly sortedVsHandWritten: number;
  readonly naiveDocuments: number;
  readonly naiveMs?: number;
  readonly sweepNaiveDocumentsMs?: number;
  /** sweep() throughput / the naive per-document loop's. */
  readonly sweepVsNaive: number;
  /** Cost per document as the collection grows. */
  readonly scale: readonly { readonly documents: number; readonly baselineUsPerDoc: number; readonly sweepUsPerDoc: number; readonly dryRunUsPerDoc?: number }[];
  /** Peak RSS of a sweeping process. */
  readonly rss: readonly { readonly documents: number; readonly dryRunMiB?: number; readonly writingMiB: number }[];
}

/**
 * Every figure runs at 100,000 documents (`MOLT_BENCH_SWEEP_DOCS` overrides it), and a table shows
 * how the cost per document grows with N: on servers that do not serve a range query from an
 * index (mongo-java-server), every keyset page is a scan.
 */
export async function runSweepBench(db: Db, options: SweepBenchOptions): Promise<SweepFigures> {
  const override = Number(process.env.MOLT_BENCH_SWEEP_DOCS);
  const documents = options.documents ?? (override > 0 ? override : 100_000);
  const naiveDocuments = options.naiveDocuments ?? Math.min(documents, 10_000);
  const batchSize = options.batchSize ?? 500;
  const rounds = options.rounds ?? 3;
  const sizesOverride = (process.env.MOLT_BENCH_SCALE_SIZES ?? '').split(',').map(Number).filter((size) => size > 0);
  const rssSizes = options.sizes ?? (sizesOverride.length > 0 ? sizesOverride : [10_000, 30_000, 100_000]);
  const scaleSizes = rssSizes;

  console.log(`\n## Sweep: ${documents.toLocaleString('en-US')} stale documents, rename upcaster, batch ${batchSize}, unthrottled\n`);
  const base: number[] = [];
  const baseSorted: number[] = [];
  const baseVersion: number[] = [];
  const swept: number[] = [];
  const contenders = [
    () => timed(db, 'sweep_bench', documents, () => handWritten(db, 'sweep_bench', batchSize, false, 'version')).then((ms) => baseVersion.push(ms)),
    () => timed(db, 'sweep_bench', documents, () => handWritten(db, 'sweep_bench', batchSize)).then((ms) => base.push(ms)),
    () => timed(db, 'sweep_bench', documents, () => handWritten(db, 'sweep_bench', batchSize, true)).then((ms) => baseSorted.push(ms)),
    () => timed(db, 'sweep_bench', documents, () => sweeper(db, 'sweep_bench', batchSize)).then((ms) => swept.push(ms)),
  ];
  for (let round = 0; round < rounds; round++) {
    // Rotate the order each round, so drift and GC hit every contender alike.
    for (let index = 0; index < contenders.length; index++) await (contenders[(round + index) % contenders.length] as () => Promise<number>)();
  }
  const baseMs = median(base);
  const baseSortedMs = median(baseSorted);
  const baseVersionMs = median(baseVersion);
  const sweepMs = median(swept);
  const naiveMs = await timed(db, 'sweep_naive', naiveDocuments, () => naiveLoop(db, 'sweep_naive'));
  const sweepSmallMs = await timed(db, 'sweep_naive', naiveDocuments, () => sweeper(db, 'sweep_naive', batchSize));
  printTable(['run', 'documents', 'median ms', 'docs/s', 'ratio'], [
    ['hand-written cursor + bulkWrite(replaceOne), whole-document compare-and-swap (the sweeper\'s guarantee)', String(documents), fmt(baseMs, 0), rate(documents, baseMs), '1.00'],
    ['hand-written, compare-and-swap on { _id, version } only (the guarantee before)', String(documents), fmt(baseVersionMs, 0), rate(documents, baseVersionMs), `${fmt(baseMs / baseVersionMs)}x the baseline's throughput`],
    ['hand-written, walking in _id order (resumable)', String(documents), fmt(baseSortedMs, 0), rate(documents, baseSortedMs), `${fmt(baseMs / baseSortedMs)}x the baseline's throughput`],
    ['sweep()', String(documents), fmt(sweepMs, 0), rate(documents, sweepMs), `${fmt(baseMs / sweepMs)}x the baseline's throughput (${fmt(baseSortedMs / sweepMs)}x the _id-order one)`],
    ['naive loop: findOne + replaceOne per document', String(naiveDocuments), fmt(naiveMs, 0), rate(naiveDocuments, naiveMs), '1.00'],
    ['sweep() on the same documents', String(naiveDocuments), fmt(sweepSmallMs, 0), rate(naiveDocuments, sweepSmallMs), `${fmt(naiveMs / sweepSmallMs)}x the naive loop`],
  ]);
  console.log(`(${rounds} rounds rotating the four, medians; the naive loop and its sweep once each. Every run starts from a freshly seeded collection.)`);

  console.log(`\n## Sweep: cost per document as the collection grows (batch ${batchSize})\n`);
  const scaleRows: string[][] = [];
  const scale: SweepFigures['scale'][number][] = [];
  for (const size of scaleSizes) {
    const baselineMs = await timed(db, 'sweep_scale', size, () => handWritten(db, 'sweep_scale', batchSize));
    const sweeperMs = await timed(db, 'sweep_scale', size, () => sweeper(db, 'sweep_scale', batchSize));
    await seed(db, 'sweep_scale', size);
    const dry = await time(() => sweep(db.collection('sweep_scale'), BenchUser, { batchSize, ratePerSecond: Infinity, pauseMs: 0, dryRun: true }));
    scaleRows.push([String(size), fmt((baselineMs * 1000) / size, 0), fmt((sweeperMs * 1000) / size, 0), fmt((dry * 1000) / size, 0)]);
    scale.push({ documents: size, baselineUsPerDoc: (baselineMs * 1000) / size, sweepUsPerDoc: (sweeperMs * 1000) / size, dryRunUsPerDoc: (dry * 1000) / size });
  }
  printTable(['documents', 'baseline µs/doc', 'sweep() µs/doc', 'sweep() dry run µs/doc (reads + upcasts, no writes)'], scaleRows);

  console.log(`\n## Sweep: peak RSS of a sweeping process (batch ${batchSize})\n`);
  const rssRows: string[][] = [];
  const rss: SweepFigures['rss'][number][] = [];
  for (const size of rssSizes) {
    await seed(db, 'sweep_rss', size);
    const dry = sweepInChild(options.uri, db, 'sweep_rss', batchSize, true);
    if (dry.migrated !== size) throw new Error(`dry run saw ${dry.migrated} of ${size}`);
    const real = sweepInChild(options.uri, db, 'sweep_rss', batchSize, false);
    if (real.migrated !== size) throw new Error(`sweep migrated ${real.migrated} of ${size}`);
    rssRows.push([String(size), fmt(dry.maxRssMiB, 1), fmt(real.maxRssMiB, 1)]);
    rss.push({ documents: size, dryRunMiB: dry.maxRssMiB, writingMiB: real.maxRssMiB });
  }
  for (const name of ['sweep_bench', 'sweep_naive', 'sweep_scale', 'sweep_rss']) await db.collection(name).drop().catch(() => undefined);
  printTable(['documents', 'peak RSS, dry run (MiB)', 'peak RSS, writing (MiB)'], rssRows);
  console.log('(The whole Node process: driver, zod, tsx. Flat means the sweeper holds one batch, never the collection.)');
  return {
    documents, batchSize, rounds,
    handWrittenMs: baseMs, handWrittenSortedMs: baseSortedMs, handWrittenVersionOnlyMs: baseVersionMs, sweepMs,
    sweepVsHandWritten: baseMs / sweepMs, sweepVsSorted: baseSortedMs / sweepMs, sortedVsHandWritten: baseMs / baseSortedMs,
    naiveDocuments, naiveMs, sweepNaiveDocumentsMs: sweepSmallMs, sweepVsNaive: naiveMs / sweepSmallMs,
    scale, rss,
  };
}
