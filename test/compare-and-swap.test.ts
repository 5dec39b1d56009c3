/**
 * The compare-and-swap of every write made from a document read: it sees any change made between
 * the read and the write (forced here at that exact point by an async step; the sweep then
 * migrates the changed document, the change kept), it never misses a
 * document that did not change (a document whose compare-and-swap can never match would be
 * skipped forever), documents near the size limit still migrate, and an update reaches each
 * document once however other writers move it between versions.
 */
import { BSON, type Collection, type Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineSchema, restore, step, sweep, versioned } from 'mongo-molt';
import { useTestDatabase } from './support/database.js';
import { ownView } from '../src/server/index.js';

const { db } = useTestDatabase('compare_and_swap');
const fast = { ratePerSecond: Infinity, pauseMs: 0, mode: 'client' } as const;
const AS_STORED = { promoteValues: false, promoteLongs: false, bsonRegExp: true } as const;

type Raw = { _id: string; [field: string]: unknown };

/** A schema whose only step runs `between` once, after the document was read and before it is written. */
function withHook(name: string, between: () => Promise<unknown>) {
  let fired = false;
  return defineSchema(name)
    .version(1, z.looseObject({ _id: z.string() }))
    .version(2, z.looseObject({ _id: z.string() }), async (doc) => {
      if (!fired) {
        fired = true;
        await between();
      }
      return { ...doc };
    });
}

describe('a write made between the read and the compare-and-swap is never overwritten', () => {
  const cases: [string, Document, Document][] = [
    ['a scalar turned into an array holding it', { tag: 'a' }, { $set: { tag: ['a', 'b'] } }],
    ['a null field removed and another added', { a: null, b: 1 }, { $unset: { a: '' }, $set: { c: 'NEW' } }],
    ['an element pushed into an array', { tags: ['a'] }, { $push: { tags: 'b' } }],
    ['a nested field changed', { deep: { x: { y: 1 } } }, { $set: { 'deep.x.y': 2 } }],
  ];
  for (const [label, seed, change] of cases) {
    it(label, async () => {
      const coll = db.collection<Raw>(`raced_${label.replace(/\W+/g, '_')}`);
      await coll.insertOne({ _id: 'x', ...seed, schemaVersion: 1 });
      const S = withHook(`raced_${label}`, () => coll.updateOne({ _id: 'x' }, change));
      const report = await sweep(coll, S, { ...fast, stateCollection: `state_${coll.collectionName}` });
      // The write lost its race, so the document was read again (with the change) and migrated again in the same pass.
      expect(report).toMatchObject({ status: 'complete', migrated: 1, skipped: 0 });
      const after = await coll.findOne({ _id: 'x' });
      const expected = { _id: 'x', ...seed, schemaVersion: 1 };
      await coll.insertOne({ ...expected, _id: 'y' });
      await coll.updateOne({ _id: 'y' }, change);
      expect(after).toEqual({ ...(await coll.findOne({ _id: 'y' })), _id: 'x', schemaVersion: 2 });
    });
  }
});

describe('a document that did not change always matches its compare-and-swap', () => {
  const shapes: [string, Document][] = [
    ['a regular expression nested in a document', { rule: { pattern: new BSON.BSONRegExp('^a', 'i') } }],
    ['regular expressions in an array', { patterns: [new BSON.BSONRegExp('^a', ''), new BSON.BSONRegExp('b$', 'm')] }],
    ['a regular expression at the top', { re: new BSON.BSONRegExp('x+', 'i') }],
    ['empty and nested arrays, nulls', { a: [], b: [[1, 2], []], c: null, d: { e: [] } }],
    ['a large array (a scan per element on some servers)', { big: Array.from({ length: 5_000 }, (_, i) => i) }],
  ];
  for (const [label, fields] of shapes) {
    it(`${label}: swept, written back and updated`, async () => {
      const coll = db.collection<Raw>(`live_${label.replace(/\W+/g, '_')}`);
      await coll.insertMany(['s', 'w', 'u'].map((id) => ({ _id: id, ...fields, schemaVersion: 1 })));
      const S = defineSchema(`live_${label}`).version(1, z.looseObject({ _id: z.string() })).version(2, z.looseObject({ _id: z.string(), n: z.number() }), (doc) => ({ ...doc, n: 0 }));
      const writeBack = versioned(coll, S, { writeBackOnRead: true });
      await writeBack.findOne({ _id: 'w' });
      await writeBack.close();
      await versioned(coll, S).updateOne({ _id: 'u' }, { $inc: { n: 1 } } as never);
      expect(await sweep(coll, S, { ...fast, stateCollection: `state_${coll.collectionName}` })).toMatchObject({ status: 'complete', migrated: 1, skipped: 0, remaining: 0 });
      const stored = await coll.find({}, AS_STORED).sort({ _id: 1 }).toArray();
      expect(stored.map((doc) => [doc._id, Number(doc.schemaVersion), Number(doc.n)])).toEqual([['s', 2, 0], ['u', 2, 1], ['w', 2, 0]]);
    });
  }

  it('a document of 9 MiB migrates (the filter compares its large fields by size), and does not stop the sweep of the others', async () => {
    const coll = db.collection<Raw>('huge');
    await coll.insertMany([
      { _id: 'a', n: 0, schemaVersion: 1 },
      { _id: 'm', n: 0, blob: 'x'.repeat(9 * 1024 * 1024), schemaVersion: 1 },
      { _id: 'z', n: 0, schemaVersion: 1 },
    ]);
    const S = defineSchema('huge')
      .version(1, z.looseObject({ _id: z.string(), n: z.number() }))
      .version(2, z.looseObject({ _id: z.string(), n: z.number(), tags: z.array(z.string()) }), (doc) => ({ ...doc, tags: [] }));
    expect(await sweep(coll, S, { ...fast, batchSize: 1 })).toMatchObject({ status: 'complete', migrated: 3, failed: 0 });
    await versioned(coll, S).updateOne({ _id: 'm' }, { $inc: { n: 1 } } as never);
    expect(await coll.find({}, { projection: { blob: 0 } }).sort({ _id: 1 }).toArray()).toEqual([
      { _id: 'a', n: 0, tags: [], schemaVersion: 2 },
      { _id: 'm', n: 1, tags: [], schemaVersion: 2 },
      { _id: 'z', n: 0, tags: [], schemaVersion: 2 },
    ]);
  }, 60_000);
});

describe('steps receive copies: a step editing a Date in place is applied once, and stored', () => {
  const V1 = z.object({ _id: z.string(), day: z.date() });
  const V2 = z.object({ _id: z.string(), day: z.date(), truncated: z.literal(true) });
  const Day = defineSchema('day')
    .version(1, V1)
    .version(2, V2, (doc) => {
      doc.day.setUTCHours(0, 0, 0, 0);
      return { ...doc, truncated: true as const };
    })
    .version(3, V2.extend({ note: z.string() }), { up: (doc) => ({ ...doc, note: '' }), down: ({ note: _note, ...doc }) => doc });
  const seed = async (name: string): Promise<Collection<Raw>> => {
    const coll = db.collection<Raw>(name);
    await coll.insertOne({ _id: 'x', day: new Date('2026-05-06T17:45:00Z'), schemaVersion: 1 });
    return coll;
  };
  const midnight = new Date('2026-05-06T00:00:00Z');

  it('on a client sweep, an update, and write-backs at the latest and a pinned version', async () => {
    const swept = await seed('day_sweep');
    await sweep(swept, Day, fast);
    const updated = await seed('day_update');
    await versioned(updated, Day).updateOne({ _id: 'x' }, { $set: { note: 'n' } });
    const latest = await seed('day_latest');
    const reader = versioned(latest, Day, { writeBackOnRead: true });
    expect(await reader.findOne({ _id: 'x' })).toMatchObject({ day: midnight });
    await reader.close();
    const pinnedColl = await seed('day_pinned');
    const pinned = versioned(pinnedColl, Day, { writeBackOnRead: true, writeVersion: 2 });
    await pinned.findOne({ _id: 'x' });
    await pinned.close();
    for (const [coll, version] of [[swept, 3], [updated, 3], [latest, 3], [pinnedColl, 2]] as const) {
      expect(await coll.findOne({ _id: 'x' }), coll.collectionName).toMatchObject({ day: midnight, truncated: true, schemaVersion: version });
    }
  });
});

describe('restore after a lossy migration of a changed document', () => {
  it('skips and names it, even when the second migration stores the same bytes as the first', async () => {
    const coll = db.collection<Raw>('lossy_restore');
    const S = defineSchema('lossy')
      .version(1, z.object({ _id: z.string(), name: z.string(), legacyCode: z.number() }))
      .version(2, z.object({ _id: z.string(), name: z.string() }), { up: ({ legacyCode: _drop, ...rest }) => rest, down: (v2) => ({ ...v2, legacyCode: 0 }) });
    await coll.insertOne({ _id: 'x', name: 'n', legacyCode: 1, schemaVersion: 1 });
    await sweep(coll, S, { ...fast, archive: true });
    // The app, still at version 1, changes the field the step drops.
    await versioned(coll, S, { writeVersion: 1 }).updateOne({ _id: 'x' }, { $set: { legacyCode: 2 } });
    await sweep(coll, S, { ...fast, archive: true });
    expect(await restore(coll)).toMatchObject({ restored: 0, skipped: 1, skippedIds: ['x'] });
    expect(await coll.findOne({ _id: 'x' })).toEqual({ _id: 'x', name: 'n', schemaVersion: 2 });
  });
});

describe('updateMany reaches each document once', () => {
  const S = defineSchema('many')
    .version(1, z.object({ _id: z.string(), count: z.number(), name: z.string() }))
    .version(2, z.object({ _id: z.string(), count: z.number(), display: z.string() }), [step.rename('name', 'display')])
    .version(3, z.object({ _id: z.string(), count: z.number(), display: z.string(), tags: z.array(z.string()) }), [step.add('tags', [])]);

  for (const [label, writeVersion, to] of [
    ['pinned at 2, while a sweep moves the documents it updated forward', 2, 3],
    ['at the latest, while a reverse sweep moves them back', 3, 1],
  ] as const) {
    it(label, async () => {
      const coll = db.collection<Raw>(`many_${writeVersion}`);
      await coll.insertMany(['x', 'y'].map((id) => ({ _id: id, count: 0, display: id, ...(writeVersion === 3 ? { tags: [] } : {}), schemaVersion: writeVersion })));
      // The other writer runs right after the server answered the update's first write command (the
      // real collection's methods, timed: the race is forced, not mocked). updateMany sends its
      // updates as one bulk write, or one updateOne per document where the server needs that, on
      // the library's own view of the collection (`ownView`: the app's BSON options left out).
      let raced = false;
      const own = ownView(coll);
      for (const method of ['updateMany', 'bulkWrite', 'updateOne'] as const) {
        const send = (own[method] as (...args: unknown[]) => Promise<unknown>).bind(own);
        (own as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
          const result = await send(...args);
          if (!raced) {
            raced = true;
            await sweep(coll, S, { ...fast, to, stateCollection: `state_many_${writeVersion}` });
          }
          return result;
        };
      }
      await versioned(coll, S, { writeVersion }).updateMany({}, { $inc: { count: 1 } });
      expect(raced).toBe(true);
      expect((await coll.find({}).sort({ _id: 1 }).toArray()).map((doc) => doc.count)).toEqual([1, 1]);
    });
  }
});
