/**
 * The rollback benchmark (not a timed test): a reverse sweep (v2 -> v1 through the downcaster)
 * against the forward sweep (v1 -> v2) over the same documents, client mode, in one run; and the
 * read path with shadow reads of a next release at rate 1.0 and 0.1 against without.
 * Targets: reverse >= 0.9x forward; shadow at 0.1 costs the read path <= 10%.
 */
import type { Db, Document } from 'mongodb';
import { z } from 'zod';
import { defineSchema, sweep, versioned } from '../src/index.js';
import { serverCapabilities } from '../src/server/index.js';
import { compare, fmt, median, printTable, time } from './harness.js';

const common = { _id: z.number(), email: z.string(), age: z.number(), city: z.string(), tags: z.array(z.string()) };
const V1 = z.object({ ...common, full_name: z.string() });
const V2 = z.object({ ...common, display_name: z.string() });
const V3 = z.object({ ...common, display_name: z.string(), nick: z.string() });
const Person = defineSchema('bench-rollback').version(1, V1).version(2, V2, {
  up: ({ full_name, ...rest }) => ({ ...rest, display_name: full_name }),
  down: ({ display_name, ...rest }) => ({ ...rest, full_name: display_name }),
});
const Next = Person.version(3, V3, { up: (v2) => ({ ...v2, nick: v2.display_name.split(' ')[0] ?? '' }), down: ({ nick: _nick, ...rest }) => rest });

function person(index: number, version: 1 | 2): Document {
  const base = { _id: index, email: `person${index}@example.org`, age: 20 + (index % 50), city: `City ${index % 100}`, tags: ['a', `t${index % 7}`] };
  return version === 1 ? { ...base, full_name: `Person ${index}`, schemaVersion: 1 } : { ...base, display_name: `Person ${index}`, schemaVersion: 2 };
}

async function seed(db: Db, name: string, count: number, version: 1 | 2): Promise<void> {
  const collection = db.collection(name);
  await collection.drop().catch(() => undefined);
  for (let start = 0; start < count; start += 5_000) {
    await collection.insertMany(Array.from({ length: Math.min(5_000, count - start) }, (_, offset) => person(start + offset, version)));
  }
  const { uniqueStaleIndex } = await serverCapabilities(db);
  await collection.createIndex({ schemaVersion: 1, _id: 1 }, uniqueStaleIndex ? { unique: true } : {});
}

/** What the rollback benchmark measured. */
export interface RollbackFigures {
  readonly documents: number;
  readonly forwardMs: number;
  readonly reverseMs: number;
  /** Read-path ratios of `find` with shadow reads against without, per `shadowRate`. */
  readonly shadow: readonly { readonly rate: number; readonly readPathRatio: number; readonly drainedRatio: number }[];
}

export async function runRollbackBench(db: Db, options: { rounds: number }): Promise<RollbackFigures> {
  const count = Number(process.env.MOLT_BENCH_ROLLBACK_DOCS) > 0 ? Number(process.env.MOLT_BENCH_ROLLBACK_DOCS) : 20_000;
  const fast = { batchSize: 500, ratePerSecond: Infinity, pauseMs: 0, mode: 'client', stateCollection: 'rb_state', failuresCollection: 'rb_failures' } as const;
  const forward: number[] = [];
  const reverse: number[] = [];
  for (let round = 0; round < Math.max(3, Math.round(options.rounds / 3)); round++) {
    await seed(db, 'rollback', count, 1);
    forward.push(await time(async () => {
      const report = await sweep(db.collection('rollback'), Person, fast);
      if (report.migrated !== count) throw new Error(`forward migrated ${report.migrated}`);
    }));
    await seed(db, 'rollback', count, 2);
    reverse.push(await time(async () => {
      const report = await sweep(db.collection('rollback'), Person, { ...fast, to: 1 });
      if (report.migrated !== count) throw new Error(`reverse migrated ${report.migrated}`);
    }));
    await db.collection('rb_state').drop().catch(() => undefined);
  }
  const [forwardMs, reverseMs] = [median(forward), median(reverse)];
  console.log(`\n## Rollback: a reverse sweep against the forward one (${count.toLocaleString('en-US')} documents, client mode, batch 500)\n`);
  printTable(['sweep', 'median ms', 'docs/s', 'throughput vs forward'], [
    ['forward v1 -> v2 (upcaster)', fmt(forwardMs, 0), fmt((count * 1000) / forwardMs, 0), '1.00'],
    ['reverse v2 -> v1 (downcaster, to: 1)', fmt(reverseMs, 0), fmt((count * 1000) / reverseMs, 0), fmt(forwardMs / reverseMs)],
  ]);

  await seed(db, 'shadow', 10_000, 2);
  const raw = db.collection('shadow');
  const plain = versioned(raw, Person);
  const rows: string[][] = [];
  const shadow: RollbackFigures['shadow'][number][] = [];
  for (const rate of [1, 0.1]) {
    const shadowed = versioned(raw, Person, { shadow: Next, shadowRate: rate, shadowQueueSize: 20_000 });
    const result = await compare(() => plain.find({}).toArray(), async () => {
      await shadowed.find({}).toArray();
      await shadowed.flush(); // the rehearsal's own cost, counted (it runs off the read path, on the same process)
    }, { rounds: options.rounds, warmup: 2 });
    const readOnly = await compare(() => plain.find({}).toArray(), () => shadowed.find({}).toArray(), { rounds: options.rounds, warmup: 1 });
    await shadowed.flush();
    rows.push([String(rate), fmt(readOnly.baselineMs, 1), fmt(readOnly.candidateMs, 1), fmt(readOnly.ratio), fmt(result.ratio)]);
    shadow.push({ rate, readPathRatio: readOnly.ratio, drainedRatio: result.ratio });
  }
  await raw.drop().catch(() => undefined);
  console.log('\n## Shadow reads: find of 10,000 latest documents, with the next release rehearsed on them\n');
  printTable(['shadowRate', 'without (ms)', 'with (ms)', 'read path ratio (the read returns)', 'ratio including the rehearsal drained'], rows);
  return { documents: count, forwardMs, reverseMs, shadow };
}
