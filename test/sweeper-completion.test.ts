/**
 * A sweep's report tells what is left: `complete` only when a recount finds nothing it could still
 * migrate, `remaining` recounted in every status, and the recorded failures still stale in
 * `staleFailures` on every run until they are fixed.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Document } from 'mongodb';
import { defineSchema, step, sweep, SweepStatus } from '../src/index.js';
import { mixedUsers, User, v1, type RawUser } from './fixtures/schemas.js';
import { itWithAtomicUpdates, useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('sweeper_completion');
const fast = { ratePerSecond: Infinity, pauseMs: 0 } as const;
let counter = 0;
let name = '';
beforeEach(() => {
  name = `c${++counter}`;
});
const users = () => db.collection<RawUser>(name);

describe('completion by recount', () => {
  itWithAtomicUpdates('a pass whose writes all lost their compare-and-swap is partial, with remaining recounted and a reason', async () => {
    await users().insertMany([v1('a', 'Ann', 1), v1('b', 'Bob', 1)]);
    // Every upcast changes its document on the server before the write: each write loses its race.
    const Touchy = defineSchema('touchy')
      .version(1, z.object({ _id: z.string(), full_name: z.string() }))
      .version(2, z.object({ _id: z.string(), full_name: z.string(), n: z.number() }), async (doc) => {
        await users().updateOne({ _id: doc._id }, { $set: { full_name: `${doc.full_name}!` } });
        return { ...doc, n: 1 };
      });
    const report = await sweep(users(), Touchy, { ...fast, compareOn: 'document' });
    expect(report).toMatchObject({ status: SweepStatus.PARTIAL, migrated: 0, skipped: 2, remaining: 2, staleFailures: 0 });
    expect(report.reason).toBe('stale-left');
    expect(report.detail).toMatch(/2 stale documents left/);
  });

  it('a stale document written behind the pass makes it partial; the next run migrates it and is complete', async () => {
    await users().insertMany(mixedUsers(30));
    const controller = new AbortController();
    const first = await sweep(users(), User, { ...fast, batchSize: 10, signal: controller.signal, onProgress: () => controller.abort() });
    expect(first).toMatchObject({ status: SweepStatus.PARTIAL, migrated: 10, remaining: 20 });
    expect(first.reason).toBe('signal');
    expect(first.detail).toMatch(/interrupted/);
    await users().insertOne(v1('a-behind', 'Early', 1));
    const second = await sweep(users(), User, { ...fast, batchSize: 10 });
    expect(second).toMatchObject({ status: SweepStatus.PARTIAL, migrated: 20, remaining: 1, staleFailures: 0 });
    expect(await sweep(users(), User, fast)).toMatchObject({ status: SweepStatus.COMPLETE, migrated: 1, remaining: 0 });
  });

  it('every run reports the recorded failures still stale, not only the run that recorded them', async () => {
    await users().insertMany([...mixedUsers(9), v1('f1', 'FAIL', 1)]);
    const first = await sweep(users(), User, fast);
    expect(first).toMatchObject({ status: SweepStatus.COMPLETE, failed: 1, remaining: 1, staleFailures: 1 });
    const second = await sweep(users(), User, fast);
    expect(second).toMatchObject({ status: SweepStatus.COMPLETE, failed: 0, remaining: 1, staleFailures: 1 });
    // Fixed at the source: no longer stale, so no longer counted (its record aside).
    await users().updateOne({ _id: 'f1' }, { $set: { full_name: 'Fixed' } });
    await sweep(users(), User, { ...fast, retryFailed: true });
    expect(await sweep(users(), User, fast)).toMatchObject({ status: SweepStatus.COMPLETE, remaining: 0, staleFailures: 0 });
  });

  it('an aborted run (archive with mode server) reports the stale documents as remaining', async () => {
    const Product = defineSchema('product')
      .version(1, z.object({ _id: z.string(), full_name: z.string() }))
      .version(2, z.object({ _id: z.string(), display_name: z.string(), email: z.string().nullable() }), [step.rename('full_name', 'display_name'), step.add('email', null)]);
    await users().insertMany(Array.from({ length: 20 }, (_, i): Document => ({ _id: `p${i}`, full_name: `P${i}`, schemaVersion: 1 })) as RawUser[]);
    const report = await sweep(users(), Product, { ...fast, archive: true, mode: 'server' });
    expect(report).toMatchObject({ status: SweepStatus.ABORTED, remaining: 20, staleFailures: 0 });
  });

  it('a locked run reports what is left, failures included', async () => {
    await users().insertMany([v1('a', 'Ann', 1), v1('f1', 'FAIL', 1)]);
    expect(await sweep(users(), User, fast)).toMatchObject({ failed: 1, staleFailures: 1 });
    await users().insertMany(mixedUsers(4, 'new'));
    // A lease held by another owner, far from expiry.
    await db.collection('molt_state').updateOne({ _id: `${name}:user` as never }, { $set: { lease: { owner: 'other', host: 'h', pid: 1, acquiredAt: new Date(), expiresAt: new Date(Date.now() + 3_600_000) } } });
    const report = await sweep(users(), User, fast);
    expect(report).toMatchObject({ status: SweepStatus.LOCKED, remaining: 5, staleFailures: 1 });
    expect(report.remaining).toBe(await users().countDocuments({ schemaVersion: { $ne: 3 } }));
  });
});
