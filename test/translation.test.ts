import { beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Collection } from 'mongodb';
import { defineSchema, InvalidOptionError, QueryTranslationError, step, ValidationError, versioned } from 'mongo-molt';
import { useTestDatabase } from './support/database.js';
import { User as FunctionUser } from './fixtures/user-schema.js';

const t = useTestDatabase('translation');
interface Raw { _id: string; [field: string]: unknown }
let raw: Collection<Raw>;
let counter = 0;
beforeEach(async () => {
  raw = t.db.collection<Raw>(`users_${++counter}`);
  // Half migrated: release 1 wrote the first two (no version field), release 2 the others.
  await raw.insertMany([
    { _id: 'a', full_name: 'Ada', age: '36.0' }, // not the form down gives ('36'): found through upExpr
    { _id: 'b', full_name: 'Bob', age: '41' },
    { _id: 'c', display_name: 'Ada', email: 'ada@x', age: 36, schemaVersion: 2 },
    { _id: 'd', display_name: 'Cy', email: null, age: 29, schemaVersion: 2 },
  ]);
});

const User = defineSchema('user')
  .version(1, z.object({ _id: z.string(), full_name: z.string(), age: z.string() }))
  .version(2, z.object({ _id: z.string(), display_name: z.string(), email: z.string().nullable(), age: z.number() }), [
    step.rename('full_name', 'display_name'),
    step.add('email', null),
    step.convert('age', 'age', { up: (s: string) => Number(s), down: (n: number) => String(n), upExpr: { $toDouble: '$age' } }),
  ]);

describe('a renamed field on a half-migrated collection, through versioned()', () => {
  it('find, findOne, countDocuments and distinct by the new name see every version', async () => {
    const users = versioned(raw, User);
    expect((await users.find({ display_name: 'Ada' }).toArray()).map((doc) => doc._id).sort()).toEqual(['a', 'c']);
    expect(await users.findOne({ display_name: 'Bob' })).toEqual({ _id: 'b', display_name: 'Bob', email: null, age: 41 });
    expect(await users.countDocuments({ display_name: { $in: ['Ada', 'Bob'] } })).toBe(3);
    expect(await users.countDocuments({ email: null })).toBe(3); // the added default matches old documents
    expect(await users.countDocuments({ age: 36 })).toBe(2); // a converted value, compared through upExpr: '36.0' is 36
    expect(await users.countDocuments({ age: { $ne: 36 } })).toBe(2);
    expect((await users.distinct('display_name', { email: null })).sort()).toEqual(['Ada', 'Bob', 'Cy']);
  });

  it('updateOne, updateMany and findOneAndUpdate by the new name reach old documents (migrated first)', async () => {
    const users = versioned(raw, User);
    expect(await users.updateOne({ display_name: 'Bob' }, { $set: { email: 'bob@x' } })).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect(await raw.findOne({ _id: 'b' })).toEqual({ _id: 'b', display_name: 'Bob', email: 'bob@x', age: 41, schemaVersion: 2 });
    expect(await users.updateMany({ display_name: 'Ada' }, { $inc: { age: 1 } })).toMatchObject({ matchedCount: 2 });
    expect(await raw.find({ display_name: 'Ada' }).sort({ _id: 1 }).toArray()).toEqual([
      { _id: 'a', display_name: 'Ada', email: null, age: 37, schemaVersion: 2 },
      { _id: 'c', display_name: 'Ada', email: 'ada@x', age: 37, schemaVersion: 2 },
    ]);
    expect(await users.findOneAndUpdate({ age: 29 }, { $set: { email: 'cy@x' } }, { returnDocument: 'after' })).toMatchObject({ _id: 'd', email: 'cy@x' });
  });

  it('an upsert by the new name inserts the field under the new name', async () => {
    const users = versioned(raw, User);
    await users.updateOne({ _id: 'e', display_name: 'Dee' }, { $set: { email: null, age: 5 } }, { upsert: true });
    expect(await raw.findOne({ display_name: 'Dee' })).toEqual({ _id: 'e', display_name: 'Dee', email: null, age: 5, schemaVersion: 2 });
    // Without `_id` the server would give it an ObjectId, which this schema (`_id: z.string()`) refuses.
    await expect(users.updateOne({ display_name: 'Eve' }, { $set: { email: null, age: 5 } }, { upsert: true })).rejects.toBeInstanceOf(ValidationError);
    expect(await raw.countDocuments({ display_name: 'Eve' })).toBe(0);
  });

  it('a pinned upsert is checked in the pinned version\'s terms: the filter as translated for it, that version\'s schema', async () => {
    const users = versioned(raw, User, { writeVersion: 1 });
    await users.updateOne({ _id: 'f', display_name: 'Fay' }, { $set: { age: '5' } }, { upsert: true });
    expect(await raw.findOne({ _id: 'f' })).toEqual({ _id: 'f', full_name: 'Fay', age: '5', schemaVersion: 1 });
    await expect(users.updateOne({ _id: 'g' }, { $set: { age: '1' } }, { upsert: true })).rejects.toMatchObject({ name: 'ValidationError', _id: 'g', version: 1 });
    expect(await raw.countDocuments({ _id: 'g' })).toBe(0);
  });

  it('deleteMany and findOneAndDelete by the new name delete old documents too', async () => {
    const users = versioned(raw, User);
    expect(await users.deleteMany({ display_name: 'Ada' })).toMatchObject({ deletedCount: 2 });
    expect(await users.findOneAndDelete({ display_name: 'Bob' })).toEqual({ _id: 'b', display_name: 'Bob', email: null, age: 41 });
    expect(await raw.countDocuments({})).toBe(1);
  });

  it('refuses what it cannot translate exactly, before any I/O, with a typed error', async () => {
    const users = versioned(raw, User);
    expect(() => users.find({ age: { $gt: 30 } })).toThrow(QueryTranslationError);
    expect(() => users.find({}).sort({ display_name: 1 })).toThrow(QueryTranslationError);
    await expect(users.updateMany({ age: { $gt: 30 } }, { $set: { email: null } })).rejects.toMatchObject({ name: 'QueryTranslationError', field: 'age', operator: '$gt', versions: [1] });
    expect(await raw.countDocuments({ schemaVersion: 2 })).toBe(2); // nothing was migrated
  });

  it('translateQueries: false sends filters as written', async () => {
    const users = versioned(raw, User, { translateQueries: false });
    expect(await users.countDocuments({ display_name: 'Ada' })).toBe(1);
  });
});

describe('a filter naming an old version\'s field', () => {
  it('is a typed error before any write, never a silent no-op with side effects (function steps too)', async () => {
    const users = versioned(raw, FunctionUser);
    await expect(users.updateOne({ full_name: 'Bob' } as never, { $set: { email: 'x' } })).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(users.updateMany({ $or: [{ full_name: 'Bob' }] } as never, { $set: { email: 'x' } })).rejects.toThrow(/names "full_name", a field of version 1/);
    expect(await raw.findOne({ _id: 'b' })).toEqual({ _id: 'b', full_name: 'Bob', age: '41' });
  });
});

describe('a chain that mixes a function step with declarative ones', () => {
  // v1 -(function)-> v2 -(rename name -> display_name)-> v3
  const Mixed = defineSchema('mixed')
    .version(1, z.object({ _id: z.string(), first: z.string(), last: z.string(), age: z.number() }))
    .version(2, z.object({ _id: z.string(), name: z.string(), age: z.number() }), (v1) => ({ _id: v1._id, name: `${v1.first} ${v1.last}`, age: v1.age }))
    .version(3, z.object({ _id: z.string(), display_name: z.string(), age: z.number() }), [step.rename('name', 'display_name')]);

  let mixed: Collection<Raw>;
  beforeEach(async () => {
    mixed = t.db.collection<Raw>(`mixed_${counter}`);
    await mixed.insertMany([
      { _id: 'm1', first: 'Ada', last: 'L', age: 36, schemaVersion: 1 },
      { _id: 'm2', name: 'Bob B', age: 41, schemaVersion: 2 },
      { _id: 'm3', display_name: 'Cy C', age: 29, schemaVersion: 3 },
    ]);
  });

  it("with translateQueries: 'as-written', translates through the declarative steps and hands the versions behind the function step the filter as written, for paths both sides declare", async () => {
    const users = versioned(mixed, Mixed, { translateQueries: 'as-written' });
    // age is declared on both sides of the function step: every document is found, through it too.
    expect((await users.find({ age: { $gt: 30 } }).toArray()).map((doc) => doc._id).sort()).toEqual(['m1', 'm2']);
    expect(await users.find({}).sort({ age: 1 }).toArray()).toHaveLength(3);
    // name (display_name at v3) is made by the function from first and last: as written it would miss
    // every version-1 document, so it is refused, before any I/O.
    expect(() => users.find({ display_name: 'Bob B' })).toThrow(/not declared on both sides/);
    await expect(users.deleteMany({ display_name: 'Bob B' })).rejects.toBeInstanceOf(QueryTranslationError);
    expect(await mixed.countDocuments({})).toBe(3);
  });

  it('by default (and with translateQueries: true) refuses any path through the function step, so that no version is queried inexactly', async () => {
    expect(() => versioned(mixed, Mixed).find({ age: { $gt: 30 } })).toThrow(QueryTranslationError);
    const strict = versioned(mixed, Mixed, { translateQueries: true });
    expect(() => strict.find({ age: { $gt: 30 } })).toThrow(QueryTranslationError);
    await expect(strict.countDocuments({ age: 29 })).rejects.toThrow(/passes through a function step/);
    expect(await strict.countDocuments({ _id: 'm1' })).toBe(1);
  });
});
