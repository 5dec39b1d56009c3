import fc from 'fast-check';
import { expect, inject, it } from 'vitest';
import { z } from 'zod';
import { validityExpression } from '../src/schema/zod/index.js';
import { useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('validity_server');
const { updatePipelines, kind } = inject('serverFeatures');
// The expression only runs inside server-side sweeps, which need update pipelines.
if (!updatePipelines) process.stderr.write(`[skipped] validity expressions: ${kind} has no update pipelines, so server-side sweeps never run there\n`);

const Schema = z.object({
  _id: z.number(),
  name: z.string().min(1).max(4),
  email: z.string().nullable(),
  age: z.number().int().min(0).optional(),
  role: z.enum(['admin', 'user']),
  tags: z.array(z.string()).max(2),
  address: z.object({ city: z.string(), zip: z.string().optional() }).nullable(),
  active: z.boolean().default(true),
});

const anyValue = fc.oneof(fc.string({ maxLength: 6 }), fc.integer({ min: -2, max: 3 }), fc.double({ noNaN: false }), fc.boolean(), fc.constant(null), fc.constant(undefined),
  fc.array(fc.oneof(fc.string({ maxLength: 2 }), fc.integer()), { maxLength: 3 }), fc.record({ city: fc.oneof(fc.string({ maxLength: 2 }), fc.integer()), zip: fc.option(fc.string({ maxLength: 2 }), { nil: undefined }) }, { requiredKeys: [] }));
const field = <T>(good: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: good as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: anyValue });
const doc = fc.record({
  name: field(fc.string({ maxLength: 5 })),
  email: field(fc.option(fc.constant('a@x'), { nil: null })),
  age: field(fc.integer({ min: -1, max: 99 })),
  role: field(fc.constantFrom('admin', 'user', 'root')),
  tags: field(fc.array(fc.constantFrom('x', 'y'), { maxLength: 3 })),
  address: field(fc.option(fc.record({ city: fc.constant('L'), zip: fc.constant('N1') }, { requiredKeys: ['city'] }), { nil: null })),
  active: field(fc.boolean()),
}, { requiredKeys: [] });

it.skipIf(!updatePipelines)('holds on the server exactly for the documents zod accepts', async () => {
  const expression = validityExpression(Schema);
  expect(expression).toBeDefined();
  const collection = db.collection<Record<string, unknown>>('docs');
  await fc.assert(fc.asyncProperty(fc.array(doc, { minLength: 1, maxLength: 30 }), async (docs) => {
    await collection.deleteMany({});
    // Stored as the driver stores them: undefined fields are left out.
    const stored = docs.map((d, index) => Object.fromEntries(Object.entries({ _id: index, ...d }).filter(([, value]) => value !== undefined)));
    await collection.insertMany(stored.map((d) => ({ ...d })) as never[]);
    const onServer = (await collection.find({ $expr: expression as Record<string, unknown> }).project({ _id: 1 }).toArray()).map((d) => d._id).sort((a, b) => a - b);
    const read = await collection.find({}).sort({ _id: 1 }).toArray();
    const byZod = read.filter((d) => Schema.safeParse(d).success).map((d) => d._id);
    expect(onServer).toEqual(byZod);
  }), { numRuns: 25 });
}, 120_000);

it('expresses unions, discriminated unions and records keyed by strings (the fuzz checks them against zod)', () => {
  expect(validityExpression(z.object({ a: z.record(z.string().min(1), z.array(z.number())) }))).toBeDefined();
  expect(validityExpression(z.object({ a: z.union([z.string(), z.array(z.number())]) }))).toBeDefined();
  expect(validityExpression(z.object({ a: z.discriminatedUnion('k', [z.object({ k: z.literal('x'), n: z.number() }), z.object({ k: z.enum(['y', 'z']) })]) }))).toBeDefined();
});

it('is undefined for what it cannot express exactly', () => {
  expect(validityExpression(z.object({ a: z.string().email() }))).toBeUndefined();
  expect(validityExpression(z.object({ a: z.string().refine((s) => s !== 'x') }))).toBeUndefined();
  expect(validityExpression(z.object({ a: z.xor([z.string(), z.number()]) }))).toBeUndefined();
  expect(validityExpression(z.object({ a: z.discriminatedUnion('k', [z.object({ k: z.literal('x').optional() }), z.object({ k: z.literal('y').optional() })]) }))).toBeUndefined();
  expect(validityExpression(z.object({ a: z.record(z.enum(['x', 'y']), z.number()) }))).toBeUndefined();
  expect(validityExpression(z.object({ a: z.record(z.string().regex(/x/), z.number()) }))).toBeUndefined();
  expect(validityExpression(z.object({ a: z.tuple([z.string()]) }))).toBeUndefined();
  // zod reads these from Object.prototype (a stored document) or a DBRef (one shaped like it).
  expect(validityExpression(z.object({ toString: z.string().optional() }))).toBeUndefined();
  expect(validityExpression(z.object({ namespace: z.string().optional() }))).toBeUndefined();
  expect(validityExpression(z.object({ a: z.union([z.string(), z.number().refine((n) => n > 0)]) }))).toBeUndefined();
  expect(validityExpression(z.strictObject({ a: z.string() }))).toBeUndefined();
  expect(validityExpression(z.object({ a: z.string().transform((s) => s.length) }))).toBeUndefined();
});
