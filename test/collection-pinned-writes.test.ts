import { beforeEach, describe, expect, it } from 'vitest';
import type { Collection, Document } from 'mongodb';
import { z } from 'zod';
import { defineSchema, step, UpcastError, ValidationError, versioned } from 'mongo-molt';
import { useTestDatabase } from './support/database.js';
import { User } from './fixtures/user-schema.js';

const t = useTestDatabase('pinned_writes');
let raw: Collection<Document>;
let counter = 0;

beforeEach(async () => {
  raw = t.db.collection(`users_${++counter}`);
  await raw.insertMany([
    { _id: 'u1', full_name: 'Ada Lovelace', schemaVersion: 1 },
    { _id: 'u2', display_name: 'Grace Hopper', email: null, schemaVersion: 2 },
  ] as Document[]);
});

const stored = (id: string) => raw.findOne({ _id: id as never });

describe('replacements at a pinned write version', () => {
  it('replaceOne without _id stores the replacement at the pinned version', async () => {
    const users = versioned(raw, User, { writeVersion: 2 });
    const result = await users.replaceOne({ _id: 'u2' }, { display_name: 'G.', email: 'g@x', tags: [] });
    expect(result.matchedCount).toBe(1);
    expect(await stored('u2')).toEqual({ _id: 'u2', display_name: 'G.', email: 'g@x', schemaVersion: 2 });
  });

  it('findOneAndReplace without _id stores the replacement at the pinned version', async () => {
    const users = versioned(raw, User, { writeVersion: 2 });
    const before = await users.findOneAndReplace({ _id: 'u1' }, { display_name: 'A.', email: null, tags: [] });
    expect(before).toEqual({ _id: 'u1', display_name: 'Ada Lovelace', email: null, tags: [] });
    expect(await stored('u1')).toEqual({ _id: 'u1', display_name: 'A.', email: null, schemaVersion: 2 });
  });

  it('an insert or replacement holding what the pinned version cannot hold is refused, naming the field, and nothing is written', async () => {
    const users = versioned(raw, User, { writeVersion: 2 });
    const body = (id: string) => ({ _id: id, display_name: 'X', email: null, tags: ['important'] });
    const attempts: Array<[string, () => Promise<unknown>]> = [
      ['insertOne', () => users.insertOne(body('n1'))],
      ['insertMany', () => users.insertMany([body('n2'), body('n3')])],
      ['replaceOne', () => users.replaceOne({ _id: 'u2' }, body('u2'))],
      ['findOneAndReplace', () => users.findOneAndReplace({ _id: 'u2' }, body('u2'))],
    ];
    for (const [operation, attempt] of attempts) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error, operation).toBeInstanceOf(UpcastError);
      expect((error as UpcastError).message, operation).toContain('"tags"');
    }
    expect(await raw.countDocuments({ _id: { $in: ['n1', 'n2', 'n3'] } } as never)).toBe(0);
    expect(await stored('u2')).toEqual({ _id: 'u2', display_name: 'Grace Hopper', email: null, schemaVersion: 2 });
    // What version 2 can hold (no tags: they read back as the default []) is written.
    await users.insertOne({ _id: 'n4', display_name: 'Y', email: null, tags: [] });
    expect(await stored('n4')).toEqual({ _id: 'n4', display_name: 'Y', email: null, schemaVersion: 2 });
  });

  it('an invalid replacement lists only its own issues, not a missing _id', async () => {
    for (const writeVersion of [2, 3] as const) {
      const users = versioned(raw, User, { writeVersion });
      const error = await users.replaceOne({ _id: 'u2' }, { display_name: 5, email: null, tags: [] } as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues.map((issue) => issue.path)).toEqual([['display_name']]);
    }
    expect(await stored('u2')).toMatchObject({ display_name: 'Grace Hopper', schemaVersion: 2 });
  });
});

describe('an update under a pinned write version never drops what a newer document holds', () => {
  const Three = defineSchema('pinned-three')
    .version(1, z.object({ _id: z.string(), name: z.string(), age: z.number() }))
    .version(2, z.object({ _id: z.string(), name: z.string(), age: z.number(), email: z.string().nullable() }), [step.add('email', null)])
    .version(3, z.object({ _id: z.string(), name: z.string(), age: z.number(), email: z.string().nullable(), plan: z.string().default('free') }), [step.add('plan', 'free')]);

  it('refuses, with a typed error and nothing written, an update that would convert a document down with loss', async () => {
    const raw = t.db.collection('pinned_newer');
    const stored = { _id: 'd', name: 'D', age: 5, email: 'd@x', plan: 'pro', schemaVersion: 3 };
    await raw.insertOne(stored as never);
    const pinned = versioned(raw, Three, { writeVersion: 2 });
    const error = await pinned.updateOne({ _id: 'd' }, { $set: { age: 6 } }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UpcastError);
    expect(error).toMatchObject({ _id: 'd', fromVersion: 3, toVersion: 2 });
    expect((error as Error).message).toMatch(/"plan" would not come back\)\. Nothing was written/);
    expect((error as Error).message).not.toMatch(/Fix the step/); // the step is right: the update is what to change
    await expect(pinned.updateMany({}, { $set: { age: 7 } })).rejects.toBeInstanceOf(UpcastError);
    expect(await raw.findOne({ _id: 'd' } as never)).toEqual(stored);
  });

  it('converts a newer document down when nothing is lost (its down and up are each other\'s inverse for it)', async () => {
    const raw = t.db.collection('pinned_newer_lossless');
    await raw.insertOne({ _id: 'e', name: 'E', age: 5, email: 'e@x', plan: 'free', schemaVersion: 3 } as never);
    const pinned = versioned(raw, Three, { writeVersion: 2 });
    expect(await pinned.updateOne({ _id: 'e' }, { $set: { age: 6 } })).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect(await raw.findOne({ _id: 'e' } as never)).toEqual({ _id: 'e', name: 'E', age: 6, email: 'e@x', schemaVersion: 2 });
  });
});

describe('the lossless check before a pinned update converts a newer document down', () => {
  it('sees what a downcaster that edits a nested object in place drops (it compares against the document as stored)', async () => {
    const Nested = defineSchema('pinned-nested')
      .version(1, z.object({ _id: z.string(), name: z.string(), profile: z.object({ city: z.string() }) }))
      .version(2, z.object({ _id: z.string(), name: z.string(), profile: z.object({ city: z.string(), zip: z.string().optional() }) }), {
        up: (d) => d,
        down: (d) => {
          delete d.profile.zip;
          return d;
        },
      });
    const raw = t.db.collection('pinned_nested');
    const stored = { _id: 'x', name: 'X', profile: { city: 'Paris', zip: '75001' }, schemaVersion: 2 };
    await raw.insertOne({ ...stored, profile: { ...stored.profile } } as never);
    await expect(versioned(raw, Nested, { writeVersion: 1 }).updateOne({ _id: 'x' }, { $set: { name: 'Y' } })).rejects.toThrow(/"profile" would not come back/);
    expect(await raw.findOne({ _id: 'x' } as never)).toEqual(stored);
  });

  it('does not count a default that converting back up fills in as a loss', async () => {
    const Defaults = defineSchema('pinned-defaults')
      .version(1, z.object({ _id: z.string(), name: z.string() }))
      .version(2, z.object({ _id: z.string(), name: z.string(), plan: z.string().default('free') }), { up: (d) => d, down: ({ plan: _plan, ...rest }) => rest });
    const raw = t.db.collection('pinned_defaults');
    // Stored at v2 without the default (written before defaults were filled in, or by the raw driver).
    await raw.insertOne({ _id: 'p', name: 'P', schemaVersion: 2 } as never);
    expect(await versioned(raw, Defaults, { writeVersion: 1 }).updateOne({ _id: 'p' }, { $set: { name: 'Q' } })).toMatchObject({ matchedCount: 1 });
    expect(await raw.findOne({ _id: 'p' } as never)).toEqual({ _id: 'p', name: 'Q', schemaVersion: 1 });
  });
});
