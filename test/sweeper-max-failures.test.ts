import { expect, it } from 'vitest';
import { listFailures, sweep, SweepStatus, type SweepStateDocument } from 'mongo-molt';
import { mixedUsers, type RawUser } from './fixtures/schemas.js';
import { User } from './fixtures/schemas.js';
import { useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('sweeper_max_failures');
const fast = { ratePerSecond: Infinity, pauseMs: 0 } as const;

it('maxFailures: 2 stops at the second failure, even within one batch, and resumes right after it', async () => {
  const users = db.collection<RawUser>('users');
  const states = db.collection<SweepStateDocument>('molt_state');
  await users.insertMany([
    ...mixedUsers(5, 'a'),
    { _id: 'f0', full_name: 'FAIL' },
    { _id: 'f1', full_name: 'FAIL' },
    { _id: 'f2', full_name: 'FAIL' },
    ...mixedUsers(5, 'z'),
  ]);
  const report = await sweep(users, User, { ...fast, batchSize: 50, maxFailures: 2 });
  expect(report).toMatchObject({ status: SweepStatus.FAILED, failed: 2, migrated: 5, scanned: 7 });
  expect((await listFailures(users)).map((failure) => failure.documentId).sort()).toEqual(['f0', 'f1']);
  expect((await states.findOne({ _id: 'users:user' }))?.checkpoint).toMatchObject({ lastId: 'f1' });
  expect(await users.countDocuments({ _id: { $gte: 'z' }, schemaVersion: 3 })).toBe(0);

  const rest = await sweep(users, User, { ...fast, batchSize: 50 });
  expect(rest).toMatchObject({ status: SweepStatus.COMPLETE, failed: 1, migrated: 5 });
  expect(await users.countDocuments({ schemaVersion: 3 })).toBe(10);
});

it('maxFailures: 1 stops at 1', async () => {
  const users = db.collection<RawUser>('users_one');
  await users.insertMany([{ _id: 'f0', full_name: 'FAIL' }, { _id: 'f1', full_name: 'FAIL' }, ...mixedUsers(3, 'z')]);
  const report = await sweep(users, User, { ...fast, maxFailures: 1 });
  expect(report).toMatchObject({ status: SweepStatus.FAILED, failed: 1, migrated: 0 });
  expect(await listFailures(users)).toHaveLength(1);
});
