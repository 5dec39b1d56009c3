/**
 * Differential fuzz of the server form of validation against zod: random schemas from the grammar
 * the compiler takes (and some it must refuse; arrays with each length check, nested, of objects)
 * × stored documents of every BSON type, shaped by the schema (arrays empty, at their bounds, with
 * valid and invalid elements mixed, null, missing) or not; unions, discriminated unions and records
 * too.
 * Where the compiler gives an expression, the server must hold it for exactly the documents zod
 * accepts once the driver has read them; where it gives none, the version runs on the client
 * (nothing to compare). Also the cases a review found stored against zod's word, each its own
 * assertion.
 */
import fc from 'fast-check';
import { Decimal128, Double, Int32, Long, ObjectId } from 'mongodb';
import { expect, inject, it } from 'vitest';
import { z } from 'zod';
import { validityExpression } from '../src/schema/zod/index.js';
import { useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('validity_fuzz');
const { updatePipelines, kind } = inject('serverFeatures');
if (!updatePipelines) process.stderr.write(`[skipped] validity fuzz: ${kind} has no update pipelines, so server-side sweeps never run there\n`);

type Schema = z.ZodType;

/** A leaf schema: expressible kinds with their checks, and kinds the compiler must refuse. */
const leafSchema: fc.Arbitrary<Schema> = fc.oneof(
  fc.constant(z.string()),
  fc.tuple(fc.nat(3), fc.nat(3)).map(([min, extra]) => z.string().min(min).max(min + extra)),
  fc.constant(z.number()),
  fc.constant(z.number().int()),
  fc.constant(z.int()),
  fc.constant(z.int32()),
  fc.tuple(fc.integer({ min: -3, max: 3 }), fc.boolean()).map(([bound, inclusive]) => (inclusive ? z.number().min(bound) : z.number().gt(bound))),
  fc.integer({ min: -3, max: 3 }).map((bound) => z.number().lt(bound)),
  fc.constant(z.boolean()),
  fc.constant(z.null()),
  fc.constant(z.date()),
  fc.constantFrom(z.literal(1), z.literal(0), z.literal('a'), z.literal(true), z.enum(['a', 'b'])),
  fc.constant(z.any()),
  // Inexpressible on the server: the compiler must give up (the client path decides).
  fc.constantFrom<Schema>(
    z.email(), z.uuid(), z.string().email(), z.string().regex(/a/), z.string().trim(),
    z.date().min(new Date(0)), z.boolean().refine((b) => b), z.number().multipleOf(2),
    z.xor([z.string(), z.number()]), z.object({}).refine(() => false),
    z.discriminatedUnion('k', [z.object({ k: z.literal('x').optional() }), z.object({ k: z.literal('y').optional() })]),
    z.discriminatedUnion('k', [z.object({ k: z.literal('x').default('x') }), z.object({ k: z.literal('y') })]),
  ),
);
/** An array's length checks, each kind zod has (`.nonempty()` is `.min(1)`), or none. */
const arrayChecks: fc.Arbitrary<(array: z.ZodArray<Schema>) => Schema> = fc.oneof(
  fc.constant((array: z.ZodArray<Schema>) => array),
  fc.nat(3).map((min) => (array: z.ZodArray<Schema>) => array.min(min)),
  fc.nat(3).map((max) => (array: z.ZodArray<Schema>) => array.max(max)),
  fc.nat(3).map((length) => (array: z.ZodArray<Schema>) => array.length(length)),
  fc.constant((array: z.ZodArray<Schema>) => array.nonempty()),
  fc.tuple(fc.nat(2), fc.nat(2)).map(([min, extra]) => (array: z.ZodArray<Schema>) => array.min(min).max(min + extra)),
);
const schemaArb: fc.Arbitrary<Schema> = fc.letrec<{ schema: Schema }>((tie) => ({
  schema: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    leafSchema,
    leafSchema.map((s) => s.optional()),
    leafSchema.map((s) => s.nullable()),
    fc.tuple(tie('schema'), arrayChecks).map(([element, check]) => check(z.array(element))),
    fc.dictionary(fc.constantFrom('a', 'b', 'c'), tie('schema'), { maxKeys: 3 }).map((shape) => z.object(shape)),
    fc.dictionary(fc.constantFrom('a', 'b'), leafSchema.map((s) => s.optional()), { maxKeys: 2 }).map((shape) => z.object(shape)),
    fc.array(tie('schema'), { minLength: 1, maxLength: 3 }).map((options) => z.union(options)),
    fc.tuple(fc.constantFrom<z.ZodType<string>>(z.string(), z.string().min(1).max(2), z.enum(['a', 'b']), z.string().regex(/a/)), tie('schema'))
      .map(([key, value]) => z.record(key as z.ZodString, value)),
    fc.tuple(fc.dictionary(fc.constantFrom('a', 'b'), tie('schema'), { maxKeys: 2 }), fc.dictionary(fc.constantFrom('a', 'c'), tie('schema'), { maxKeys: 2 }), fc.boolean())
      .map(([first, second, nullable]) => z.discriminatedUnion('k', [z.object({ ...first, k: z.literal('x') }), z.object({ ...second, k: nullable ? z.enum(['y', 'z']).nullable() : z.literal(['y', 1]) })])),
  ),
})).schema;

const BIG = 2 ** 53;
const stringArb = fc.constantFrom('', 'a', 'ab', 'abcd', ' a ', 'x@y.io', '123e4567-e89b-12d3-a456-426614174000');
/** Numbers in every numeric BSON type: Int32, Double (-0, NaN, ±Infinity, int32 and 2^53 bounds), Long (beyond 2^53 too), Decimal128. */
const numberArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -4, max: 4 }).map((n) => new Int32(n)),
  fc.constantFrom(2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1).map((n) => new Double(n)),
  fc.double({ min: -5, max: 5 }).map((n) => new Double(n)),
  fc.constantFrom(-0, 0.5, Number.NaN, Infinity, -Infinity, BIG - 1, BIG + 2).map((n) => new Double(n)),
  fc.constantFrom(0n, 1n, -3n, BigInt(BIG - 1), BigInt(BIG) + 1n, -(BigInt(BIG) + 1n)).map((n) => Long.fromBigInt(n)),
  fc.constantFrom('1', '1.0', '0', '-0', '2.5').map((s) => Decimal128.fromString(s)),
);
/**
 * Subdocuments with `$ref`/`$id`/`$db` keys: the driver hands those of DBRef shape over as DBRef
 * instances (zod reads the schema's keys from them), the others as plain objects.
 */
const dbRefShapedArb = fc.constantFrom<Record<string, unknown>>(
  { $ref: 'c', $id: 1 }, { $ref: 'c', $id: 1, a: 'x' }, { $ref: 'c', $id: 1, $db: 'd', b: new Int32(1) }, { $ref: 'c', $id: 1, $db: 2, a: 'x' },
  { $ref: 1, $id: 1, a: 'x' }, { $ref: 'c', $id: null, a: 'x' }, { $ref: 'c', a: 'x' }, { $ref: 'c', $id: 1, $x: 1, a: 'x' },
).map((doc) => ({ ...doc }));
/** Stored values of every BSON type, the odd numeric forms included. */
const valueArb: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof({ depthSize: 'small' },
    stringArb,
    numberArb,
    fc.boolean(),
    fc.constant(null),
    fc.constantFrom(new Date(0), new Date(-1000), new Date(8.64e15)),
    fc.constantFrom(new ObjectId('64b7f0c2a1b2c3d4e5f60718'), /a/),
    dbRefShapedArb,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), tie('value'), { maxKeys: 3 }),
  ),
})).value;
const docArb = fc.dictionary(fc.constantFrom('a', 'b', 'c'), valueArb, { maxKeys: 3 });

/**
 * Values shaped by the schema, so that arrays and objects are mostly made of elements the schema
 * takes, with a wrong one (any BSON value, null) here and there: arrays empty, at and around their
 * length bounds, nested, of objects, with valid and invalid elements mixed; object keys missing.
 * Random values alone almost never build an array whose every element is valid.
 */
function valueFor(schema: Schema, depth = 0): fc.Arbitrary<unknown> {
  const def = schema._zod.def as z.core.$ZodTypeDef & { innerType?: Schema; element?: Schema; shape?: Record<string, Schema>; values?: unknown[]; entries?: Record<string, unknown>; options?: Schema[]; valueType?: Schema };
  const shaped = ((): fc.Arbitrary<unknown> => {
    switch (def.type) {
      case 'optional': case 'nullable': case 'default': case 'readonly':
        return valueFor(def.innerType as Schema, depth);
      case 'string': return stringArb;
      case 'number': return numberArb;
      case 'boolean': return fc.boolean();
      case 'date': return fc.constantFrom(new Date(0), new Date(-1000), new Date(8.64e15));
      case 'literal': return fc.constantFrom(...(def.values ?? [null]));
      case 'enum': return fc.constantFrom(...Object.values(def.entries ?? { a: 'a' }));
      case 'record': return depth > 3 ? fc.constant({}) : fc.dictionary(fc.constantFrom('a', 'b', 'ab', 'abc', '', '__proto__'), valueFor(def.valueType as Schema, depth + 1), { maxKeys: 3 });
      case 'union': return fc.oneof(...(def.options ?? []).map((option) => valueFor(option, depth)));
      case 'array': return depth > 3 ? fc.constant([]) : fc.array(valueFor(def.element as Schema, depth + 1), { maxLength: 4 });
      case 'object': return depth > 3 ? fc.constant({}) : fc.record(Object.fromEntries(Object.entries(def.shape ?? {}).map(([key, field]) => [key, valueFor(field, depth + 1)])), { requiredKeys: [] });
      default: return valueArb;
    }
  })();
  return fc.oneof({ weight: 4, arbitrary: shaped }, { weight: 1, arbitrary: valueArb }, { weight: 1, arbitrary: fc.constant(null) });
}

/** Documents for `schema` (wrapped as `{ a: schema }` when it is not an object): schema-shaped fields over stray ones. */
function docsFor(schema: Schema): fc.Arbitrary<Record<string, unknown>[]> {
  const shaped = valueFor(schema instanceof z.ZodObject ? schema : z.object({ a: schema })).filter((doc): doc is Record<string, unknown> => typeof doc === 'object' && doc !== null && !Array.isArray(doc) && Object.getPrototypeOf(doc) === Object.prototype);
  const doc = fc.oneof(
    { weight: 12, arbitrary: fc.tuple(docArb, shaped).map(([stray, fields]) => ({ ...stray, ...fields })) },
    { weight: 4, arbitrary: docArb },
    { weight: 1, arbitrary: fc.tuple(dbRefShapedArb, shaped).map(([dbRef, fields]) => ({ ...fields, ...dbRef })) },
  );
  return fc.array(doc, { minLength: 20, maxLength: 40 });
}

/** What one comparison covered: documents compared, and of those zod accepted, the ones holding a non-empty array. */
interface Covered { readonly pairs: number; readonly acceptedWithArrays: number }

const hasNonEmptyArray = (value: unknown): boolean =>
  Array.isArray(value) ? value.length > 0 : typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype && Object.values(value).some(hasNonEmptyArray);

async function compare(schema: Schema, docs: readonly Record<string, unknown>[]): Promise<Covered> {
  const whole = z.object({ _id: z.number() }).extend((schema instanceof z.ZodObject ? schema : z.object({ a: schema })).shape);
  const expression = validityExpression(whole);
  if (expression === undefined) return { pairs: 0, acceptedWithArrays: 0 };
  const collection = db.collection<{ _id: number }>('docs');
  await collection.deleteMany({});
  await collection.insertMany(docs.map((doc, index) => ({ ...doc, _id: index })) as never[]);
  const onServer = (await collection.find({ $expr: expression as Record<string, unknown> }).project({ _id: 1 }).toArray()).map((d) => d._id as number).sort((a, b) => a - b);
  const read = await collection.find({}).sort({ _id: 1 }).toArray();
  const byZod = read.filter((doc) => whole.safeParse(doc).success).map((doc) => doc._id as number);
  expect(onServer, JSON.stringify({ expression, read: read.filter((doc) => onServer.includes(doc._id as number) !== byZod.includes(doc._id as number)) }, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).toEqual(byZod);
  return { pairs: docs.length, acceptedWithArrays: read.filter((doc) => byZod.includes(doc._id as number) && hasNonEmptyArray(doc)).length };
}

it.skipIf(!updatePipelines)('random schemas × random documents: the server form holds exactly where zod accepts (>= 1,000 pairs)', async () => {
  let pairs = 0;
  let acceptedWithArrays = 0;
  await fc.assert(fc.asyncProperty(schemaArb.chain((schema) => fc.tuple(fc.constant(schema), docsFor(schema))), async ([schema, docs]) => {
    const covered = await compare(schema, docs);
    pairs += covered.pairs;
    acceptedWithArrays += covered.acceptedWithArrays;
  }), { numRuns: Number(process.env.MOLT_VALIDITY_RUNS ?? 100) });
  expect(pairs).toBeGreaterThanOrEqual(1000);
  // Not only rejections: valid non-empty arrays reach the comparison too.
  expect(acceptedWithArrays).toBeGreaterThanOrEqual(20);
  process.stderr.write(`[validity fuzz] ${pairs} schema/document pairs compared, ${acceptedWithArrays} of the accepted documents with a non-empty array\n`);
}, 300_000);

it.skipIf(!updatePipelines)('the cases once stored against zod\'s word', async () => {
  const cases: Array<[Schema, unknown]> = [
    [z.object({ a: z.boolean() }).refine((d) => d.a), { a: false }],
    [z.date().min(new Date(0)), new Date(-1000)],
    [z.boolean().refine((b) => b), false],
    [z.email(), 'not an email'],
    [z.uuid(), 'x'],
    [z.int32(), new Double(2 ** 31)],
    [z.number(), Long.fromBigInt(BigInt(BIG) + 1n)],
    [z.literal(1), Decimal128.fromString('1')],
    // Unions zod answers differently from "one option takes it": both options take 'a', and an
    // exclusive union wants exactly one; two options claim a missing discriminator, which zod
    // then takes as ambiguous.
    [z.xor([z.string(), z.string().min(1)]), 'a'],
    [z.discriminatedUnion('k', [z.object({ k: z.literal('x').optional() }), z.object({ k: z.literal('y').optional() })]), {}],
    // Shaped like a DBRef, at the root and below: the driver hands over a DBRef, without `x`.
    [z.object({ x: z.string() }), { $ref: 'c', $id: 1, x: 'y' }],
    [z.object({ x: z.string() }).nullable(), { $ref: 'c', $id: 1, x: 'y' }],
    [z.record(z.string(), z.any()), { $ref: 'c', $id: 1 }], // a record takes plain objects only
    [z.array(z.string()).min(2), ['a']],
    [z.array(z.array(z.number()).max(1)), [[1], [1, 2]]],
  ];
  for (const [schema, value] of cases) {
    const whole = schema instanceof z.ZodObject ? schema.extend({ _id: z.number() }) : z.object({ _id: z.number(), a: schema });
    const expression = validityExpression(whole);
    if (expression === undefined) continue; // the client decides
    const collection = db.collection<{ _id: number }>('cases');
    await collection.deleteMany({});
    await collection.insertOne((schema instanceof z.ZodObject ? { _id: 1, ...(value as object) } : { _id: 1, a: value }) as never);
    expect(await collection.countDocuments({ $expr: expression as Record<string, unknown> }), String(schema.def.type)).toBe(0);
  }
});
