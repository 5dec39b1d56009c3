/**
 * A schema with array fields (of strings with length checks, of objects, of arrays of numbers)
 * sweeps on the server in `mode: 'server'`, and what it stores is the read path's answer: for each
 * original, `schema.migrate` of it (plus the version field) where that succeeds, else the original
 * untouched and a recorded failure. mongoose is loaded in this file as an application using both
 * would load it: it adds an `_id` getter to every ObjectId, which once made the validity compiler
 * refuse every schema with an `_id` key (zod would read `_id` from an ObjectId stored where an
 * object is expected; a stored document itself is never one), so `mode: 'server'` refused and
 * `auto` silently ran on the client.
 */
import 'mongoose';
import { Decimal128, Double, Int32, Long, ObjectId } from 'mongodb';
import { expect, inject, it } from 'vitest';
import { z } from 'zod';
import { defineSchema, listFailures, step, sweep } from 'mongo-molt';
import { validityExpression } from '../src/schema/zod/index.js';
import { useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('sweeper_server_arrays');
const { updatePipelines, kind } = inject('serverFeatures');
if (!updatePipelines) process.stderr.write(`[skipped] "a schema with array fields sweeps in mode server": ${kind} has no update pipelines, so sweeps run on the client there\n`);

const arrays = {
  tags: z.array(z.string().min(1)).max(3),
  lines: z.array(z.object({ sku: z.string(), qty: z.number().int().min(1) })).nonempty(),
  grid: z.array(z.array(z.number()).length(2)).optional(),
};
const Order = defineSchema('order')
  .version(1, z.object({ _id: z.string(), full_name: z.string(), ...arrays }))
  .version(2, z.object({ _id: z.string(), display_name: z.string(), ...arrays }), [step.rename('full_name', 'display_name')]);

type Raw = Record<string, unknown> & { _id: string };
const line = (sku: string, qty: unknown) => ({ sku, qty });
const good = { full_name: 'Ada', tags: ['a'], lines: [line('s1', 1)] };
/** Valid and invalid arrays in every stored form the compiler has to get right. */
const originals: Raw[] = [
  { _id: 'ok-empty-tags', ...good, tags: [] },
  { _id: 'ok-three-tags', ...good, tags: ['a', 'b', 'c'], schemaVersion: 1 },
  { _id: 'ok-grid', ...good, grid: [[new Int32(1), new Double(-0)], [Long.fromNumber(2 ** 40), 2.5]] },
  { _id: 'ok-empty-grid', ...good, grid: [], schemaVersion: 1 },
  { _id: 'ok-lines', ...good, lines: [line('a', new Int32(2)), line('b', Long.fromNumber(7)), line('c', new Double(3))] },
  { _id: 'bad-four-tags', ...good, tags: ['a', 'b', 'c', 'd'], schemaVersion: 1 },
  { _id: 'bad-empty-tag', ...good, tags: ['a', ''] },
  { _id: 'bad-tag-number', ...good, tags: ['a', 1] },
  { _id: 'bad-tags-null', ...good, tags: null, schemaVersion: 1 },
  { _id: 'bad-tags-missing', full_name: 'Ada', lines: [line('s1', 1)] },
  { _id: 'bad-tags-object', ...good, tags: { 0: 'a' } },
  { _id: 'bad-no-lines', ...good, lines: [], schemaVersion: 1 },
  { _id: 'bad-qty-zero', ...good, lines: [line('a', 1), line('b', new Int32(0))] },
  { _id: 'bad-qty-decimal', ...good, lines: [line('a', Decimal128.fromString('2'))] },
  { _id: 'bad-qty-long', ...good, lines: [line('a', Long.fromBigInt(2n ** 53n + 1n))], schemaVersion: 1 },
  { _id: 'bad-line-null', ...good, lines: [line('a', 1), null] },
  { _id: 'bad-line-id', ...good, lines: [new ObjectId('64b7f0c2a1b2c3d4e5f60718')] },
  { _id: 'bad-grid-short', ...good, grid: [[1, 2], [3]] },
  { _id: 'bad-grid-string', ...good, grid: [[1, '2']], schemaVersion: 1 },
  { _id: 'bad-grid-nan', ...good, grid: [[1, Number.NaN]] },
  { _id: 'bad-grid-flat', ...good, grid: [1, 2] },
];

it('compiles a schema with an _id and array fields for the server while mongoose is loaded', () => {
  expect('_id' in new ObjectId(), 'mongoose adds _id to ObjectId.prototype').toBe(true);
  expect(validityExpression(Order.schemaOf(2))).toBeDefined();
  // Where an ObjectId may be stored in place of an object, zod reads that `_id` from it: refused.
  const nested = z.object({ _id: z.string(), ref: z.object({ _id: z.any() }) });
  expect(nested.safeParse({ _id: 'x', ref: new ObjectId() }).success).toBe(true);
  expect(validityExpression(nested)).toBeUndefined();
});

it.skipIf(!updatePipelines)('a schema with array fields sweeps in mode server and stores what the read path reads', async () => {
  const collection = db.collection<Raw>('orders');
  await collection.insertMany(originals.map((doc) => ({ ...doc })));
  // The originals as a read hands them to the read path (a Long that fits arrives as a number).
  const read = await collection.find({}).toArray();
  const report = await sweep(collection, Order, { mode: 'server', ratePerSecond: Infinity, pauseMs: 0, batchSize: 8, failuresCollection: 'orders_failures' });
  expect(report.error).toBeUndefined();
  expect(report).toMatchObject({ status: 'complete', mode: 'server', migrated: 5 });
  expect(report.serverVersions).toEqual([null, 1]);

  const stored = new Map((await collection.find({}).toArray()).map((doc) => [doc._id, doc]));
  const failed: string[] = [];
  for (const original of read) {
    let expected: Raw;
    try {
      expected = { ...(await Order.migrate(original)).value, schemaVersion: 2 } as Raw;
    } catch {
      expected = original;
      failed.push(original._id);
    }
    expect(stored.get(original._id), original._id).toEqual(expected);
  }
  expect(failed.sort()).toEqual(originals.filter((doc) => doc._id.startsWith('bad-')).map((doc) => doc._id).sort());
  const failures = await listFailures(collection, { failuresCollection: 'orders_failures' });
  expect(failures.map((failure) => failure.documentId).sort()).toEqual([...failed].sort());
}, 60_000);
