/**
 * Stored bytes change only where a step changes them, for every declarative step and every write
 * path, over generated documents: numbers of every BSON type (Double incl. -0, integral and
 * non-finite values, Int32, Long incl. beyond 2^53, Decimal128) at top level, nested, in arrays,
 * moved by `step.rename`, carried by `step.convert` (its untouched parts), next to `step.add` and
 * `step.remove`; `_id`s of several BSON types. The oracle is the document as it was stored, laid out
 * at the new version's paths: every value no step changed has its original bytes; a value a step
 * changed has the value the read path (`migrate`) gives.
 */
import fc from 'fast-check';
import { BSON, type Collection, type Document } from 'mongodb';
import { describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { defineSchema, restore, step, sweep, versioned } from 'mongo-molt';
import { useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('exact_storage_moves');
const fast = { ratePerSecond: Infinity, pauseMs: 0, mode: 'client' } as const;
const AS_STORED = { promoteValues: false, promoteLongs: false, bsonRegExp: true } as const;
const RUNS = Number(process.env.MOLT_EXACT_STORAGE_RUNS ?? 8);

/** Any numeric BSON value (the schema takes it as is: this file is about storage, not validation). */
const num = z.unknown();
const V1 = z.object({ _id: z.unknown(), a: num, nested: z.object({ x: num, keep: num }), list: z.array(num), conv: z.object({ cents: z.number(), side: num }), label: z.string() });
const V2 = z.object({ _id: z.unknown(), b: num, nested: z.object({ y: num, keep: num }), items: z.array(num), extra: z.number(), price: z.object({ cents: z.number(), side: num }), label: z.string() });
const V3 = V2.extend({ tags: z.array(z.string()) });
const Moved = defineSchema('moved')
  .version(1, V1)
  .version(2, V2, [
    step.rename('a', 'b'),
    step.rename('nested.x', 'nested.y'),
    step.rename('list', 'items'),
    step.add('extra', 0),
    step.convert('conv', 'price', {
      up: (conv: { cents: number; side: unknown }) => ({ ...conv, cents: conv.cents * 100 }),
      down: (price: { cents: number; side: unknown }) => ({ ...price, cents: price.cents / 100 }),
    }),
  ])
  .version(3, V3, { up: (v2) => ({ ...v2, tags: [] }), down: ({ tags: _tags, ...v2 }) => v2 });

// `step.remove` cannot be undone: its own schema, on the forward paths.
const Removed = defineSchema('removed')
  .version(1, z.object({ _id: z.unknown(), a: num, gone: num, nested: z.object({ x: num, keep: num }) }))
  .version(2, z.object({ _id: z.unknown(), b: num, nested: z.object({ keep: num }), note: z.string().optional() }), [step.remove('gone'), step.remove('nested.x'), step.rename('a', 'b')]);

const numeric: fc.Arbitrary<unknown> = fc.oneof(
  fc.double({ noNaN: true }).map((value) => new BSON.Double(value)),
  fc.integer({ min: -1000, max: 1000 }).map((value) => new BSON.Double(value)),
  fc.constant(new BSON.Double(-0)),
  fc.integer().map((value) => new BSON.Int32(value)),
  fc.integer({ min: -1000, max: 1000 }).map((value) => BSON.Long.fromNumber(value)),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((value) => BSON.Long.fromBigInt(value)),
  fc.tuple(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.integer({ min: 0, max: 6 })).map(([digits, scale]) => BSON.Decimal128.fromString(scale === 0 ? `${digits}` : `${digits}E-${scale}`)),
);
/** Cents go through `* 100` and back: integral numbers, as Double (incl. -0) or Int32. */
const cents = fc.oneof(fc.integer({ min: -1000, max: 1000 }).map((value) => new BSON.Double(value)), fc.constant(new BSON.Double(-0)), fc.integer({ min: -1000, max: 1000 }).map((value) => new BSON.Int32(value)));
const fields = fc.record({ a: numeric, x: numeric, keep: numeric, list: fc.array(numeric, { maxLength: 3 }), cents, side: numeric, gone: numeric });
const idKinds = fc.constantFrom('string', 'int', 'objectId', 'double');

function idOf(kind: string, index: number): unknown {
  if (kind === 'int') return new BSON.Int32(index);
  if (kind === 'double') return new BSON.Double(index + 0.5);
  if (kind === 'objectId') return BSON.ObjectId.createFromTime(1_700_000_000 + index);
  return `d${index}`;
}

type Generated = { a: unknown; x: unknown; keep: unknown; list: unknown[]; cents: unknown; side: unknown; gone: unknown };
const movedV1 = (id: unknown, f: Generated): Document => ({ _id: id, a: f.a, nested: { x: f.x, keep: f.keep }, list: f.list, conv: { cents: f.cents, side: f.side }, label: 'l', schemaVersion: 1 });
const removedV1 = (id: unknown, f: Generated): Document => ({ _id: id, a: f.a, gone: f.gone, nested: { x: f.x, keep: f.keep }, schemaVersion: 1 });

/** A value's bytes, its BSON type included. */
const bytes = (value: unknown) => Buffer.from(BSON.serialize({ value })).toString('hex');

/** What no step changed, laid out at version 2 or 3 (moved) or 1 (back), from the original as stored. */
function untouchedAt(original: Document, version: number): Record<string, unknown> {
  const nested = original.nested as Document;
  const conv = original.conv as Document | undefined;
  if (conv === undefined) return { _id: original._id, b: original.a, 'nested.keep': nested.keep };
  if (version === 1) return { _id: original._id, a: original.a, 'nested.x': nested.x, 'nested.keep': nested.keep, list: original.list, 'conv.side': conv.side, label: original.label };
  return { _id: original._id, b: original.a, 'nested.y': nested.x, 'nested.keep': nested.keep, items: original.list, 'price.side': conv.side, label: original.label };
}

function at(doc: Document, path: string): unknown {
  return path.split('.').reduce<unknown>((value, key) => (value as Document | undefined)?.[key], doc);
}

/** Every stored document: untouched values byte for byte, the whole document as the read path gives it. */
async function expectExact(coll: Collection<Document>, originals: readonly Document[], version: number, schema: typeof Moved | typeof Removed, ignore: readonly string[] = []): Promise<void> {
  const stored = await coll.find({}, AS_STORED).toArray();
  expect(stored).toHaveLength(originals.length);
  for (const original of originals) {
    const doc = stored.find((candidate) => bytes(candidate._id) === bytes(original._id));
    if (doc === undefined) throw new Error(`document ${bytes(original._id)} is gone`);
    expect(Number(doc.schemaVersion)).toBe(version);
    const expected = untouchedAt(original, version);
    const paths = Object.keys(expected).filter((path) => !ignore.includes(path));
    expect(Object.fromEntries(paths.map((path) => [path, bytes(at(doc, path))]))).toEqual(Object.fromEntries(paths.map((path) => [path, bytes(expected[path])])));
    // The rest (what steps changed) is what the read path gives, as values.
    const read = (await schema.migrate(BSON.deserialize(BSON.serialize(original)), { to: version })).value as Document;
    const { schemaVersion: _version, ...value } = BSON.deserialize(BSON.serialize(doc));
    for (const path of ignore) delete value[path];
    for (const path of ignore) delete read[path];
    expect(value).toEqual(read);
  }
}

let counter = 0;
async function seeded(docs: readonly Document[]): Promise<Collection<Document>> {
  const coll = db.collection<Document>(`c${++counter}`);
  await coll.insertMany(docs.map((doc) => ({ ...doc })));
  return coll;
}

const datasets = fc.array(fc.tuple(idKinds, fields), { minLength: 1, maxLength: 4 });
const build = (rows: readonly [string, Generated][], make: (id: unknown, f: Generated) => Document) => rows.map(([kind, f], index) => make(idOf(kind, index), f));

describe('a value a declarative step moved keeps its BSON type, on every write path', () => {
  it('client sweep forward, then reverse sweep', async () => {
    await fc.assert(fc.asyncProperty(datasets, async (rows) => {
      const originals = build(rows, movedV1);
      const coll = await seeded(originals);
      expect(await sweep(coll, Moved, fast)).toMatchObject({ status: 'complete', migrated: originals.length });
      await expectExact(coll, originals, 3, Moved);
      expect(await sweep(coll, Moved, { ...fast, to: 1 })).toMatchObject({ status: 'complete', migrated: originals.length });
      await expectExact(coll, originals, 1, Moved);
    }), { numRuns: RUNS });
  }, 240_000);

  it('write-back on read, at the latest version and at a pinned write version', async () => {
    await fc.assert(fc.asyncProperty(datasets, async (rows) => {
      const originals = build(rows, movedV1);
      const latestColl = await seeded(originals);
      const latest = versioned(latestColl, Moved, { writeBackOnRead: true });
      await latest.find({}).toArray();
      await latest.close();
      await expectExact(latestColl, originals, 3, Moved);

      const pinnedColl = await seeded(originals);
      const pinned = versioned(pinnedColl, Moved, { writeBackOnRead: true, writeVersion: 2 });
      await pinned.find({}).toArray();
      await pinned.close();
      await expectExact(pinnedColl, originals, 2, Moved);
    }), { numRuns: RUNS });
  }, 240_000);

  it('the migration an update makes first', async () => {
    await fc.assert(fc.asyncProperty(datasets, async (rows) => {
      const originals = build(rows, movedV1);
      const coll = await seeded(originals);
      await versioned(coll, Moved).updateMany({}, { $set: { tags: ['t'] } });
      await expectExact(coll, originals, 3, Moved, ['tags']);
    }), { numRuns: RUNS });
  }, 240_000);

  it('restore puts every archived original back byte for byte', async () => {
    // mongo-java-server keeps the field order of the document a replacement replaces: there, compared field by field.
    const javaOrder = inject('serverFeatures').kind === 'mongo-java-server';
    const sorted = (doc: Document): Document => Object.fromEntries(Object.entries(doc).sort(([a], [b]) => a.localeCompare(b)));
    await fc.assert(fc.asyncProperty(datasets, async (rows) => {
      const originals = build(rows, movedV1);
      const coll = await seeded(originals);
      const archiveCollection = `${coll.collectionName}_archive`;
      expect(await sweep(coll, Moved, { ...fast, archive: true, archiveCollection })).toMatchObject({ status: 'complete' });
      expect(await restore(coll, { archiveCollection })).toMatchObject({ restored: originals.length, skipped: 0 });
      const back = await coll.find({}, AS_STORED).toArray();
      const key = (doc: Document) => bytes(javaOrder ? sorted(doc) : doc);
      expect(back.map(key).sort()).toEqual(originals.map(key).sort());
    }), { numRuns: RUNS });
  }, 240_000);

  it('step.remove next to a rename: what stays keeps its type (sweep, write-back, update)', async () => {
    await fc.assert(fc.asyncProperty(datasets, async (rows) => {
      const originals = build(rows, removedV1);
      const swept = await seeded(originals);
      expect(await sweep(swept, Removed, fast)).toMatchObject({ status: 'complete', migrated: originals.length });
      await expectExact(swept, originals, 2, Removed);
      const read = await seeded(originals);
      const reader = versioned(read, Removed, { writeBackOnRead: true });
      await reader.find({}).toArray();
      await reader.close();
      await expectExact(read, originals, 2, Removed);
      const updated = await seeded(originals);
      await versioned(updated, Removed).updateMany({}, { $set: { note: 'n' } });
      await expectExact(updated, originals, 2, Removed, ['note']);
    }), { numRuns: RUNS });
  }, 240_000);
});
