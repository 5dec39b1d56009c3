import { describe, expect, inject } from 'vitest';
import { z } from 'zod';
import { defineSchema, step, sweep, versioned, type SweepOptions } from 'mongo-molt';
import { itWithAtomicUpdates, useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('rollback');

const V1 = z.object({ _id: z.string(), full_name: z.string(), n: z.number() });
const V2 = z.object({ _id: z.string(), display_name: z.string(), email: z.string().nullable(), n: z.number() });
const V3 = z.object({ _id: z.string(), display_name: z.string(), email: z.string().nullable(), n: z.number(), tags: z.array(z.string()) });
const User = defineSchema('user')
  .version(1, V1)
  .version(2, V2, [step.rename('full_name', 'display_name'), step.add('email', null)])
  .version(3, V3, [step.add('tags', [])]);

const USERS = 300;
// Where the server runs update pipelines, the sweeps below run server-side (the steps are declarative).
const mode = inject('serverFeatures').updatePipelines ? 'server' : 'client';
const sweepOptions: SweepOptions = { batchSize: 40, ratePerSecond: Infinity, pauseMs: 0 };

/** App writers through versioned() incrementing `n` while `work` runs; returns how many increments they made. */
async function whileWriting(writeVersion: 2 | 3, work: () => Promise<void>): Promise<number> {
  const users = versioned(db.collection('users'), User, { writeVersion });
  let done = false;
  let increments = 0;
  const writer = async (seed: number) => {
    for (let i = seed; !done; i += 7) {
      await users.updateOne({ _id: `u${i % USERS}` }, { $inc: { n: 1 } });
      increments++;
    }
  };
  const writers = [writer(0), writer(3), writer(5)];
  try {
    await work();
  } finally {
    done = true;
    await Promise.all(writers);
  }
  return increments;
}

async function census(): Promise<{ versions: unknown[]; total: number }> {
  const docs = await db.collection('users').find({}).toArray();
  return { versions: [...new Set(docs.map((doc) => doc.schemaVersion))].sort(), total: docs.reduce((sum, doc) => sum + (doc.n as number), 0) };
}

describe('the rollback playbook, with old and new code on one collection', () => {
  itWithAtomicUpdates('forward to v3, back to v2 with writes pinned at v2, forward again: no update lost, every document at the version asked for', async () => {
    await db.collection('users').insertMany(Array.from({ length: USERS }, (_, i) => ({ _id: `u${i}`, full_name: `User ${i}`, n: 0 })) as never[]);
    let expected = 0;

    // Release 3 ships: writes at v3, the sweeper migrates the rest.
    expected += await whileWriting(3, async () => {
      expect(await sweep(db.collection('users'), User, sweepOptions)).toMatchObject({ status: 'complete', failed: 0, mode });
    });
    expect(await census()).toEqual({ versions: [3], total: expected });

    // A bad release is noticed: pin writes at v2, sweep down to v2 (on the client, where each
    // document is checked for loss: nothing is lost on this way down).
    expected += await whileWriting(2, async () => {
      expect(await sweep(db.collection('users'), User, { ...sweepOptions, to: 2 })).toMatchObject({ status: 'complete', failed: 0, lossy: 0, targetVersion: 2, mode: 'client' });
    });
    expect(await census()).toEqual({ versions: [2], total: expected });
    // The old code (release 2, which knows v1 and v2) reads every document.
    const Release2 = defineSchema('user').version(1, V1).version(2, V2, [step.rename('full_name', 'display_name'), step.add('email', null)]);
    expect(await versioned(db.collection('users'), Release2).countDocuments({})).toBe(USERS);
    expect(await versioned(db.collection('users'), Release2).findOne({ _id: 'u7' })).toMatchObject({ display_name: 'User 7', email: null });

    // Fixed, forward again: to the latest, by name (the sweep down pinned the collection at v2).
    expected += await whileWriting(3, async () => {
      expect(await sweep(db.collection('users'), User, { ...sweepOptions, to: 3 })).toMatchObject({ status: 'complete', failed: 0, targetVersion: 3 });
    });
    expect(await census()).toEqual({ versions: [3], total: expected });
    expect(expected).toBeGreaterThan(0);
  }, 120_000);
});
