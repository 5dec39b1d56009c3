/**
 * Query translation follows the read path exactly, or refuses: each case here is a stored form the
 * read path handles (a default filled in, a step's target already present, its source missing, a
 * value the conversion cannot take, a function step) on which a wrapper method used to answer wrongly.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Decimal128, type Collection } from 'mongodb';
import { defineSchema, QueryTranslationError, step, versioned } from 'mongo-molt';
import { useTestDatabase } from './support/database.js';

const t = useTestDatabase('translation_exact');
interface Raw { _id: string; [field: string]: unknown }
let raw: Collection<Raw>;
let counter = 0;
beforeEach(() => {
  raw = t.db.collection<Raw>(`c_${++counter}`);
});
const ids = (docs: readonly { _id: unknown }[]) => docs.map((doc) => doc._id).sort();

describe('defaults the read path fills in', () => {
  const Task = defineSchema('task')
    .version(1, z.object({ _id: z.string(), title: z.string(), meta: z.object({}).optional() }))
    .version(2, z.object({
      _id: z.string(),
      name: z.string(),
      status: z.enum(['open', 'done']).default('open'),
      meta: z.object({ prio: z.number().default(1) }).optional(),
    }), [step.rename('title', 'name')]);

  beforeEach(async () => {
    await raw.insertMany([
      { _id: 't1', title: 'a', meta: {} },
      { _id: 't2', name: 'b', status: 'done', meta: { prio: 2 }, schemaVersion: 2 },
      { _id: 't3', title: 'c' },
    ]);
  });

  it('match old documents that lack the field, at any depth (find, count, updateMany, deleteMany)', async () => {
    const tasks = versioned(raw, Task);
    expect(ids(await tasks.find({ status: 'open' }).toArray())).toEqual(['t1', 't3']);
    expect(await tasks.countDocuments({ status: { $exists: false } })).toBe(0);
    expect(ids(await tasks.find({ 'meta.prio': 1 }).toArray())).toEqual(['t1']);
    expect(ids(await tasks.find({ 'meta.prio': { $exists: false } }).toArray())).toEqual(['t3']);
    expect(await tasks.updateMany({ status: 'open' }, { $set: { name: 'x' } })).toMatchObject({ matchedCount: 2 });
    expect(await tasks.deleteMany({ status: { $ne: 'open' } })).toMatchObject({ deletedCount: 1 });
    expect(ids(await raw.find({}).toArray())).toEqual(['t1', 't3']);
  });

  it('a sort on a field whose default is filled in is refused', () => {
    expect(() => versioned(raw, Task).find({}).sort({ status: 1 })).toThrow(QueryTranslationError);
  });
});

describe("a step's target already present without its source", () => {
  const User = defineSchema('user')
    .version(1, z.object({ _id: z.string(), full_name: z.string(), price: z.string().optional() }))
    .version(2, z.object({ _id: z.string(), display_name: z.string(), priceCents: z.number().optional() }), [
      step.rename('full_name', 'display_name'),
      step.convert('price', 'priceCents', { up: (s: string) => Number(s) * 100, upExpr: { $multiply: [{ $toDouble: '$price' }, 100] } }),
    ]);

  it('is read as it is stored, and found so (rename and convert)', async () => {
    // A half-run manual migration: the new names, no version field.
    await raw.insertMany([{ _id: 'g', display_name: 'Grace', priceCents: 500 }, { _id: 'a', full_name: 'Ada', price: '5' }]);
    const users = versioned(raw, User);
    expect(await users.findOne({ _id: 'g' })).toEqual({ _id: 'g', display_name: 'Grace', priceCents: 500 });
    expect(ids(await users.find({ display_name: 'Grace' }).toArray())).toEqual(['g']);
    expect(ids(await users.find({ priceCents: 500 }).toArray())).toEqual(['a', 'g']);
    expect(await users.deleteMany({ display_name: { $exists: false } })).toMatchObject({ deletedCount: 0 });
    expect(await raw.countDocuments({})).toBe(2);
  });
});

describe('a missing source under upExpr', () => {
  const Flags = defineSchema('flags')
    .version(1, z.object({ _id: z.string(), flag: z.string().optional() }))
    .version(2, z.object({ _id: z.string(), flag: z.boolean().optional() }), [
      step.convert('flag', 'flag', { up: (s: string) => s === 'yes', upExpr: { $eq: ['$flag', 'yes'] } }),
    ]);

  it('leaves the field missing: a filter on false does not match, and deleteMany does not delete it', async () => {
    await raw.insertMany([{ _id: 'none' }, { _id: 'no', flag: 'no' }, { _id: 'yes', flag: 'yes' }]);
    const flags = versioned(raw, Flags);
    expect(ids(await flags.find({ flag: false }).toArray())).toEqual(['no']);
    expect(ids(await flags.find({ flag: null } as never).toArray())).toEqual(['none']);
    expect(await flags.deleteMany({ flag: false })).toMatchObject({ deletedCount: 1 });
    expect(ids(await raw.find({}).toArray())).toEqual(['none', 'yes']);
  });
});

describe('one unconvertible legacy value', () => {
  const Item = defineSchema('item')
    .version(1, z.object({ _id: z.string(), price: z.string() }))
    .version(2, z.object({ _id: z.string(), priceCents: z.number() }), [
      step.convert('price', 'priceCents', { up: (s: string) => Number(s) * 100, upExpr: { $multiply: [{ $toDouble: '$price' }, 100] } }),
    ]);

  it('matches no condition on the converted field, and fails no filter about the other documents', async () => {
    await raw.insertMany([{ _id: 'bad', price: '12,50' }, { _id: 'ok', price: '12.5' }, { _id: 'new', priceCents: 300, schemaVersion: 2 }]);
    const items = versioned(raw, Item);
    expect(ids(await items.find({ priceCents: 1250 }).toArray())).toEqual(['ok']);
    expect(ids(await items.find({ priceCents: { $ne: 1250 } }).toArray())).toEqual(['new']);
    expect(await items.countDocuments({ priceCents: { $in: [300, 1250] } })).toBe(2);
    expect(await items.deleteMany({ priceCents: { $nin: [1250] } })).toMatchObject({ deletedCount: 1 });
    expect(ids(await raw.find({}).toArray())).toEqual(['bad', 'ok']);
  });
});

describe('a canonical conversion and a value up never produces', () => {
  const Status = defineSchema('canonical-status')
    .version(1, z.object({ _id: z.string(), status: z.string() }))
    .version(2, z.object({ _id: z.string(), status: z.string() }), [
      step.convert('status', 'status', { up: (s: string) => s.toUpperCase(), down: (s: string) => s.toLowerCase(), canonical: true }),
    ]);

  it("matches no old document: every read is upper case, so 'active' is nobody's read (find, count $ne, distinct, deleteMany)", async () => {
    await raw.insertMany([{ _id: 'old', status: 'active' }, { _id: 'new', status: 'ACTIVE', schemaVersion: 2 }, { _id: 'other', status: 'idle' }]);
    const statuses = versioned(raw, Status);
    expect(ids(await statuses.find({ status: 'active' }).toArray())).toEqual([]);
    expect(ids(await statuses.find({ status: 'ACTIVE' }).toArray())).toEqual(['new', 'old']);
    expect(ids(await statuses.find({ status: { $in: ['active', 'IDLE'] } }).toArray())).toEqual(['other']);
    expect(await statuses.countDocuments({ status: { $ne: 'active' } })).toBe(3);
    expect(await statuses.countDocuments({ status: { $nin: ['active', 'IDLE'] } })).toBe(2);
    expect((await statuses.distinct('_id', { status: 'active' })).sort()).toEqual([]);
    expect((await statuses.deleteMany({ status: 'active' })).deletedCount).toBe(0);
    expect(await raw.countDocuments({})).toBe(3);
  });
});

describe('a function step that changes a path', () => {
  const Account = defineSchema('account')
    .version(1, z.object({ _id: z.string(), email: z.string(), nick: z.string() }))
    .version(2, z.object({ _id: z.string(), email: z.string(), nick: z.string() }), (v1) => ({ ...v1, email: v1.email.toLowerCase() }))
    .version(3, z.object({ _id: z.string(), email: z.string(), handle: z.string() }), [step.rename('nick', 'handle')]);

  it('is refused by default (before any I/O); the as-written behaviour is an explicit opt-in', async () => {
    await raw.insertMany([{ _id: 'a', email: 'Ada@Example.com', nick: 'ada', schemaVersion: 1 }]);
    await expect(versioned(raw, Account).countDocuments({ email: 'ada@example.com' })).rejects.toBeInstanceOf(QueryTranslationError);
    expect(() => versioned(raw, Account).find({ email: 'ada@example.com' })).toThrow(QueryTranslationError);
    await expect(versioned(raw, Account).updateOne({ email: 'ada@example.com' }, { $set: { handle: 'x' } }, { upsert: true })).rejects.toBeInstanceOf(QueryTranslationError);
    expect(await raw.countDocuments({})).toBe(1);
    // Opted in: the filter goes as written to the versions behind the function (and misses 'Ada@Example.com', as documented).
    expect(await versioned(raw, Account, { translateQueries: 'as-written' }).countDocuments({ email: 'ada@example.com' })).toBe(0);
  });
});

describe('distinct over mixed versions', () => {
  const Amount = defineSchema('amount')
    .version(1, z.object({ _id: z.string(), amount: z.any() }))
    .version(2, z.object({ _id: z.string(), total: z.any() }), [step.rename('amount', 'total')]);

  it('returns one value per value the server tells apart on migrated data (Decimal128 scales, 0 and -0, int and double)', async () => {
    await raw.insertMany([
      { _id: 'a', amount: Decimal128.fromString('1.0') },
      { _id: 'b', total: Decimal128.fromString('1.00'), schemaVersion: 2 },
      { _id: 'c', amount: -0 },
      { _id: 'd', total: 0, schemaVersion: 2 },
      { _id: 'e', amount: 2.5 },
      { _id: 'f', total: 'x', schemaVersion: 2 },
      { _id: 'g', amount: 7 },
      { _id: 'h', total: Decimal128.fromString('7.0'), schemaVersion: 2 },
      { _id: 'i', amount: { n: 0.5 } },
      { _id: 'j', total: { n: Decimal128.fromString('0.50') }, schemaVersion: 2 },
    ]);
    const values = await versioned(raw, Amount).distinct('total');
    expect(values).toHaveLength(6);
    // What the server itself says of the migrated data.
    const migrated = t.db.collection(`migrated_${counter}`);
    await migrated.insertMany([{ total: Decimal128.fromString('1.0') }, { total: Decimal128.fromString('1.00') }, { total: -0 }, { total: 0 }, { total: 2.5 }, { total: 'x' }, { total: 7 }, { total: Decimal128.fromString('7.0') }, { total: { n: 0.5 } }, { total: { n: Decimal128.fromString('0.50') } }]);
    expect(await migrated.distinct('total')).toHaveLength(values.length);
  });
});
