/**
 * An upsert that inserts is an insert: the document it would insert (the filter's equality
 * conditions with the update applied) is checked against the write version's schema before
 * anything is written, and stored with its defaults. An upsert that matches a document updates it
 * exactly as the same update without these checks would.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ObjectId, type Collection } from 'mongodb';
import { defineSchema, InvalidOptionError, ValidationError, versioned } from 'mongo-molt';
import { useTestDatabase } from './support/database.js';

const t = useTestDatabase('upserts');
interface Raw { _id: string | ObjectId; [field: string]: unknown }
let raw: Collection<Raw>;
let counter = 0;
beforeEach(() => {
  raw = t.db.collection<Raw>(`users_${++counter}`);
});

const V1 = z.object({ _id: z.string(), full_name: z.string() });
const V2 = z.object({ _id: z.string(), display_name: z.string(), email: z.string().nullable().default(null), age: z.number() });
const V3 = z.object({
  _id: z.string(),
  display_name: z.string(),
  email: z.string().nullable(),
  age: z.number(),
  tags: z.array(z.string()),
  plan: z.enum(['free', 'pro']).default('free'),
  prefs: z.object({ theme: z.string().default('light'), lang: z.string().default('en') }).prefault({}),
});
const User = defineSchema('user')
  .version(1, V1)
  .version(2, V2, { up: ({ full_name, ...rest }) => ({ ...rest, display_name: full_name, email: null, age: 0 }), down: ({ display_name, _id }) => ({ _id, full_name: display_name }) })
  .version(3, V3, { up: (v2) => ({ ...v2, tags: [] }), down: ({ tags: _tags, plan: _plan, prefs: _prefs, ...v2 }) => v2 });

const complete = { display_name: 'Hal', age: 1, tags: [], email: null };
const defaults = { plan: 'free', prefs: { theme: 'light', lang: 'en' } };

describe('an upsert that inserts gets its defaults', () => {
  it('updateOne', async () => {
    const users = versioned(raw, User);
    expect(await users.updateOne({ _id: 'hal' }, { $set: complete }, { upsert: true })).toMatchObject({ upsertedCount: 1, upsertedId: 'hal' });
    expect(await raw.findOne({ _id: 'hal' })).toEqual({ _id: 'hal', ...complete, ...defaults, schemaVersion: 3 });
  });

  it('updateOne with a sort', async () => {
    const users = versioned(raw, User);
    await users.updateOne({ _id: 'hal' }, { $set: complete }, { upsert: true, sort: { age: 1 } });
    expect(await raw.findOne({ _id: 'hal' })).toEqual({ _id: 'hal', ...complete, ...defaults, schemaVersion: 3 });
  });

  it('updateMany', async () => {
    const users = versioned(raw, User);
    expect(await users.updateMany({ _id: 'hal' }, { $set: complete }, { upsert: true })).toMatchObject({ upsertedCount: 1 });
    expect(await raw.findOne({ _id: 'hal' })).toEqual({ _id: 'hal', ...complete, ...defaults, schemaVersion: 3 });
  });

  it('findOneAndUpdate, whose returned document has them too', async () => {
    const users = versioned(raw, User);
    const after = await users.findOneAndUpdate({ _id: 'hal' }, { $set: complete }, { upsert: true, returnDocument: 'after' });
    expect(after).toEqual({ _id: 'hal', ...complete, ...defaults });
    expect(await raw.findOne({ _id: 'hal' })).toEqual({ _id: 'hal', ...complete, ...defaults, schemaVersion: 3 });
  });

  it('fields come from the filter\'s equalities and from every operator; a default beside a written path is filled in', async () => {
    const users = versioned(raw, User);
    await users.updateOne(
      { _id: 'eq', display_name: { $eq: 'Eq' }, $and: [{ age: 7 }, { plan: { $in: ['free', 'pro'] } }] },
      { $setOnInsert: { email: null }, $inc: { age: 1 }, $push: { tags: 'a' }, $set: { 'prefs.theme': 'dark' } },
      { upsert: true },
    );
    expect(await raw.findOne({ _id: 'eq' })).toEqual({ _id: 'eq', display_name: 'Eq', age: 8, email: null, tags: ['a'], plan: 'free', prefs: { theme: 'dark', lang: 'en' }, schemaVersion: 3 });
  });

  it('a pinned write version: the pinned version\'s schema and defaults', async () => {
    const users = versioned(raw, User, { writeVersion: 2 });
    await users.updateOne({ _id: 'pin' }, { $set: { display_name: 'Pin', age: 2 } }, { upsert: true });
    expect(await raw.findOne({ _id: 'pin' })).toEqual({ _id: 'pin', display_name: 'Pin', age: 2, email: null, schemaVersion: 2 });
    await users.updateMany({ _id: 'pin2' }, { $set: { display_name: 'Pin', age: 2 } }, { upsert: true });
    expect(await raw.findOne({ _id: 'pin2' })).toEqual({ _id: 'pin2', display_name: 'Pin', age: 2, email: null, schemaVersion: 2 });
    expect(await users.findOneAndUpdate({ _id: 'pin3' }, { $set: { display_name: 'Pin', age: 2 } }, { upsert: true, returnDocument: 'after' })).toEqual({
      _id: 'pin3', display_name: 'Pin', age: 2, email: null, tags: [], ...defaults,
    });
  });
});

describe('an upsert that would insert an invalid document writes nothing', () => {
  const invalid = async (run: () => Promise<unknown>, id: unknown, version = 3) => {
    const error = await run().then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ _id: id, version });
    expect((error as Error).message).toMatch(/Nothing was written/);
    expect(await raw.countDocuments({})).toBe(0);
    return error as ValidationError;
  };

  it('updateOne, updateMany and findOneAndUpdate, naming the _id', async () => {
    const users = versioned(raw, User);
    const error = await invalid(() => users.updateOne({ _id: 'kim' }, { $set: { age: 3 } }, { upsert: true }), 'kim');
    expect(error.issues.map((issue) => issue.path.join('.')).sort()).toEqual(['display_name', 'email', 'tags']);
    expect(error.message).toMatch(/_id="kim"/);
    await invalid(() => users.updateOne({ _id: 'kim' }, { $set: { age: 3 } }, { upsert: true, sort: { age: 1 } }), 'kim');
    await invalid(() => users.updateMany({ _id: 'kim' }, { $set: { age: 3 } }, { upsert: true }), 'kim');
    await invalid(() => users.findOneAndUpdate({ _id: 'kim' }, { $set: { age: 3 } }, { upsert: true }), 'kim');
    // A value of the wrong type, from the filter.
    await invalid(() => users.updateOne({ _id: 'kim', age: 'old' } as never, { $set: { display_name: 'K', email: null, tags: [] } }, { upsert: true }), 'kim');
  });

  it('with a pinned write version, against the pinned version\'s schema', async () => {
    const users = versioned(raw, User, { writeVersion: 2 });
    await invalid(() => users.updateOne({ _id: 'kim' }, { $set: { age: 3 } }, { upsert: true }), 'kim', 2);
    await invalid(() => users.updateMany({ _id: 'kim' }, { $set: { age: 3 } }, { upsert: true }), 'kim', 2);
    await invalid(() => users.findOneAndUpdate({ _id: 'kim' }, { $set: { age: 3 } }, { upsert: true }), 'kim', 2);
  });

  it('a filter without _id: the server would give it an ObjectId, which this schema refuses', async () => {
    const users = versioned(raw, User);
    const error = await invalid(() => users.updateOne({ display_name: 'NoId' }, { $set: { age: 1, tags: [], email: null } }, { upsert: true }), expect.any(ObjectId));
    expect(error.issues.map((issue) => issue.path.join('.'))).toEqual(['_id']);
  });

  it('a default the update would overwrite: an embedded document written whole without it', async () => {
    const users = versioned(raw, User);
    // The types refuse it too (operators are typed against the output, defaults present): the run time is checked for untyped callers.
    const error = await invalid(() => users.updateOne({ _id: 'kim' }, { $set: { ...complete, prefs: { theme: 'dark' } as never } }, { upsert: true }), 'kim');
    expect(error.issues.map((issue) => issue.path.join('.'))).toEqual(['prefs.lang']);
  });

  it('an update pipeline with upsert is refused before any I/O', async () => {
    const users = versioned(raw, User);
    await expect(users.updateOne({ _id: 'p' }, [{ $set: complete }], { upsert: true })).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(users.updateMany({ _id: 'p' }, [{ $set: complete }], { upsert: true })).rejects.toMatchObject({ option: 'upsert' });
    await expect(users.findOneAndUpdate({ _id: 'p' }, [{ $set: complete }], { upsert: true })).rejects.toBeInstanceOf(InvalidOptionError);
    expect(await raw.countDocuments({})).toBe(0);
  });

  it('an insert that cannot be worked out (a positional operator) is refused, and nothing written', async () => {
    const users = versioned(raw, User);
    await expect(users.updateOne({ _id: 'pos', tags: 'a' }, { $set: { 'tags.$': 'b' } }, { upsert: true })).rejects.toBeInstanceOf(InvalidOptionError);
    expect(await raw.countDocuments({})).toBe(0);
  });
});

describe('an upsert that matches a document updates it as without the checks', () => {
  // Stored at version 3 before `plan` and `prefs` existed: no defaults, and an update does not add them.
  const current = { _id: 'm', display_name: 'M', email: null, age: 1, tags: [], schemaVersion: 3 };
  const stale = { _id: 's', full_name: 'S', schemaVersion: 1 };

  it('updateOne, updateMany and findOneAndUpdate, even with an update whose insert would be invalid', async () => {
    await raw.insertMany([{ ...current }, { ...stale }]);
    const users = versioned(raw, User);
    expect(await users.updateOne({ _id: 'm' }, { $set: { age: 2 } }, { upsert: true })).toMatchObject({ matchedCount: 1, upsertedCount: 0 });
    expect(await raw.findOne({ _id: 'm' })).toEqual({ ...current, age: 2 });
    expect(await users.updateMany({ _id: 'm' }, { $inc: { age: 1 } }, { upsert: true })).toMatchObject({ matchedCount: 1, upsertedCount: 0 });
    expect(await users.findOneAndUpdate({ _id: 'm' }, { $inc: { age: 1 } }, { upsert: true, returnDocument: 'after' })).toMatchObject({ _id: 'm', age: 4 });
    expect(await raw.findOne({ _id: 'm' })).toEqual({ ...current, age: 4 });
    // A complete update: its $setOnInsert of the defaults is not applied to a match.
    await users.updateOne({ _id: 'm' }, { $set: { ...complete, display_name: 'M' } }, { upsert: true });
    expect(await raw.findOne({ _id: 'm' })).toEqual({ ...current, ...complete, display_name: 'M' });
    // A stale match is migrated (which fills its defaults, as any migration does), then updated.
    expect(await users.updateOne({ _id: 's' }, { $set: { age: 9 } }, { upsert: true })).toMatchObject({ matchedCount: 1, upsertedCount: 0 });
    expect(await raw.findOne({ _id: 's' })).toEqual({ _id: 's', display_name: 'S', email: null, age: 9, tags: [], ...defaults, schemaVersion: 3 });
    expect(await raw.countDocuments({})).toBe(2);
  });

  it('with a pinned write version', async () => {
    await raw.insertOne({ _id: 'p', display_name: 'P', age: 1, schemaVersion: 2 });
    const users = versioned(raw, User, { writeVersion: 2 });
    expect(await users.updateOne({ _id: 'p' }, { $set: { age: 2 } }, { upsert: true })).toMatchObject({ matchedCount: 1, upsertedCount: 0 });
    expect(await raw.findOne({ _id: 'p' })).toEqual({ _id: 'p', display_name: 'P', age: 2, schemaVersion: 2 });
  });
});
