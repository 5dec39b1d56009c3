/**
 * The read benchmark: `findOne` by `_id` and `find` of 10,000 documents through the wrapper
 * against the raw driver, on the same server in the same run, for documents already at the
 * latest version and for stale ones (a rename upcaster). Prints wrapper/raw ratios.
 * Target: <= 1.10 for latest-version documents.
 */
import type { Db, Document } from 'mongodb';
import { z } from 'zod';
import { defineSchema, versioned } from '../src/index.js';
import { compare, fmt, printTable } from './harness.js';

const DOCS = 10_000;
const FIND_ONE_LOOKUPS = 1_000;

const Person = defineSchema('bench-person')
  .version(1, z.object({ _id: z.number(), full_name: z.string(), email: z.string(), age: z.number(), city: z.string(), tags: z.array(z.string()) }))
  .version(2, z.object({ _id: z.number(), display_name: z.string(), email: z.string(), age: z.number(), city: z.string(), tags: z.array(z.string()) }),
    ({ full_name, ...rest }) => ({ ...rest, display_name: full_name }));

function person(index: number, version: 1 | 2): Document {
  const common = { _id: index, email: `person${index}@example.org`, age: 20 + (index % 50), city: `City ${index % 100}`, tags: ['a', 'b', `t${index % 7}`] };
  return version === 1 ? { ...common, full_name: `Person Number ${index}`, schemaVersion: 1 } : { ...common, display_name: `Person Number ${index}`, schemaVersion: 2 };
}

async function seed(db: Db, name: string, version: 1 | 2): Promise<void> {
  const collection = db.collection(name);
  await collection.drop().catch(() => undefined);
  for (let start = 0; start < DOCS; start += 1_000) {
    await collection.insertMany(Array.from({ length: 1_000 }, (_, offset) => person(start + offset, version)));
  }
}

/** One row of the read benchmark: wrapper / raw driver (`rawMs`, `wrapperMs` absent in figures copied from a table of ratios). */
export interface ReadFigure {
  readonly operation: string;
  readonly documents: string;
  readonly rawMs?: number;
  readonly wrapperMs?: number;
  readonly ratio: number;
}

export interface ReadFigures {
  readonly rounds: number;
  readonly rows: readonly ReadFigure[];
}

export async function runReadBench(db: Db, options: { rounds: number }): Promise<ReadFigures> {
  await seed(db, 'read_latest', 2);
  await seed(db, 'read_stale', 1);
  const rows: string[][] = [];
  const figures: ReadFigure[] = [];
  const ids = Array.from({ length: FIND_ONE_LOOKUPS }, (_, index) => (index * 7919) % DOCS);

  for (const [label, name] of [['latest (v2)', 'read_latest'], ['stale (v1, rename upcast)', 'read_stale']] as const) {
    const raw = db.collection<Document>(name);
    const wrapped = versioned(raw, Person);

    const findAll = await compare(
      () => raw.find({}).toArray(),
      () => wrapped.find({}).toArray(),
      { rounds: options.rounds, warmup: 2 },
    );
    rows.push([`find ${DOCS.toLocaleString('en')} docs, toArray`, label, fmt(findAll.baselineMs, 1), fmt(findAll.candidateMs, 1), fmt(findAll.ratio)]);
    figures.push({ operation: `find ${DOCS.toLocaleString('en')}, toArray`, documents: label, rawMs: findAll.baselineMs, wrapperMs: findAll.candidateMs, ratio: findAll.ratio });

    const findOne = await compare(
      async () => {
        for (const _id of ids) await raw.findOne({ _id } as Document);
      },
      async () => {
        for (const _id of ids) await wrapped.findOne({ _id });
      },
      { rounds: Math.max(3, Math.floor(options.rounds / 2)), warmup: 1 },
    );
    rows.push([`findOne by _id x ${FIND_ONE_LOOKUPS.toLocaleString('en')}`, label, fmt(findOne.baselineMs, 1), fmt(findOne.candidateMs, 1), fmt(findOne.ratio)]);
    figures.push({ operation: `findOne by _id x ${FIND_ONE_LOOKUPS.toLocaleString('en')}`, documents: label, rawMs: findOne.baselineMs, wrapperMs: findOne.candidateMs, ratio: findOne.ratio });
  }

  console.log(`\nReads: wrapper vs raw driver (median of ${options.rounds} alternating rounds; ratio = wrapper / raw, target <= 1.10 for latest)\n`);
  printTable(['operation', 'documents', 'raw ms', 'wrapper ms', 'ratio'], rows);
  return { rounds: options.rounds, rows: figures };
}
