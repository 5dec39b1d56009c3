/**
 * Stored bytes change only where a step changes them: on every path that writes a document it
 * read (client sweep, reverse sweep, write-back, pinned write-back, update-time migration,
 * restore), a field no step touches keeps its BSON type and value, and a step that edits its
 * input in place is applied once. Documents are compared as stored (`promoteValues: false`), as
 * BSON bytes.
 */
import { BSON, type Document } from 'mongodb';
import { describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { defineSchema, restore, step, sweep, versioned } from 'mongo-molt';
import { useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('exact_storage');
const fast = { ratePerSecond: Infinity, pauseMs: 0, mode: 'client' } as const;
const AS_STORED = { promoteValues: false, promoteLongs: false, bsonRegExp: true } as const;

const Untouched = {
  amount: z.number(),
  big: z.number(),
  small: z.number(),
  meta: z.object({ weight: z.number(), label: z.string() }),
  scores: z.array(z.number()),
  neg: z.number(),
};
const V1 = z.object({ _id: z.string(), full_name: z.string(), ...Untouched });
const V2 = z.object({ _id: z.string(), display_name: z.string(), ...Untouched });
const V3 = z.object({ _id: z.string(), display_name: z.string(), tags: z.array(z.string()), ...Untouched });
const Item = defineSchema('item')
  .version(1, V1)
  .version(2, V2, [step.rename('full_name', 'display_name')])
  .version(3, V3, { up: (v2) => ({ ...v2, tags: [] }), down: ({ tags: _tags, ...v2 }) => v2 });

/** Fields no step touches, each of a numeric BSON type a JavaScript number would not round-trip as. */
function untouched(i: number): Document {
  return {
    amount: new BSON.Double(5),
    big: BSON.Long.fromNumber(3e9),
    small: BSON.Long.fromNumber(5),
    meta: { weight: new BSON.Double(2), label: `m${i}` },
    scores: [new BSON.Double(1), new BSON.Int32(2), BSON.Long.fromNumber(7)],
    neg: new BSON.Double(-0),
  };
}

function staleDoc(i: number): Document {
  return { _id: `d${i}`, full_name: `Name ${i}`, ...untouched(i), schemaVersion: 1 };
}

/** The untouched fields of a stored document, as BSON bytes. */
function untouchedBytes(doc: Document | null): string {
  if (doc === null) throw new Error('document not found');
  const picked = Object.fromEntries(Object.keys(Untouched).map((key) => [key, doc[key] as unknown]));
  return Buffer.from(BSON.serialize(picked)).toString('hex');
}

async function seed(name: string, count = 6): Promise<{ coll: ReturnType<typeof db.collection>; expected: string[] }> {
  const coll = db.collection(name);
  const docs = Array.from({ length: count }, (_, i) => staleDoc(i));
  await coll.insertMany(docs);
  return { coll, expected: docs.map((doc) => untouchedBytes(doc)) };
}

async function expectUntouched(coll: ReturnType<typeof db.collection>, expected: string[], version: number): Promise<void> {
  const stored = await coll.find({}, AS_STORED).sort({ _id: 1 }).toArray();
  expect(stored.map((doc) => Number(doc.schemaVersion))).toEqual(expected.map(() => version));
  expect(stored.map((doc) => untouchedBytes(doc))).toEqual(expected);
}

describe('fields no step touches keep their BSON type and value', () => {
  it('through a client sweep forward, then a reverse sweep', async () => {
    const { coll, expected } = await seed('sweeps');
    expect(await sweep(coll, Item, fast)).toMatchObject({ status: 'complete', migrated: 6 });
    await expectUntouched(coll, expected, 3);
    expect(await sweep(coll, Item, { ...fast, to: 1 })).toMatchObject({ status: 'complete', migrated: 6 });
    await expectUntouched(coll, expected, 1);
  });

  it('through write-back on read, at the latest and at a pinned write version', async () => {
    const { coll, expected } = await seed('write_back');
    const latest = versioned(coll, Item, { writeBackOnRead: true });
    expect(await latest.find({}).toArray()).toHaveLength(6);
    await latest.close();
    await expectUntouched(coll, expected, 3);

    const pinnedColl = (await seed('pinned_write_back')).coll;
    await pinnedColl.updateMany({}, { $unset: { schemaVersion: '' } });
    const pinned = versioned(pinnedColl, Item, { writeBackOnRead: true, writeVersion: 2 });
    expect(await pinned.findOne({ _id: 'd1' })).toMatchObject({ display_name: 'Name 1', tags: [] });
    await pinned.find({}).toArray();
    await pinned.close();
    // Documents without a version field are written back at the pinned version, as read.
    await expectUntouched(pinnedColl, expected, 2);
  });

  it('through the migration an update makes first', async () => {
    const { coll, expected } = await seed('updates');
    const items = versioned(coll, Item);
    await items.updateMany({}, { $set: { tags: ['t'] } });
    await expectUntouched(coll, expected, 3);
  });

  it('and restore puts the archived original back byte for byte', async () => {
    const { coll } = await seed('restore');
    const originals = await coll.find({}, AS_STORED).sort({ _id: 1 }).toArray();
    expect(await sweep(coll, Item, { ...fast, archive: true, archiveCollection: 'restore_archive' })).toMatchObject({ status: 'complete', migrated: 6 });
    expect(await restore(coll, { archiveCollection: 'restore_archive' })).toMatchObject({ restored: 6, skipped: 0 });
    const back = await coll.find({}, AS_STORED).sort({ _id: 1 }).toArray();
    // mongo-java-server keeps the field order of the document a replacement replaces (MongoDB and
    // FerretDB store the replacement as sent): there, the same fields, types and values, in any order.
    const javaOrder = inject('serverFeatures').kind === 'mongo-java-server';
    if (javaOrder) process.stderr.write('[exact-storage] mongo-java-server reorders replaced documents: restore compared field by field, not byte for byte\n');
    const bytes = (doc: Document) => Buffer.from(BSON.serialize(javaOrder ? Object.fromEntries(Object.entries(doc).sort(([a], [b]) => a.localeCompare(b))) : doc)).toString('hex');
    expect(back.map(bytes)).toEqual(originals.map(bytes));
  });
});

// A function step that edits its input in place (as a hurried upcaster does).
const Order = defineSchema('order')
  .version(1, z.object({ _id: z.string(), total: z.object({ amount: z.number() }) }))
  .version(2, z.object({ _id: z.string(), total: z.object({ amount: z.number(), cents: z.literal(true) }) }), {
    up: (v1) => {
      (v1.total as { amount: number }).amount *= 100;
      return { ...v1, total: { ...v1.total, cents: true as const } };
    },
    down: (v2) => ({ _id: v2._id, total: { amount: v2.total.amount / 100 } }),
  })
  .version(3, z.object({ _id: z.string(), total: z.object({ amount: z.number(), cents: z.literal(true) }), note: z.string() }), {
    up: (v2) => ({ ...v2, note: '' }),
    down: ({ note: _note, ...v2 }) => v2,
  });

describe('a step that edits its input in place is applied once', () => {
  it('on write-back at a pinned write version', async () => {
    const coll = db.collection<Document>('in_place_pinned');
    await coll.insertMany([{ _id: 'o1', total: { amount: 5 } }] as never[]);
    const orders = versioned(coll, Order, { writeBackOnRead: true, writeVersion: 2 });
    expect(await orders.findOne({ _id: 'o1' })).toMatchObject({ total: { amount: 500, cents: true } });
    await orders.close();
    expect(await coll.findOne({ _id: 'o1' as never })).toEqual({ _id: 'o1', total: { amount: 500, cents: true }, schemaVersion: 2 });
  });

  it('on write-back at the latest version, on an update, and in a sweep, which completes', async () => {
    const coll = db.collection<Document>('in_place_paths');
    await coll.insertMany([1, 2, 3].map((i) => ({ _id: `o${i}`, total: { amount: 5 }, schemaVersion: 1 })) as never[]);
    // `compareOn: 'document'` (the default): the compare-and-swap must compare what was stored, not the edited input.
    const orders = versioned(coll, Order, { writeBackOnRead: true, compareOn: 'document' });
    expect(await orders.findOne({ _id: 'o1' })).toMatchObject({ total: { amount: 500 } });
    await orders.close();
    await versioned(coll, Order, { compareOn: 'document' }).updateOne({ _id: 'o2' }, { $set: { note: 'n' } });
    expect(await sweep(coll, Order, { ...fast, compareOn: 'document' })).toMatchObject({ status: 'complete', migrated: 1, remaining: 0 });
    const stored = await coll.find({}).sort({ _id: 1 }).toArray();
    expect(stored.map((doc) => (doc.total as { amount: number }).amount)).toEqual([500, 500, 500]);
    expect(stored.map((doc) => doc.schemaVersion)).toEqual([3, 3, 3]);
  });
});
