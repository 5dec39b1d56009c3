/**
 * Server pipelines against `up`, differentially: random version-1 documents in odd stored forms
 * (prices the conversion cannot take, missing or null fields, names zod refuses, a target already
 * present, numbers of every BSON type) are swept once on the client and once in `auto` mode; both
 * must store the same documents and record the same failures.
 */
import fc from 'fast-check';
import { Decimal128, Double, Int32, Long } from 'mongodb';
import { expect, inject, it } from 'vitest';
import { z } from 'zod';
import { defineSchema, listFailures, step, sweep } from 'mongo-molt';
import { useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('sweeper_differential');
const { updatePipelines, kind } = inject('serverFeatures');
if (!updatePipelines) process.stderr.write(`[skipped] auto against client sweeps: ${kind} has no update pipelines, so both run on the client there\n`);

const Product = defineSchema('product')
  .version(1, z.object({ _id: z.number(), full_name: z.string(), price: z.string() }))
  .version(2, z.object({ _id: z.number(), display_name: z.string().min(1).max(6), email: z.string().nullable(), priceCents: z.number().int().min(0), stock: z.number().optional() }), [
    step.rename('full_name', 'display_name'),
    step.add('email', null),
    step.convert('price', 'priceCents', {
      up: (s: string) => Math.floor(Number(s) * 100 + 0.5),
      upExpr: { $toInt: { $floor: { $add: [{ $multiply: [{ $toDouble: '$price' }, 100] }, 0.5] } } },
    }),
  ]);

const doc = fc.record({
  full_name: fc.option(fc.constantFrom('', 'Ada', 'Bob', 'Tolong-name'), { nil: undefined }),
  display_name: fc.option(fc.constantFrom('Grace', ''), { nil: undefined }),
  price: fc.option(fc.oneof(fc.constantFrom('0.125', '1.005', '12,50', '-1', '7', '07.50', 'n/a'), fc.integer({ min: 0, max: 9999 }).map((c) => (c / 100).toFixed(2))), { nil: undefined }),
  email: fc.option(fc.constantFrom(null, 'a@x'), { nil: undefined }),
  stock: fc.option(fc.constantFrom<unknown>(new Int32(3), new Double(-0), Long.fromNumber(2 ** 53 + 2), Decimal128.fromString('1.0'), 2.5, 'x'), { nil: undefined }),
  stamped: fc.boolean(),
}, { requiredKeys: ['stamped'] });

let counter = 0;
it.skipIf(!updatePipelines)('auto (server pipelines) stores exactly what client mode stores and records the same failures', async () => {
  await fc.assert(fc.asyncProperty(fc.array(doc, { minLength: 1, maxLength: 30 }), async (docs) => {
    const seed = docs.map(({ stamped, ...fields }, index) => {
      const stored = Object.fromEntries(Object.entries({ _id: index, ...fields }).filter(([, value]) => value !== undefined));
      return stamped ? { ...stored, schemaVersion: 1 } : stored;
    });
    const run = async (mode: 'client' | 'auto') => {
      const name = `p${++counter}_${mode}`;
      const collection = db.collection<{ _id: number }>(name);
      await collection.insertMany(seed.map((d) => ({ ...d })) as never[]);
      await sweep(collection, Product, { mode, ratePerSecond: Infinity, pauseMs: 0, batchSize: 8, failuresCollection: `${name}_failures` });
      const stored = await collection.find({}).sort({ _id: 1 }).toArray();
      const failures = (await listFailures(collection, { failuresCollection: `${name}_failures` })).map((failure) => [failure.documentId, failure.error.name]).sort();
      return { stored, failures };
    };
    const client = await run('client');
    const auto = await run('auto');
    expect(auto.failures).toEqual(client.failures);
    expect(auto.stored).toEqual(client.stored);
  }), { numRuns: 12 });
}, 300_000);
