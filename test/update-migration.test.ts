import { beforeEach, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import type { Collection } from 'mongodb';
import { defineSchema, InvalidOptionError, MoltError, UpdateContentionError, versioned } from 'mongo-molt';
import { useTestDatabase } from './support/database.js';
import { User } from './fixtures/user-schema.js';

const t = useTestDatabase('update_migration');
interface Raw { _id: string; [field: string]: unknown }
let raw: Collection<Raw>;
let counter = 0;

beforeEach(() => {
  raw = t.db.collection<Raw>(`items_${++counter}`);
});

const Item = defineSchema('item').version(1, z.object({ _id: z.string(), name: z.string(), n: z.number() }));

describe('documents without a version field, at the write version', () => {
  it('updateMany, updateOne and findOneAndUpdate update them and stamp the version', async () => {
    await raw.insertMany([{ _id: 'a', name: 'A', n: 0 }, { _id: 'b', name: 'B', n: 0 }, { _id: 'c', name: 'C', n: 0 }]);
    const items = versioned(raw, Item);
    expect(await items.updateMany({ _id: { $in: ['a', 'b'] } }, { $inc: { n: 1 } })).toMatchObject({ matchedCount: 2, modifiedCount: 2 });
    expect(await raw.find({ _id: { $in: ['a', 'b'] } }).sort({ _id: 1 }).toArray()).toEqual([
      { _id: 'a', name: 'A', n: 1, schemaVersion: 1 },
      { _id: 'b', name: 'B', n: 1, schemaVersion: 1 },
    ]);
    await raw.insertOne({ _id: 'd', name: 'D', n: 0 });
    expect(await items.updateOne({ _id: 'd' }, { $inc: { n: 5 } })).toMatchObject({ matchedCount: 1 });
    expect(await raw.findOne({ _id: 'd' })).toEqual({ _id: 'd', name: 'D', n: 5, schemaVersion: 1 });
    expect(await items.findOneAndUpdate({ _id: 'c' }, { $inc: { n: 2 } }, { returnDocument: 'after' })).toEqual({ _id: 'c', name: 'C', n: 2 });
    expect(await raw.findOne({ _id: 'c' })).toEqual({ _id: 'c', name: 'C', n: 2, schemaVersion: 1 });
  });

  it('after retiring old versions with { unversioned: 3 }, as the README recipe does', async () => {
    const Retired = defineSchema('item', { unversioned: 3 }).version(3, z.object({ _id: z.string(), name: z.string(), n: z.number() }));
    await raw.insertMany([{ _id: 'a', name: 'A', n: 0 }, { _id: 'b', name: 'B', n: 0, schemaVersion: 3 }]);
    const items = versioned(raw, Retired);
    expect(await items.updateMany({}, { $inc: { n: 1 } })).toMatchObject({ matchedCount: 2 });
    expect(await raw.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 'a', name: 'A', n: 1, schemaVersion: 3 },
      { _id: 'b', name: 'B', n: 1, schemaVersion: 3 },
    ]);
  });

  it('a read with writeBackOnRead stamps them', async () => {
    await raw.insertOne({ _id: 'a', name: 'A', n: 0 });
    const items = versioned(raw, Item, { writeBackOnRead: true });
    expect(await items.findOne({ _id: 'a' })).toEqual({ _id: 'a', name: 'A', n: 0 });
    await items.flush();
    expect(await raw.findOne({ _id: 'a' })).toEqual({ _id: 'a', name: 'A', n: 0, schemaVersion: 1 });
    expect(items.stats).toMatchObject({ writtenBack: 1, lostRaces: 0 });
  });
});

describe('pipeline updates', () => {
  it('refuses a pipeline that writes the version field, before any I/O', async () => {
    await raw.insertOne({ _id: 'u1', display_name: 'Ada', email: null, tags: [], schemaVersion: 3 });
    const users = versioned(raw, User);
    await expect(users.updateOne({ _id: 'u1' }, [{ $set: { schemaVersion: 1 } }])).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(users.updateMany({}, [{ $set: { tags: [] } }, { $unset: 'schemaVersion' }])).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(users.findOneAndUpdate({}, [{ $addFields: { schemaVersion: 2 } }])).rejects.toBeInstanceOf(InvalidOptionError);
    expect(await raw.findOne({ _id: 'u1' })).toMatchObject({ schemaVersion: 3 });
  });

  it('with a pinned write version, refuses a pipeline that writes fields the pinned version lacks, or fields it cannot name', async () => {
    const users = versioned(raw, User, { writeVersion: 2 });
    await expect(users.updateOne({ _id: 'u2' }, [{ $set: { tags: ['x'] } }])).rejects.toThrow(/"tags", which version 2/);
    await expect(users.updateMany({}, [{ $replaceWith: { _id: '$_id', display_name: 'x' } }])).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(users.updateMany({}, [{ $project: { display_name: 1 } }])).rejects.toBeInstanceOf(InvalidOptionError);
  });

  it('a pipeline that replaces the whole document still leaves it stamped at the write version', async (context) => {
    const features = inject('serverFeatures');
    if (!features.updatePipelines) {
      process.stderr.write(`[skipped] pipeline update stamp: ${features.kind} has no update pipelines\n`);
      context.skip();
    }
    await raw.insertOne({ _id: 'u1', full_name: 'Ada', schemaVersion: 1 });
    const users = versioned(raw, User);
    await users.updateOne({ _id: 'u1' }, [{ $replaceWith: { _id: '$_id', display_name: 'Ada L.', email: null, tags: ['p'] } }]);
    expect(await raw.findOne({ _id: 'u1' })).toEqual({ _id: 'u1', display_name: 'Ada L.', email: null, tags: ['p'], schemaVersion: 3 });
  });
});

describe('single-document upserts over many stale matches', () => {
  it('migrate only the document the update touches, whatever the number of stale matches', async () => {
    await raw.insertMany(Array.from({ length: 120 }, (_, index) => ({ _id: `s${String(index).padStart(3, '0')}`, full_name: `S ${index}`, group: 'g', schemaVersion: 1 })));
    const users = versioned(raw, User);
    const result = await users.updateOne({ group: 'g' } as never, { $push: { tags: 'touched' } }, { upsert: true });
    expect(result).toMatchObject({ matchedCount: 1, upsertedCount: 0 });
    expect(await raw.countDocuments({ schemaVersion: 3 })).toBe(1);
    expect(await raw.countDocuments({ tags: 'touched' })).toBe(1);
    const found = await users.findOneAndUpdate({ group: 'g' } as never, { $push: { tags: 'again' } }, { upsert: true, returnDocument: 'after' });
    expect(found?.tags).toContain('again');
    expect(await raw.countDocuments({ schemaVersion: 3 })).toBeLessThanOrEqual(2);
    expect(await raw.countDocuments({})).toBe(120);
  });

  it('an upsert that matches nothing inserts at the write version', async () => {
    const users = versioned(raw, User);
    const result = await users.updateOne({ _id: 'new' }, { $set: { display_name: 'New', email: null, tags: [] } }, { upsert: true });
    expect(result.upsertedCount).toBe(1);
    expect(await raw.findOne({ _id: 'new' })).toEqual({ _id: 'new', display_name: 'New', email: null, tags: [], schemaVersion: 3 });
  });

  it('contention has its own error class, a MoltError', () => {
    const error = new UpdateContentionError('updateOne', 50);
    expect(error).toBeInstanceOf(MoltError);
    expect(error.name).toBe('UpdateContentionError');
    expect(error.message).toMatch(/pin writeVersion|retry/i);
  });
});
