import { beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Collection, Document } from 'mongodb';
import { defineSchema, sweep, versioned, DEFAULT_UPCAST_CONCURRENCY } from 'mongo-molt';
import { mapBounded } from '../src/migrate/index.js';
import { useTestDatabase } from './support/database.js';

const t = useTestDatabase('upcast_concurrency');

/** A schema whose async upcaster counts how many of its calls are pending at once. */
function trackedSchema() {
  const seen = { inFlight: 0, max: 0, calls: 0 };
  const Schema = defineSchema('tracked')
    .version(1, z.object({ _id: z.number(), n: z.number() }))
    .version(2, z.object({ _id: z.number(), n: z.number(), doubled: z.number() }), async (v1) => {
      seen.calls++;
      seen.max = Math.max(seen.max, ++seen.inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      seen.inFlight--;
      return { ...v1, doubled: v1.n * 2 };
    });
  return { Schema, seen };
}

let raw: Collection<Document>;
let counter = 0;
beforeEach(async () => {
  raw = t.db.collection(`docs_${++counter}`);
  await raw.insertMany(Array.from({ length: 60 }, (_, index) => ({ _id: index, n: index }) as Document));
});

describe('async upcasters run with a bounded concurrency', () => {
  it('find().toArray() runs at most 16 at once by default, or upcastConcurrency', async () => {
    const byDefault = trackedSchema();
    const docs = await versioned(raw, byDefault.Schema).find({}).toArray();
    expect(docs).toHaveLength(60);
    expect(docs[59]).toEqual({ _id: 59, n: 59, doubled: 118 });
    expect(byDefault.seen).toMatchObject({ calls: 60, max: DEFAULT_UPCAST_CONCURRENCY });

    const bounded = trackedSchema();
    await versioned(raw, bounded.Schema, { upcastConcurrency: 3 }).find({}).toArray();
    expect(bounded.seen).toMatchObject({ calls: 60, max: 3 });
  });

  it('sweep runs at most upcastConcurrency per batch', async () => {
    const { Schema, seen } = trackedSchema();
    const report = await sweep(raw, Schema, { batchSize: 50, pauseMs: 0, ratePerSecond: Infinity, upcastConcurrency: 4 });
    expect(report).toMatchObject({ status: 'complete', migrated: 60 });
    expect(seen).toMatchObject({ calls: 60, max: 4 });
  });

  it('refuses a concurrency that is not a positive integer', () => {
    const { Schema } = trackedSchema();
    expect(() => versioned(raw, Schema, { upcastConcurrency: 0 })).toThrow(/upcastConcurrency/);
  });
});

describe('mapBounded', () => {
  it('stays synchronous for synchronous work and keeps the order', () => {
    expect(mapBounded([1, 2, 3], 2, (n) => n * 10)).toEqual([10, 20, 30]);
  });

  it('rejects with the first rejection and starts nothing after it', async () => {
    const started: number[] = [];
    const result = mapBounded([1, 2, 3, 4, 5, 6], 2, async (n) => {
      started.push(n);
      await new Promise((resolve) => setImmediate(resolve));
      if (n === 2) throw new Error('two');
      return n;
    });
    await expect(result).rejects.toThrow('two');
    expect(started.length).toBeLessThan(6);
  });
});
