/**
 * `_id`s of several BSON types in one collection (common after imports): every paginator walks
 * them all, in the server's order, across reopened cursors and resumed runs.
 */
import { Decimal128, Double, Int32, Long, ObjectId, type Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkMigration, defineSchema, sweep, SweepStatus, type SweepStateDocument } from '../src/index.js';
import { bracketOf, type IdRange } from '../src/sweeper/keyset.js';
import { KeysetPages } from '../src/sweeper/stale-pages.js';
import { useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('sweeper_keyset');

const Thing = defineSchema('thing')
  .version(1, z.object({ _id: z.unknown(), name: z.string() }))
  .version(2, z.object({ _id: z.unknown(), name: z.string(), size: z.number() }), (v1) => {
    if (v1.name === 'FAIL') throw new Error('cannot size "FAIL"');
    return { ...v1, size: v1.name.length };
  });

/** `_id`s of numbers (Int32, Double, Long, a NaN), strings, ObjectIds, dates and embedded objects, shuffled. */
function mixedIds(perType: number): unknown[] {
  const ids: unknown[] = [];
  for (let i = 0; i < perType; i++) {
    ids.push(new Int32(i * 3), new Double(i * 3 + 0.5), Long.fromNumber(i * 3 + 1));
    ids.push(`s${String(i).padStart(4, '0')}`, new ObjectId(), new Date(Date.UTC(2020, 0, 1 + i)), { k: i });
  }
  // Sorted first among numbers by MongoDB and FerretDB, last by mongo-java-server; no comparison bound matches it.
  ids.push(Decimal128.fromString('NaN'));
  return ids.sort(() => Math.random() - 0.5);
}

async function seed(name: string, ids: readonly unknown[], fail: (index: number) => boolean = () => false): Promise<void> {
  await db.collection(name).insertMany(ids.map((_id, index) => ({ _id, name: fail(index) ? 'FAIL' : `thing ${index}` }) as Document));
}

/** Every page read through a fresh cursor (as after an error, a dropped cursor or a resumed run). */
async function walk(name: string, batchSize: number, range?: IdRange): Promise<unknown[]> {
  const pages = new KeysetPages(db.collection(name), {}, batchSize, { range });
  const seen: unknown[] = [];
  let lastId: unknown = null;
  for (;;) {
    const page = await pages.next(lastId);
    await pages.close();
    seen.push(...page.map((doc) => doc._id));
    if (page.length < batchSize) return seen;
    lastId = page.at(-1)?._id;
  }
}

describe('the keyset paginator', () => {
  it('reopened after every page, walks every _id once, in the order the server sorts them', async () => {
    await seed('walk', mixedIds(5));
    const serverOrder = (await db.collection('walk').find().sort({ _id: 1 }).toArray()).map((doc) => doc._id);
    expect(serverOrder).toHaveLength(36);
    for (const batchSize of [1, 2, 3, 7]) expect(await walk('walk', batchSize)).toEqual(serverOrder);
    // The brackets come in BSON comparison order: numbers, strings, objects, ObjectIds, dates.
    const brackets = [...new Set(serverOrder.map(bracketOf))];
    expect(brackets).toEqual(['number', 'string', 'object', 'objectId', 'date']);
  });

  it('splits into _id ranges that together cover every _id once, whatever their types', async () => {
    await seed('ranges', mixedIds(4));
    const serverOrder = (await db.collection('ranges').find().sort({ _id: 1 }).toArray()).map((doc) => doc._id);
    // Bounds inside one bracket and on a bracket's first _id.
    const bounds = [serverOrder[5], serverOrder[12], serverOrder[20]];
    const ranges: IdRange[] = [{ to: bounds[0] }, { from: bounds[0], to: bounds[1] }, { from: bounds[1], to: bounds[2] }, { from: bounds[2] }];
    const parts = await Promise.all(ranges.map((range) => walk('ranges', 3, range)));
    expect(parts.map((part) => part.length)).toEqual([5, 7, 8, serverOrder.length - 20]);
    expect(parts.flat()).toEqual(serverOrder);
  });
});

describe('_ids of several BSON types', () => {
  it('checkMigration checks every stale document and finds every failure', async () => {
    const ids = mixedIds(3);
    await seed('check', ids, (index) => index % 5 === 0);
    const report = await checkMigration(db.collection('check'), Thing, { batchSize: 2 });
    expect(report.checked).toBe(ids.length);
    expect(report.failed).toBe(Math.ceil(ids.length / 5));
  });

  it('a sweep interrupted after every few batches and resumed migrates every document; the checkpoint records the type bracket', async () => {
    const ids = mixedIds(4);
    await seed('resume', ids, (index) => index === 3);
    const things = db.collection('resume');
    const statuses: string[] = [];
    for (let run = 0; run < 40; run++) {
      const controller = new AbortController();
      let batches = 0;
      const report = await sweep(things, Thing, { batchSize: 2, ratePerSecond: Infinity, pauseMs: 0, signal: controller.signal, onProgress: () => ++batches >= 3 && controller.abort() });
      statuses.push(report.status);
      if (report.status === SweepStatus.COMPLETE) break;
      const state = await db.collection<SweepStateDocument>('molt_state').findOne({});
      const checkpoint = state?.checkpoint;
      expect(checkpoint?.lastIdType).toBe(bracketOf(checkpoint?.lastId));
    }
    expect(statuses.at(-1)).toBe(SweepStatus.COMPLETE);
    expect(statuses.filter((status) => status === SweepStatus.COMPLETE)).toHaveLength(1);
    expect(await things.countDocuments({ schemaVersion: 2 })).toBe(ids.length - 1);
  });
});
