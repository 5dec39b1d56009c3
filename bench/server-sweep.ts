/**
 * The server-side sweep benchmark (not a timed test), on a server with update pipelines: migrating
 * N stale documents of a declarative chain (rename, add, convert with a server form)
 *   - with one hand-written `updateMany` carrying the same pipeline over the whole collection (the
 *     physical limit: no batches, no validation, no lease),
 *   - with `sweep(…, { mode: 'server' })`,
 *   - with `sweep(…, { mode: 'client' })`;
 * and a find by the renamed field, indexed, translated over a collection of version-1 documents
 * against the same find on a fully migrated collection.
 */
import type { Db, Document } from 'mongodb';
import { z } from 'zod';
import { defineSchema, step, sweep, versioned } from '../src/index.js';
import { serverCapabilities } from '../src/server/index.js';
import { upPipeline } from '../src/steps/pipeline.js';
import { compare, fmt, median, printTable, time } from './harness.js';

const V1 = z.object({ _id: z.number(), full_name: z.string(), price: z.string(), city: z.string(), tags: z.array(z.string()) });
const V2 = z.object({ _id: z.number(), display_name: z.string(), email: z.string().nullable(), priceCents: z.number().int(), city: z.string(), tags: z.array(z.string()) });
const steps = [
  step.rename('full_name', 'display_name'),
  step.add('email', null),
  step.convert('price', 'priceCents', {
    up: (s: string) => Math.floor(Number(s) * 100 + 0.5), // half up, as upExpr computes it
    upExpr: { $toInt: { $floor: { $add: [{ $multiply: [{ $toDouble: '$price' }, 100] }, 0.5] } } },
  }),
];
const Product = defineSchema('bench-product').version(1, V1).version(2, V2, steps);
const VF = 'schemaVersion';

function product(index: number): Document {
  return { _id: index, full_name: `Product ${index}`, price: `${index % 1000}.${index % 100}`, city: `City ${index % 100}`, tags: ['a', `t${index % 7}`], [VF]: 1 };
}

async function seed(db: Db, name: string, count: number, migrated = false): Promise<void> {
  const collection = db.collection(name);
  await collection.drop().catch(() => undefined);
  for (let start = 0; start < count; start += 5_000) {
    const docs = Array.from({ length: Math.min(5_000, count - start) }, (_, offset) => product(start + offset));
    await collection.insertMany(migrated ? docs.map((doc): Document => ({ ...Product.migrateSync(doc).value, [VF]: 2 })) : docs);
  }
  const { uniqueStaleIndex } = await serverCapabilities(db);
  await collection.createIndex({ [VF]: 1, _id: 1 }, uniqueStaleIndex ? { unique: true } : {});
}

async function sweepWith(db: Db, name: string, mode: 'server' | 'client', batchSize: number): Promise<number> {
  const report = await sweep(db.collection(name), Product, { mode, batchSize, ratePerSecond: Infinity, pauseMs: 0, stateCollection: `${name}_state`, failuresCollection: `${name}_failures` });
  if (report.status !== 'complete') throw new Error(`the ${mode} sweep ended ${report.status}: ${report.error?.message ?? ''}`);
  if (mode === 'server' && report.mode !== 'server') throw new Error('the server-side sweep ran on the client');
  await db.collection(`${name}_state`).drop().catch(() => undefined);
  return report.migrated;
}

/** What the server-side sweep benchmark measured, per collection size; `undefined` where the server has no update pipelines. */
export interface ServerSweepFigures {
  readonly batchSize: number;
  readonly sizes: readonly { readonly documents: number; readonly updateManyMs: number; readonly serverSweepMs: number; readonly clientSweepMs: number }[];
  /** A translated `findOne` by a renamed field on version-1 documents / the same on migrated ones. */
  readonly translatedFindRatio: number;
}

export async function runServerSweepBench(db: Db, options: { rounds: number; sizes?: readonly number[] }): Promise<ServerSweepFigures | undefined> {
  const capabilities = await serverCapabilities(db);
  if (!capabilities.updatePipelines) {
    console.log(`\n## Server-side sweep: skipped (${capabilities.kind} has no update pipelines)\n`);
    return undefined;
  }
  const sizes = options.sizes ?? (Number(process.env.MOLT_BENCH_SERVER_SIZES) > 0 ? [Number(process.env.MOLT_BENCH_SERVER_SIZES)] : [10_000, 100_000]);
  const batchSize = 500;
  const pipeline = [...(upPipeline(steps) ?? []), { $set: { [VF]: 2 } }];
  const rows: string[][] = [];
  const figures: ServerSweepFigures['sizes'][number][] = [];
  for (const size of sizes) {
    const rounds = size >= 100_000 ? 1 : Math.max(1, Math.round(options.rounds / 5));
    const limit: number[] = [];
    const server: number[] = [];
    const client: number[] = [];
    for (let round = 0; round < rounds; round++) {
      await seed(db, 'server_sweep', size);
      limit.push(await time(async () => {
        const result = await db.collection('server_sweep').updateMany({ [VF]: 1 }, pipeline);
        if (result.modifiedCount !== size) throw new Error(`updateMany modified ${result.modifiedCount} of ${size}`);
      }));
      await seed(db, 'server_sweep', size);
      server.push(await time(async () => {
        if ((await sweepWith(db, 'server_sweep', 'server', batchSize)) !== size) throw new Error('server sweep missed documents');
      }));
      await seed(db, 'server_sweep', size);
      client.push(await time(async () => {
        if ((await sweepWith(db, 'server_sweep', 'client', batchSize)) !== size) throw new Error('client sweep missed documents');
      }));
    }
    const [limitMs, serverMs, clientMs] = [median(limit), median(server), median(client)];
    figures.push({ documents: size, updateManyMs: limitMs, serverSweepMs: serverMs, clientSweepMs: clientMs });
    rows.push([
      size.toLocaleString('en-US'), fmt(limitMs, 0), fmt(serverMs, 0), fmt(clientMs, 0),
      `${fmt(limitMs / serverMs)}x`, `${fmt(clientMs / serverMs)}x`,
    ]);
  }
  await db.collection('server_sweep').drop().catch(() => undefined);
  console.log(`\n## Server-side sweep: rename + add + convert (with upExpr), batch ${batchSize}, unthrottled\n`);
  printTable(['documents', 'one updateMany with the pipeline (ms)', "sweep mode 'server' (ms)", "sweep mode 'client' (ms)", "server sweep's throughput / updateMany's", "server sweep's speed-up over client"], rows);
  console.log('(Medians; each run on a freshly seeded collection with the stale index. The updateMany has no batches, lease, checkpoint or validation.)');

  // Translated find on an indexed renamed field: half-migrated vs fully migrated collection.
  const size = 20_000;
  await seed(db, 'translated_old', size);
  await db.collection('translated_old').createIndex({ full_name: 1 });
  await db.collection('translated_old').createIndex({ display_name: 1 });
  await seed(db, 'translated_new', size, true);
  await db.collection('translated_new').createIndex({ display_name: 1 });
  const old = versioned(db.collection('translated_old'), Product);
  const migrated = versioned(db.collection('translated_new'), Product);
  let probe = 0;
  const names = Array.from({ length: 200 }, () => `Product ${(probe = (probe * 7919 + 13) % size)}`);
  const lookups = async (collection: typeof old) => {
    for (const name of names) if ((await collection.findOne({ display_name: name })) === null) throw new Error(`${name} not found`);
  };
  const result = await compare(() => lookups(migrated), () => lookups(old), { rounds: options.rounds, warmup: 1 });
  console.log(`\n## A find by a renamed field (indexed), translated for version-1 documents\n`);
  printTable(['query', 'median ms (200 findOne)', 'ratio'], [
    ['findOne({ display_name }) on a fully migrated collection', fmt(result.baselineMs, 0), '1.00'],
    ['the same on version-1 documents (translated to full_name)', fmt(result.candidateMs, 0), fmt(result.ratio)],
  ]);
  for (const name of ['translated_old', 'translated_new']) await db.collection(name).drop().catch(() => undefined);
  return { batchSize, sizes: figures, translatedFindRatio: result.ratio };
}
