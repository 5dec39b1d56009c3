import { describe, expectTypeOf, test } from 'vitest';
import { z } from 'zod';
import type { Collection, Document, WithId } from 'mongodb';
import { defineSchema, versioned } from 'mongo-molt';

const Customer = defineSchema('customer')
  .version(1, z.object({ _id: z.string(), full_name: z.string() }))
  .version(
    2,
    z.object({
      _id: z.string(),
      display_name: z.string(),
      age: z.number().optional(),
      address: z.object({ city: z.string(), zip: z.string() }).optional(),
      tags: z.array(z.string()),
      orders: z.array(z.object({ sku: z.string(), qty: z.number() })),
      createdAt: z.date(),
    }),
    (v1) => ({ _id: v1._id, display_name: v1.full_name, tags: [], orders: [], createdAt: new Date(0) }),
  );

declare const raw: Collection<Document>;
const customers = versioned(raw, Customer);

// Never run: these lines are checked by the type checker only.
describe('filters are typed against the latest shape', () => {
  test('accepted', () => {
    void customers.find({ display_name: 'Ada', age: { $gte: 18 } });
    void customers.find({ 'address.city': 'Paris', tags: 'vip', 'tags.0': 'vip' });
    void customers.find({ 'orders.sku': 'A-1', 'orders.0.qty': { $gt: 1 }, orders: { $size: 2 } });
    void customers.find({ $or: [{ display_name: /^A/ }, { 'address.zip': { $in: ['75001'] } }] });
    void customers.findOne({ _id: 'a' });
    void customers.countDocuments({ createdAt: { $lt: new Date() } });
    void customers.deleteMany({ display_name: { $exists: true } });
    void customers.collection.find({ full_name: 'anything goes on the raw collection' });
  });

  test('refused', () => {
    // @ts-expect-error full_name is a field of version 1, not of the latest shape
    void customers.find({ full_name: 'Ada' });
    // @ts-expect-error misspelled field
    void customers.findOne({ dispaly_name: 'Ada' });
    // @ts-expect-error the version field is managed by the library
    void customers.find({ schemaVersion: 2 });
    // @ts-expect-error wrong type for the field
    void customers.find({ display_name: 42 });
    // @ts-expect-error wrong type on a dotted path
    void customers.find({ 'address.city': 42 });
    // @ts-expect-error unknown dotted path
    void customers.find({ 'address.town': 'Paris' });
    // @ts-expect-error unknown path inside an array of documents
    void customers.find({ 'orders.price': 3 });
    // @ts-expect-error old field inside $or
    void customers.find({ $or: [{ full_name: 'Ada' }] });
    // @ts-expect-error deleteMany by an old field would delete nothing
    void customers.deleteMany({ full_name: 'Ada' });
    // @ts-expect-error operator of the wrong type
    void customers.countDocuments({ age: { $gt: 'eighteen' } });
  });
});

describe('updates are typed against the latest shape', () => {
  test('accepted', () => {
    void customers.updateOne({ _id: 'a' }, { $set: { display_name: 'A', 'address.city': 'Paris' }, $inc: { age: 1 } });
    void customers.updateMany({}, { $push: { tags: 'vip', orders: { sku: 'x', qty: 1 } }, $unset: { age: 1 } });
    void customers.updateOne({ 'orders.sku': 'x' }, { $inc: { 'orders.$.qty': 1 }, $set: { 'orders.$[].sku': 'y' } });
    void customers.findOneAndUpdate({ _id: 'a' }, { $addToSet: { tags: { $each: ['a', 'b'] } }, $currentDate: { createdAt: true } });
    void customers.updateOne({ _id: 'a' }, [{ $set: { display_name: 'pipeline' } }]);
  });

  test('refused', () => {
    // @ts-expect-error $set of a wrongly typed dotted path
    void customers.updateOne({ _id: 'a' }, { $set: { 'address.city': 42 } });
    // @ts-expect-error $set of an old field
    void customers.updateOne({ _id: 'a' }, { $set: { full_name: 'A' } });
    // @ts-expect-error the version field is managed by the library
    void customers.updateMany({}, { $set: { schemaVersion: 1 } });
    // @ts-expect-error $inc of a string field
    void customers.updateOne({ _id: 'a' }, { $inc: { display_name: 1 } });
    // @ts-expect-error $push of a wrongly typed element
    void customers.updateOne({ _id: 'a' }, { $push: { tags: 3 } });
    // @ts-expect-error $push on a field that is not an array
    void customers.updateOne({ _id: 'a' }, { $push: { display_name: 'x' } });
    // @ts-expect-error unknown operator
    void customers.updateOne({ _id: 'a' }, { $sett: { display_name: 'A' } });
    // @ts-expect-error positional path with a wrong type
    void customers.updateOne({ _id: 'a' }, { $set: { 'orders.$.qty': 'many' } });
  });
});

describe('sorts are typed against the latest shape', () => {
  test('accepted', () => {
    void customers.find({}, { sort: { display_name: 1, 'address.city': -1 } });
    void customers.find({}).sort({ createdAt: 'desc' }).sort('display_name');
    void customers.updateOne({}, { $set: { age: 1 } }, { sort: { age: -1 } });
  });

  test('refused', () => {
    // @ts-expect-error sorting on an old field sorts on nothing
    void customers.find({}, { sort: { full_name: 1 } });
    // @ts-expect-error unknown field in cursor.sort
    void customers.find({}).sort({ nmae: 1 });
    // @ts-expect-error unknown field in updateOne's sort
    void customers.updateOne({}, { $set: { age: 1 } }, { sort: { full_name: 1 } });
  });
});

describe('projections type the documents returned', () => {
  test('inclusion, exclusion, and what cannot be known precisely', async () => {
    const one = await customers.findOne({}, { projection: { display_name: 1 } });
    expectTypeOf(one).toEqualTypeOf<{ _id: string; display_name: string } | null>();
    const noId = await customers.find({}, { projection: { display_name: 1, _id: 0 } }).toArray();
    expectTypeOf(noId).toEqualTypeOf<{ display_name: string }[]>();
    const excluded = await customers.findOne({}, { projection: { orders: 0, tags: false } });
    expectTypeOf(excluded).toEqualTypeOf<{ _id: string; display_name: string; age?: number; address?: { city: string; zip: string }; createdAt: Date } | null>();
    const dotted = await customers.findOne({}, { projection: { 'address.city': 1 } });
    expectTypeOf(dotted!.display_name).toEqualTypeOf<string | undefined>();
    const whole = await customers.findOne({});
    expectTypeOf(whole!.display_name).toEqualTypeOf<string>();
  });

  test('cursor.project types from the projection, not from a type argument', async () => {
    const projected = await customers.find({}).project({ tags: 1 }).toArray();
    expectTypeOf(projected).toEqualTypeOf<{ _id: string; tags: string[] }[]>();
    // @ts-expect-error a type argument that is not a field of the latest shape
    void customers.find({}).project<{ anything: number }>({ tags: 1 });
    // @ts-expect-error projecting an old field
    void customers.find({}).project({ full_name: 1 });
    // @ts-expect-error projecting an old field
    void customers.findOne({}, { projection: { full_name: 1 } });
    // @ts-expect-error projecting an old field
    void customers.find({}, { projection: { display_name: 1, full_name: 1 } });
  });
});

describe('findOneAnd* take no projection (the server would project the stored, un-upcast document)', () => {
  test('sorts typed, projections refused', () => {
    void customers.findOneAndUpdate({}, { $inc: { age: 1 } }, { sort: { age: -1 }, returnDocument: 'after' });
    void customers.findOneAndDelete({}, { sort: { createdAt: 1 } });
    void customers.findOneAndReplace({ _id: 'a' }, { display_name: 'A', tags: [], orders: [], createdAt: new Date() }, { upsert: false });
    // @ts-expect-error a projection would apply before the upcast
    void customers.findOneAndUpdate({}, { $inc: { age: 1 } }, { projection: { age: 1 } });
    // @ts-expect-error a projection would apply before the upcast
    void customers.findOneAndDelete({}, { projection: { age: 1 } });
    // @ts-expect-error a projection would apply before the upcast
    void customers.findOneAndReplace({ _id: 'a' }, { display_name: 'A', tags: [], orders: [], createdAt: new Date() }, { projection: { age: 1 } });
    // @ts-expect-error sorting on an old field
    void customers.findOneAndDelete({}, { sort: { full_name: 1 } });
  });
});

describe('distinct is typed like the driver', () => {
  test('keys and values', async () => {
    expectTypeOf(await customers.distinct('display_name')).toEqualTypeOf<string[]>();
    expectTypeOf(await customers.distinct('tags')).toEqualTypeOf<string[]>();
    expectTypeOf(await customers.distinct('age')).toEqualTypeOf<number[]>();
    expectTypeOf(await customers.distinct('orders.sku', { age: { $gt: 1 } })).toEqualTypeOf<string[]>();
    expectTypeOf(await customers.distinct('address.city')).toEqualTypeOf<string[]>();
    // @ts-expect-error an old field has no values in the latest shape
    void customers.distinct('full_name');
    // @ts-expect-error the filter is typed too
    void customers.distinct('tags', { full_name: 'x' });
  });
});

const Member = defineSchema('member')
  .version(1, z.object({ _id: z.string(), name: z.string(), nick: z.string().optional() }))
  .version(2, z.object({ _id: z.string(), name: z.string(), role: z.string().default('member'), score: z.number() }), (v1) => ({ _id: v1._id, name: v1.name, score: 0 }));

describe('defaults: read as present (they are filled in), optional on insert and replace', () => {
  const members = versioned(raw, Member);
  test('reads', async () => {
    expectTypeOf(await members.findOne({})).toEqualTypeOf<WithId<{ _id: string; name: string; role: string; score: number }> | null>();
  });
  test('writes', () => {
    void members.insertOne({ _id: 'a', name: 'A', score: 1 });
    void members.insertOne({ _id: 'a', name: 'A', score: 1, role: 'admin' });
    void members.replaceOne({ _id: 'a' }, { name: 'A', score: 2 });
    void members.findOneAndReplace({ _id: 'a' }, { name: 'A', score: 2 });
    // @ts-expect-error score has no default
    void members.insertOne({ _id: 'a', name: 'A' });
  });
});

describe('with writes pinned at an older version, update operators are typed against that version', () => {
  test('pinned at 1', () => {
    const pinned = versioned(raw, Member, { writeVersion: 1 });
    void pinned.updateOne({ _id: 'a' }, { $set: { nick: 'x' } });
    // @ts-expect-error score is not a field of version 1, where the update runs
    void pinned.updateOne({ _id: 'a' }, { $inc: { score: 1 } });
    // @ts-expect-error version 1 has no array to push to
    void pinned.updateOne({ _id: 'a' }, { $push: { nick: 'x' } });
    // @ts-expect-error neither is role
    void pinned.updateMany({}, { $set: { role: 'admin' } });
    // Reads and filters stay in the latest shape.
    void pinned.find({ score: { $gt: 1 } });
  });
  test('not pinned: the latest shape', () => {
    const latest = versioned(raw, Member);
    void latest.updateOne({ _id: 'a' }, { $inc: { score: 1 } });
    // @ts-expect-error nick is a field of version 1 only
    void latest.updateOne({ _id: 'a' }, { $set: { nick: 'x' } });
  });
});

const Nullable = defineSchema('nullable').version(
  1,
  z.object({ _id: z.string(), name: z.string(), email: z.string().nullable(), nick: z.string().optional(), alias: z.string().optional(), age: z.number().optional() }),
);
const nullable = versioned(raw, Nullable);

describe('$unset, $rename and $pull keep the document valid for the latest shape', () => {
  test('accepted', () => {
    void customers.updateOne({ _id: 'a' }, { $unset: { age: '' } });
    void customers.updateOne({ _id: 'a' }, { $unset: { address: 1 } });
    void customers.updateMany({}, { $pull: { tags: 'vip', orders: { qty: { $lt: 1 } } } });
    void customers.updateMany({}, { $pull: { tags: { $in: ['a', 'b'] } } });
    void nullable.updateOne({ _id: 'a' }, { $unset: { email: '' } });
    void nullable.updateMany({}, { $rename: { nick: 'alias' } });
  });

  test('refused', () => {
    // @ts-expect-error display_name is required: unsetting it stores a document the schema refuses
    void customers.updateOne({ _id: 'a' }, { $unset: { display_name: '' } });
    // @ts-expect-error a required field inside an optional one
    void customers.updateOne({ _id: 'a' }, { $unset: { 'address.city': '' } });
    // @ts-expect-error name is required, and fullName is not a field of the schema
    void nullable.updateMany({}, { $rename: { name: 'fullName' } });
    // @ts-expect-error nick may be missing, but fullName is not a field of the schema
    void nullable.updateMany({}, { $rename: { nick: 'fullName' } });
    // @ts-expect-error age is a number, alias a string
    void nullable.updateMany({}, { $rename: { age: 'alias' } });
    // @ts-expect-error $pull of a wrongly typed element
    void customers.updateMany({}, { $pull: { tags: 3 } });
    // @ts-expect-error $pull condition on an element field of the wrong type
    void customers.updateMany({}, { $pull: { orders: { sku: 3 } } });
    // @ts-expect-error $pull condition on an element field that does not exist
    void customers.updateMany({}, { $pull: { orders: { price: 3 } } });
  });
});

describe("cursor.project<Result>, the driver's spelling, and project after map", () => {
  test('a result type the projection yields compiles', async () => {
    expectTypeOf(await customers.find({}).project<{ display_name: string }>({ display_name: 1 }).toArray()).toEqualTypeOf<{ display_name: string }[]>();
    void customers.find({}).project<{ _id: string; tags: string[] }>({ tags: 1 });
    void customers.find({}).project<{ display_name: string; age?: number | undefined }>({ display_name: 1, age: 1, _id: 0 });
    void customers.find({}).project<{ display_name: string | null }>({ display_name: true });
  });

  test('a result type the projection does not yield is refused', () => {
    // @ts-expect-error the projection leaves display_name out
    void customers.find({}).project<{ display_name: string }>({ tags: 1 });
    // @ts-expect-error display_name is a string, not a number
    void customers.find({}).project<{ display_name: number }>({ display_name: 1 });
    // @ts-expect-error full_name is a field of version 1 only
    void customers.find({}).project<{ full_name: string }>({ full_name: 1 });
    // @ts-expect-error the projection excludes the _id the result needs
    void customers.find({}).project<{ _id: string; tags: string[] }>({ tags: 1, _id: 0 });
  });

  test('project after map does not compile (the projection would apply before the map)', async () => {
    expectTypeOf(await customers.find().project({ display_name: 1 }).map((c) => c.display_name).toArray()).toEqualTypeOf<string[]>();
    void customers.find().map((c) => c.display_name).sort({ age: 1 }).limit(1);
    // @ts-expect-error map has already changed the documents
    void customers.find().map((u) => u.display_name).project({ display_name: 1 });
    // @ts-expect-error in the driver's spelling too
    void customers.find().map((u) => u.display_name).project<{ display_name: string }>({ display_name: 1 });
  });
});
