/**
 * The peer benchmark (`npm run bench -- peers`; not a timed test): mongo-molt against what users
 * would pick instead, on the same server, the same documents, in the same run.
 *
 * Reads: the lazy-migration plugins for mongoose cannot be installed or do not run on a current
 * mongoose (see BENCHMARKS.md), and all of them are one mechanism: a `post('init')` hook that runs
 * the migration functions on each hydrated document. That mechanism is implemented here on
 * mongoose 9 (`lazyMigration` below) and measured with hydrated documents (the plugins' only mode)
 * and, as a second row, with `lean()` reads and the same functions applied by hand. The raw driver
 * is the bound for every contender.
 *
 * Full-collection migration: `sweep()` against the eager script a migrate-mongo user writes, run
 * by migrate-mongo's own `up`: one `updateMany` with an update pipeline (where the server runs
 * pipeline updates), and a cursor + unordered `bulkWrite` pass.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db, Document, MongoClient } from 'mongodb';
import mongoose from 'mongoose';
import { z } from 'zod';
import { defineSchema, sweep, versioned } from '../src/index.js';
import { serverCapabilities } from '../src/server/index.js';
import { fmt, median, printTable, time } from './harness.js';

const VF = 'schemaVersion';

export interface PeersBenchOptions {
  readonly uri: string;
  readonly client: MongoClient;
  /** Alternating rounds per read contender. */
  readonly rounds: number;
  /** Documents read by `find`. Default 10,000. */
  readonly documents?: number;
  /** `findOne` lookups per round. Default 1,000. */
  readonly lookups?: number;
  /** Documents migrated by each full-collection run. Default 10,000 (`PEERS_MIGRATE_DOCS`). */
  readonly migrateDocuments?: number;
  /** Rounds of the full-collection migration (rotating the contenders). Default 3. */
  readonly migrateRounds?: number;
}

// ---- the documents and the one migration every contender runs -------------------------------

interface PersonV1 { _id: number; full_name: string; email: string; age: number; city: string; tags: string[] }
interface PersonV2 { _id: number; display_name: string; email: string; age: number; city: string; tags: string[] }

/** The migration function, written once and used by every contender (the upcaster of v1 -> v2). */
const renameFullName = ({ full_name, ...rest }: PersonV1): PersonV2 => ({ ...rest, display_name: full_name });

const common = { _id: z.number(), email: z.string(), age: z.number(), city: z.string(), tags: z.array(z.string()) };
const Person = defineSchema('peer-person')
  .version(1, z.object({ ...common, full_name: z.string() }))
  .version(2, z.object({ ...common, display_name: z.string() }), renameFullName);

function person(index: number, version: 1 | 2): Document {
  const base = { _id: index, email: `person${index}@example.org`, age: 20 + (index % 50), city: `City ${index % 100}`, tags: ['a', 'b', `t${index % 7}`] };
  return version === 1 ? { ...base, full_name: `Person Number ${index}`, [VF]: 1 } : { ...base, display_name: `Person Number ${index}`, [VF]: 2 };
}

async function seed(db: Db, name: string, count: number, version: 1 | 2): Promise<void> {
  const collection = db.collection(name);
  await collection.drop().catch(() => undefined);
  for (let start = 0; start < count; start += 5_000) {
    await collection.insertMany(Array.from({ length: Math.min(5_000, count - start) }, (_, offset) => person(start + offset, version)));
  }
}

// ---- the mongoose lazy-migration mechanism, as the plugins implement it --------------------------

type Migration = (doc: Record<string, unknown>) => Record<string, unknown>;

/**
 * What `@baethon/mongoose-lazy-migration`, `mongoose-data-migrations` and `mongoose-lazy-migration`
 * do, on mongoose 9: a `post('init')` hook (document hydration) that runs the migration functions
 * from the stored version up, on the hydrated document. `save()` would persist; reads never save.
 */
function lazyMigration(schema: mongoose.Schema, migrations: Readonly<Record<number, Migration>>, latest: number): void {
  schema.post('init', function (this: mongoose.Document) {
    const stored = (this.get(VF) as number | undefined) ?? 1;
    if (stored >= latest) return;
    const original = this.toObject({ depopulate: true, versionKey: false }) as Record<string, unknown>;
    let data = original;
    for (let version = stored; version < latest; version++) data = (migrations[version] as Migration)(data);
    this.overwrite({ ...data, [VF]: latest });
    // A field the migration dropped that the (latest-shape) mongoose schema does not declare is
    // kept by overwrite(): remove it from the hydrated document, as the plugins' mutation does.
    const stored_ = (this as unknown as { _doc: Record<string, unknown> })._doc;
    for (const key of Object.keys(original)) if (!(key in data) && key !== VF) delete stored_[key];
  });
}

/** `lean()` reads with the same functions applied by hand: the cheapest a mongoose user gets. */
function migrateLean(doc: Record<string, unknown>, migrations: Readonly<Record<number, Migration>>, latest: number): Record<string, unknown> {
  const stored = (doc[VF] as number | undefined) ?? 1;
  if (stored >= latest) return doc;
  let data = doc;
  for (let version = stored; version < latest; version++) data = (migrations[version] as Migration)(data);
  return { ...data, [VF]: latest };
}

const MIGRATIONS: Record<number, Migration> = { 1: renameFullName as unknown as Migration };

// ---- reads --------------------------------------------------------------------------------------

/** What the peer benchmark measured: `x` = contender / mongo-molt (time for reads, throughput for the migration). */
export interface PeersFigures {
  readonly reads: readonly { readonly documents: string; readonly contender: string; readonly findMs: number; readonly findX: number; readonly findOneMs: number; readonly findOneX: number }[];
  readonly migration: { readonly documents: number; readonly rows: readonly { readonly run: string; readonly ms: number; readonly docsPerSecond: number; readonly xSweep: number }[] };
}

interface Contender {
  readonly name: string;
  readonly findAll: () => Promise<unknown[]>;
  readonly findOne: (id: number) => Promise<unknown>;
}

/** Times contenders in rotating order (so drift and GC hit all alike) after a warm-up; medians. */
async function rotate(contenders: readonly (() => Promise<unknown>)[], rounds: number, warmup: number): Promise<number[]> {
  for (let round = 0; round < warmup; round++) for (const run of contenders) await run();
  const samples = contenders.map((): number[] => []);
  for (let round = 0; round < rounds; round++) {
    for (let offset = 0; offset < contenders.length; offset++) {
      const index = (round + offset) % contenders.length;
      (samples[index] as number[]).push(await time(contenders[index] as () => Promise<unknown>));
    }
  }
  return samples.map((values) => median(values));
}

async function readBench(db: Db, options: PeersBenchOptions): Promise<PeersFigures['reads']> {
  const docs = options.documents ?? 10_000;
  const lookups = options.lookups ?? 1_000;
  const ids = Array.from({ length: lookups }, (_, index) => (index * 7919) % docs);
  await seed(db, 'peers_latest', docs, 2);
  await seed(db, 'peers_stale', docs, 1);

  const connection = mongoose.createConnection(options.uri, { dbName: db.databaseName, autoIndex: false, autoCreate: false });
  await connection.asPromise();
  try {
    const rows: string[][] = [];
    const figures: PeersFigures['reads'][number][] = [];
    for (const [label, name] of [['latest (v2)', 'peers_latest'], ['stale (v1, rename)', 'peers_stale']] as const) {
      const raw = db.collection<Document>(name);
      const wrapped = versioned(raw, Person);
      // The mongoose schema declares the latest shape, as a mongoose app's does.
      const schema = new mongoose.Schema(
        { _id: Number, display_name: String, email: String, age: Number, city: String, tags: [String], [VF]: Number },
        { collection: name, versionKey: false, strict: true },
      );
      lazyMigration(schema, MIGRATIONS, 2);
      const Model = connection.model(`Peer_${name}`, schema);

      // Every contender must return the latest shape: checked once before timing.
      const probe = ids[1] as number;
      const shapes = [
        await wrapped.findOne({ _id: probe }),
        ((await Model.findById(probe)) as mongoose.Document | null)?.toObject(),
        migrateLean((await Model.findById(probe).lean()) as Record<string, unknown>, MIGRATIONS, 2),
      ];
      for (const shape of shapes) {
        if ((shape as { display_name?: unknown } | null | undefined)?.display_name !== `Person Number ${probe}` || 'full_name' in (shape as object)) {
          throw new Error(`a contender did not return the latest shape: ${JSON.stringify(shape)}`);
        }
      }

      const contenders: Contender[] = [
        { name: 'raw driver (no migration: the bound)', findAll: () => raw.find({}).toArray(), findOne: (id) => raw.findOne({ _id: id } as Document) },
        { name: "mongo-molt versioned() (validate: 'migrated')", findAll: () => wrapped.find({}).toArray(), findOne: (id) => wrapped.findOne({ _id: id }) },
        { name: "mongoose 9 hydrated + post('init') migration", findAll: () => Model.find({}).exec(), findOne: (id) => Model.findById(id).exec() },
        {
          name: 'mongoose 9 lean() + the same function',
          findAll: async () => (await Model.find({}).lean<Record<string, unknown>[]>().exec()).map((doc) => migrateLean(doc, MIGRATIONS, 2)),
          findOne: async (id) => {
            const doc = await Model.findById(id).lean<Record<string, unknown>>().exec();
            return doc === null ? null : migrateLean(doc, MIGRATIONS, 2);
          },
        },
      ];
      const findAllMs = await rotate(contenders.map((c) => () => c.findAll()), options.rounds, 2);
      const findOneMs = await rotate(
        contenders.map((c) => async () => {
          for (const id of ids) await c.findOne(id);
        }),
        Math.max(3, Math.floor(options.rounds / 2)),
        1,
      );
      const molt = { find: findAllMs[1] as number, findOne: findOneMs[1] as number };
      contenders.forEach((contender, index) => {
        const f = findAllMs[index] as number;
        const o = findOneMs[index] as number;
        rows.push([label, contender.name, fmt(f, 1), index === 1 ? '1.00' : fmt(f / molt.find), fmt(o, 1), index === 1 ? '1.00' : fmt(o / molt.findOne)]);
        figures.push({ documents: label, contender: contender.name, findMs: f, findX: f / molt.find, findOneMs: o, findOneX: o / molt.findOne });
      });
      await wrapped.close();
    }
    console.log(
      `\nPeers, reads (${docs.toLocaleString('en')} documents; find({}) of all, findOne by _id x ${lookups.toLocaleString('en')}; ` +
        `medians of ${options.rounds} and ${Math.max(3, Math.floor(options.rounds / 2))} rotating rounds; x = contender / mongo-molt, above 1.00 is slower than mongo-molt)\n`,
    );
    printTable(['documents', 'contender', 'find ms', 'find x', 'findOne x1k ms', 'findOne x'], rows);
    return figures;
  } finally {
    await connection.close();
  }
}

// ---- full-collection migration: sweep() against migrate-mongo's eager script ------------------

/** The two migration files a migrate-mongo user writes for the rename, in a migrations directory of their own. */
function writeMigrations(root: string): { pipeline: string; bulk: string } {
  const pipeline = join(root, 'pipeline');
  const bulk = join(root, 'bulk');
  mkdirSync(pipeline, { recursive: true });
  mkdirSync(bulk, { recursive: true });
  writeFileSync(
    join(pipeline, '20261127000000-rename-full-name.mjs'),
    `export async function up(db) {
  await db.collection(process.env.PEERS_COLLECTION).updateMany(
    { schemaVersion: { $in: [null, 1] } },
    [{ $set: { display_name: '$full_name', schemaVersion: 2 } }, { $unset: 'full_name' }],
  );
}
export async function down() {}
`,
  );
  writeFileSync(
    join(bulk, '20261127000000-rename-full-name.mjs'),
    `export async function up(db) {
  const users = db.collection(process.env.PEERS_COLLECTION);
  let ops = [];
  for await (const doc of users.find({ schemaVersion: { $in: [null, 1] } }).batchSize(500)) {
    ops.push({ updateOne: { filter: { _id: doc._id }, update: { $set: { display_name: doc.full_name, schemaVersion: 2 }, $unset: { full_name: '' } } } });
    if (ops.length === 500) { await users.bulkWrite(ops, { ordered: false }); ops = []; }
  }
  if (ops.length > 0) await users.bulkWrite(ops, { ordered: false });
}
export async function down() {}
`,
  );
  return { pipeline, bulk };
}

async function migrateBench(db: Db, options: PeersBenchOptions): Promise<PeersFigures['migration']> {
  const count = options.migrateDocuments ?? Number(process.env.PEERS_MIGRATE_DOCS ?? 10_000);
  const rounds = options.migrateRounds ?? 3;
  const capabilities = await serverCapabilities(db);
  const { default: migrateMongo } = await import('migrate-mongo');
  const dirs = writeMigrations(join(tmpdir(), `molt-peers-${process.pid}`));
  const name = 'peers_migrate';
  process.env.PEERS_COLLECTION = name;
  const collection = db.collection(name);

  const prepare = async (): Promise<void> => {
    await seed(db, name, count, 1);
    // The index the sweeper ensures on this server (unique only where the server needs it),
    // created up front so that every contender pays for it alike.
    await collection.createIndex({ [VF]: 1, _id: 1 }, capabilities.uniqueStaleIndex ? { unique: true } : {});
    await db.collection('changelog').deleteMany({});
    await db.collection('molt_state').deleteMany({});
  };
  const viaMigrateMongo = (dir: string) => async (): Promise<void> => {
    migrateMongo.config.set({ mongodb: { url: options.uri, databaseName: db.databaseName }, migrationsDir: dir, changelogCollectionName: 'changelog', migrationFileExtension: '.mjs', useFileHash: false });
    const applied = await migrateMongo.up(db, options.client);
    if (applied.length !== 1) throw new Error(`migrate-mongo applied ${applied.length} migrations`);
  };
  const contenders: { name: string; run: () => Promise<void> }[] = [
    { name: 'migrate-mongo up: cursor + bulkWrite(updateOne $set/$unset), batch 500', run: viaMigrateMongo(dirs.bulk) },
    {
      name: "sweep() (batch 500, unthrottled, compare-and-swap, zod-validated)",
      run: async () => {
        const report = await sweep(collection, Person, { batchSize: 500, ratePerSecond: Infinity, pauseMs: 0 });
        if (report.status !== 'complete' || report.migrated !== count) throw new Error(`sweep: ${JSON.stringify(report)}`);
      },
    },
  ];
  if (capabilities.updatePipelines) contenders.unshift({ name: 'migrate-mongo up: one updateMany with an update pipeline', run: viaMigrateMongo(dirs.pipeline) });

  const samples = contenders.map((): number[] => []);
  for (let round = 0; round < rounds; round++) {
    for (let offset = 0; offset < contenders.length; offset++) {
      const index = (round + offset) % contenders.length;
      await prepare();
      (samples[index] as number[]).push(await time((contenders[index] as { run: () => Promise<void> }).run));
      const left = await collection.countDocuments({ [VF]: { $ne: 2 } });
      const migrated = await collection.countDocuments({ [VF]: 2, display_name: { $exists: true }, full_name: { $exists: false } });
      if (left !== 0 || migrated !== count) throw new Error(`${(contenders[index] as { name: string }).name} left ${left} stale documents`);
    }
  }
  const medians = samples.map((values) => median(values));
  const sweepMs = medians.at(-1) as number;
  console.log(
    `\nPeers, full-collection migration (${count.toLocaleString('en')} version-1 documents, rename; median of ${rounds} rotating rounds, ` +
      `each from a freshly seeded collection with the sweeper's index { schemaVersion: 1, _id: 1 }${capabilities.uniqueStaleIndex ? ' (unique)' : ''}; x = contender throughput / sweep() throughput)\n`,
  );
  if (!capabilities.updatePipelines) console.log(`(${capabilities.kind} does not run update pipelines: no updateMany-pipeline row)\n`);
  printTable(
    ['run', 'median ms', 'docs/s', 'x sweep()'],
    contenders.map((contender, index) => {
      const ms = medians[index] as number;
      return [contender.name, fmt(ms, 0), fmt(count / (ms / 1000), 0), fmt(sweepMs / ms)];
    }),
  );
  return { documents: count, rows: contenders.map((contender, index) => ({ run: contender.name, ms: medians[index] as number, docsPerSecond: count / ((medians[index] as number) / 1000), xSweep: sweepMs / (medians[index] as number) })) };
}

export async function runPeersBench(db: Db, options: PeersBenchOptions): Promise<PeersFigures> {
  const reads = await readBench(db, options);
  const migration = await migrateBench(db, options);
  return { reads, migration };
}
