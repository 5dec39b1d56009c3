import { beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Collection, Document } from 'mongodb';
import { defineSchema, sweep, versioned, DEFAULT_UPCAST_CONCURRENCY, DEFAULT_UPCAST_TIMEOUT_MS, InvalidOptionError, UpcastError } from 'mongo-molt';
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

describe('async upcasters run with a time limit', () => {
  const Hanging = defineSchema('hanging')
    .version(1, z.object({ _id: z.number(), n: z.number() }))
    .version(2, z.object({ _id: z.number(), n: z.number(), m: z.number() }), (v1) => (v1.n === 7 ? new Promise<never>(() => undefined) : Promise.resolve({ ...v1, m: v1.n })));

  it('one that never settles is an UpcastError after upcastTimeoutMs (30 s by default), naming the document', async () => {
    expect(DEFAULT_UPCAST_TIMEOUT_MS).toBe(30_000);
    const error = await Hanging.migrate({ _id: 7, n: 7 }, { upcastTimeoutMs: 20 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UpcastError);
    expect((error as Error).message).toMatch(/_id=7 .*did not settle within 20 ms \(upcastTimeoutMs\)/);
    await expect(versioned(raw, Hanging, { upcastTimeoutMs: 20 }).findOne({ _id: 7 })).rejects.toBeInstanceOf(UpcastError);
    expect(await versioned(raw, Hanging, { upcastTimeoutMs: 20 }).findOne({ _id: 8 })).toEqual({ _id: 8, n: 8, m: 8 });
  });

  it('a sweep records it as a failure and goes on with the batch', async () => {
    const report = await sweep(raw, Hanging, { batchSize: 50, pauseMs: 0, ratePerSecond: Infinity, upcastTimeoutMs: 20 });
    expect(report).toMatchObject({ status: 'complete', migrated: 59, failed: 1 });
  });

  it('refuses a time limit that is not a positive number', () => {
    expect(() => versioned(raw, Hanging, { upcastTimeoutMs: 0 })).toThrow(/upcastTimeoutMs/);
    expect(() => versioned(raw, Hanging, { upcastTimeoutMs: Number.NaN })).toThrow(InvalidOptionError);
  });
});

describe('time limits beyond what a timer can hold, and upcasts started ahead', () => {
  it('a limit past setTimeout\'s range (about 24.8 days) is no limit, not one that fires after 1 ms', async () => {
    const { Schema } = trackedSchema();
    expect(await versioned(raw, Schema, { upcastTimeoutMs: 2 ** 31 }).findOne({ _id: 8 })).toEqual({ _id: 8, n: 8, doubled: 16 });
    const report = await sweep(raw, Schema, { batchSize: 50, pauseMs: 0, ratePerSecond: Infinity, maxDurationMs: 2 ** 31 });
    expect(report).toMatchObject({ status: 'complete', migrated: 60 });
  });

  it('no upcaster runs after sweep() has returned: upcasts started ahead for a page that is not written are settled first', async () => {
    let calls = 0;
    const Slow = defineSchema('slow')
      .version(1, z.object({ _id: z.number(), n: z.number() }))
      .version(2, z.object({ _id: z.number(), n: z.number(), m: z.number() }), async (v1) => {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 5));
        return { ...v1, m: v1.n };
      });
    const controller = new AbortController();
    const report = await sweep(raw, Slow, { batchSize: 10, pauseMs: 0, ratePerSecond: Infinity, upcastConcurrency: 2, signal: controller.signal, onProgress: () => controller.abort() });
    expect(report.status).toBe('partial');
    const atReturn = calls;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(calls).toBe(atReturn);
  });
});
