/**
 * Soak: on one collection, at once, writers through `versioned()` ($inc one counter), in-place
 * writers of old code that knows nothing of versions ($inc another counter on the raw collection,
 * never bumping the version), readers with write-back, old code inserting new stale documents,
 * and two sweepers; every migrator compares on the whole document (`compareOn: 'document'`), so
 * an in-place write is never overwritten. At the end: no increment lost (per document and in
 * sum), every document at the latest version and valid.
 */
import type { Document } from 'mongodb';
import { expect } from 'vitest';
import { z } from 'zod';
import { defineSchema, sweep, UpdateContentionError, versioned, type SweepReport } from 'mongo-molt';
import { itWithAtomicUpdates, useTestDatabase } from '../support/database.js';
import { random, SEED, SOAK_OPERATIONS } from './size.js';

const t = useTestDatabase('rel_soak');

const counters = { viaWrapper: z.number().optional(), inPlace: z.number().optional() };
const Soak = defineSchema('soak')
  .version(1, z.object({ _id: z.string(), full_name: z.string(), ...counters }))
  .version(2, z.object({ _id: z.string(), display_name: z.string(), email: z.string().nullable(), ...counters }), ({ full_name, ...rest }) => ({ ...rest, display_name: full_name, email: null }))
  .version(3, z.object({ _id: z.string(), display_name: z.string().min(1), email: z.string().nullable(), tags: z.array(z.string()), ...counters }), (v2) => ({ ...v2, tags: [] }));

/** A document as old code writes it: unversioned, version 1 or version 2, counters at 0. */
function oldDocument(id: string, index: number): Document {
  const base = { _id: id, viaWrapper: 0, inPlace: 0 };
  if (index % 3 === 0) return { ...base, full_name: `Name ${id}` };
  if (index % 3 === 1) return { ...base, full_name: `Name ${id}`, schemaVersion: 1 };
  return { ...base, display_name: `Name ${id}`, email: null, schemaVersion: 2 };
}

itWithAtomicUpdates(`soak: ${SOAK_OPERATIONS.toLocaleString('en')} racing operations (versioned writers, in-place writers, write-back readers, old-code inserts, two sweepers): no lost update, all at the latest version`, async () => {
  const raw = t.db.collection<Document>('soak');
  const rand = random(SEED);
  process.stderr.write(`[reliability soak] seed ${SEED} (MOLT_RELIABILITY_SEED repeats it), ${SOAK_OPERATIONS} operations\n`);

  const initial = Math.max(60, Math.round(SOAK_OPERATIONS / 40));
  const ids: string[] = [];
  await raw.insertMany(Array.from({ length: initial }, (_, index) => oldDocument(`s${String(index).padStart(6, '0')}`, index)));
  for (let index = 0; index < initial; index++) ids.push(`s${String(index).padStart(6, '0')}`);

  const expected = new Map<string, { viaWrapper: number; inPlace: number }>(ids.map((id) => [id, { viaWrapper: 0, inPlace: 0 }]));
  // Operations are drawn from one budget; each worker draws until it is spent.
  let budget = SOAK_OPERATIONS;
  const draw = (): boolean => budget-- > 0;
  const pick = (): string => ids[Math.floor(rand() * ids.length)] as string;
  const tally = { wrapperIncs: 0, inPlaceIncs: 0, reads: 0, inserts: 0, contentionRetries: 0, sweepRuns: 0, sweepBatches: 0 };

  const writers = Array.from({ length: 4 }, () => versioned(raw, Soak, { compareOn: 'document' }));
  const readers = Array.from({ length: 2 }, () => versioned(raw, Soak, { compareOn: 'document', writeBackOnRead: true, writeBackBatchSize: 8 }));

  const versionedWriter = async (users: (typeof writers)[number]): Promise<void> => {
    while (draw()) {
      const _id = pick();
      for (;;) {
        try {
          const result = await users.updateOne({ _id }, { $inc: { viaWrapper: 1 } });
          expect(result.matchedCount).toBe(1);
          (expected.get(_id) as { viaWrapper: number }).viaWrapper++;
          tally.wrapperIncs++;
          break;
        } catch (error) {
          // The update did not run: old code kept rewriting the document while it was migrated.
          if (!(error instanceof UpdateContentionError)) throw error;
          tally.contentionRetries++;
        }
      }
    }
  };
  const inPlaceWriter = async (): Promise<void> => {
    while (draw()) {
      const _id = pick();
      const result = await raw.updateOne({ _id } as Document, { $inc: { inPlace: 1 } });
      expect(result.matchedCount).toBe(1);
      (expected.get(_id) as { inPlace: number }).inPlace++;
      tally.inPlaceIncs++;
    }
  };
  const reader = async (users: (typeof readers)[number], which: number): Promise<void> => {
    let count = 0;
    while (draw()) {
      count++;
      if ((count + which) % 50 === 0) {
        for (const doc of await users.find({}).limit(200).toArray()) expect(doc).toHaveProperty('display_name');
      } else {
        const doc = await users.findOne({ _id: pick() });
        expect(doc).toHaveProperty('tags');
        expect(doc).not.toHaveProperty('full_name');
      }
      tally.reads++;
    }
  };
  const oldCodeInserter = async (): Promise<void> => {
    let next = initial;
    while (draw()) {
      const id = `s${String(next).padStart(6, '0')}`;
      await raw.insertOne(oldDocument(id, next));
      expected.set(id, { viaWrapper: 0, inPlace: 0 });
      ids.push(id);
      next++;
      tally.inserts++;
      // Inserts are a small share of the operations: they keep stale documents coming.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const reports: SweepReport[] = [];
  const sweeper = async (): Promise<void> => {
    while (budget > 0) {
      const report = await sweep(raw, Soak, {
        batchSize: 20, ratePerSecond: Infinity, pauseMs: 0, compareOn: 'document',
        onProgress: () => void tally.sweepBatches++,
      });
      reports.push(report);
      tally.sweepRuns++;
      // Partial only for the stale documents the recount finds left (old code keeps inserting behind
      // the pass, writers race its writes): never for an error.
      expect(['complete', 'locked', 'partial']).toContain(report.status);
      if (report.status !== 'locked') expect(report.error).toBeUndefined();
      if (report.status === 'locked') await new Promise((resolve) => setTimeout(resolve, 20 + rand() * 30));
    }
  };

  await Promise.all([
    ...writers.map((users) => versionedWriter(users)),
    inPlaceWriter(),
    inPlaceWriter(),
    ...readers.map((users, which) => reader(users, which)),
    oldCodeInserter(),
    sweeper(),
    sweeper(),
  ]);
  await Promise.all([...readers, ...writers].map((users) => users.flush()));

  // The last stale documents (inserted by old code after the sweepers' last pass) are swept now.
  const last = await sweep(raw, Soak, { batchSize: 200, ratePerSecond: Infinity, pauseMs: 0, compareOn: 'document' });
  expect(last).toMatchObject({ status: 'complete', failed: 0 });
  const operations = tally.wrapperIncs + tally.inPlaceIncs + tally.reads + tally.inserts;
  process.stderr.write(`[reliability soak] ${JSON.stringify({ ...tally, operations, documents: ids.length, lostRaces: [...writers, ...readers].reduce((sum, users) => sum + users.stats.lostRaces, 0), sweepStatuses: reports.map((r) => r.status).reduce<Record<string, number>>((acc, s) => ({ ...acc, [s]: (acc[s] ?? 0) + 1 }), {}), migratedBySweepers: reports.reduce((sum, r) => sum + r.migrated, 0) + last.migrated })}\n`);
  expect(operations).toBe(SOAK_OPERATIONS);

  const stored = await raw.find({}).toArray();
  expect(stored).toHaveLength(ids.length);
  let lost = 0;
  let sumWrapper = 0;
  let sumInPlace = 0;
  for (const doc of stored) {
    const want = expected.get(doc._id as unknown as string);
    expect(doc.schemaVersion).toBe(3);
    expect(Soak.schema.safeParse(doc).success).toBe(true);
    expect(doc).not.toHaveProperty('full_name');
    expect(doc.display_name).toBe(`Name ${String(doc._id)}`);
    if (doc.viaWrapper !== want?.viaWrapper || doc.inPlace !== want?.inPlace) lost++;
    sumWrapper += doc.viaWrapper as number;
    sumInPlace += doc.inPlace as number;
  }
  expect(lost).toBe(0);
  expect(sumWrapper).toBe(tally.wrapperIncs);
  expect(sumInPlace).toBe(tally.inPlaceIncs);
  for (const users of [...writers, ...readers]) expect(users.stats.writeBackErrors).toBe(0);
}, 600_000);
