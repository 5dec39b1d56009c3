import { beforeEach, describe, expect, it } from 'vitest';
import type { Collection, Document } from 'mongodb';
import { ValidationError, versioned } from 'mongo-molt';
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
    const result = await users.replaceOne({ _id: 'u2' }, { display_name: 'G.', email: 'g@x', tags: ['t'] });
    expect(result.matchedCount).toBe(1);
    expect(await stored('u2')).toEqual({ _id: 'u2', display_name: 'G.', email: 'g@x', schemaVersion: 2 });
  });

  it('findOneAndReplace without _id stores the replacement at the pinned version', async () => {
    const users = versioned(raw, User, { writeVersion: 2 });
    const before = await users.findOneAndReplace({ _id: 'u1' }, { display_name: 'A.', email: null, tags: [] });
    expect(before).toEqual({ _id: 'u1', display_name: 'Ada Lovelace', email: null, tags: [] });
    expect(await stored('u1')).toEqual({ _id: 'u1', display_name: 'A.', email: null, schemaVersion: 2 });
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
