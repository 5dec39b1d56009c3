/**
 * Property tests of the engine (no server): any document of any version, well-formed or not,
 * migrates to a document that validates against the latest schema, or fails with a typed error
 * (a `MoltError`), never anything else; and where a chain's steps are inverse, down(up(x)) = x.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineSchema, MoltError, step } from 'mongo-molt';
import { PROPERTY_RUNS, SEED } from './size.js';

const V1 = z.object({ _id: z.string(), full_name: z.string(), age: z.number() });
const V2 = z.object({ _id: z.string(), display_name: z.string(), age: z.number(), email: z.string().nullable() });
const V3 = z.object({ _id: z.string(), display_name: z.string(), years: z.number(), email: z.string().nullable(), tags: z.array(z.string()) });

/** A chain mixing declarative steps and a function step, with async in the middle. */
const Mixed = defineSchema('property-mixed')
  .version(1, V1)
  .version(2, V2, [step.rename('full_name', 'display_name'), step.add('email', null)])
  .version(3, V3, async ({ age, ...rest }) => ({ ...rest, years: age, tags: [] }));

/** A chain whose every step is invertible: down exists and must undo up exactly. */
const Invertible = defineSchema('property-invertible')
  .version(1, z.object({ _id: z.string(), full_name: z.string(), price: z.string(), note: z.string().optional() }))
  .version(2, z.object({ _id: z.string(), display_name: z.string(), price: z.string(), email: z.string().nullable(), note: z.string().optional() }), [
    step.rename('full_name', 'display_name'),
    step.add('email', null),
  ])
  .version(3, z.object({ _id: z.string(), display_name: z.string(), priceCents: z.number(), email: z.string().nullable(), note: z.string().optional() }), [
    step.convert('price', 'priceCents', { up: (s: string) => Number(s), down: (n: number) => String(n) }),
  ]);

const anyVersion = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: -2, max: 6 }),
  fc.double(),
  fc.string({ maxLength: 3 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 2 }),
);
/** Documents of any version: the right fields with right or wrong types, missing or extra fields. */
const anyDocument = fc.record(
  {
    _id: fc.oneof(fc.string(), fc.integer()),
    full_name: fc.oneof(fc.string(), fc.anything()),
    display_name: fc.oneof(fc.string(), fc.anything()),
    age: fc.oneof(fc.double(), fc.anything()),
    years: fc.oneof(fc.integer(), fc.anything()),
    email: fc.oneof(fc.constant(null), fc.emailAddress(), fc.anything()),
    tags: fc.oneof(fc.array(fc.string(), { maxLength: 3 }), fc.anything()),
    extra: fc.anything(),
    schemaVersion: anyVersion,
  },
  { requiredKeys: [] },
);

describe('engine properties', () => {
  it(`any document of any version migrates to a valid latest document or fails with a typed error (${PROPERTY_RUNS} runs)`, async () => {
    let migrated = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(anyDocument, async (doc) => {
        const before = structuredClone(doc);
        try {
          const result = await Mixed.migrate(doc, { validate: 'always' });
          expect(result.toVersion).toBe(3);
          expect(V3.safeParse(result.value).success).toBe(true);
          expect(result.value).not.toHaveProperty('schemaVersion');
          migrated++;
        } catch (error) {
          if (!(error instanceof MoltError)) throw new Error(`not a MoltError: ${String(error)}`, { cause: error });
          expect(error.message.length).toBeGreaterThan(20);
          refused++;
        }
        // migrate() never modifies its input.
        expect(doc).toEqual(before);
      }),
      { numRuns: PROPERTY_RUNS, seed: SEED },
    );
    process.stderr.write(`[reliability properties] ${migrated} migrated, ${refused} refused with a typed error\n`);
    expect(migrated + refused).toBe(PROPERTY_RUNS);
  });

  it(`well-formed documents of every version always migrate (${PROPERTY_RUNS} runs)`, async () => {
    const v1 = fc.record({ _id: fc.string(), full_name: fc.string(), age: fc.double({ noNaN: true, noDefaultInfinity: true }), schemaVersion: fc.constantFrom(undefined, 1) }, { requiredKeys: ['_id', 'full_name', 'age'] });
    const v2 = fc.record({ _id: fc.string(), display_name: fc.string(), age: fc.double({ noNaN: true, noDefaultInfinity: true }), email: fc.option(fc.string(), { nil: null }), schemaVersion: fc.constant(2) });
    const v3 = fc.record({ _id: fc.string(), display_name: fc.string(), years: fc.double({ noNaN: true, noDefaultInfinity: true }), email: fc.option(fc.string(), { nil: null }), tags: fc.array(fc.string()), schemaVersion: fc.constant(3) });
    await fc.assert(
      fc.asyncProperty(fc.oneof(v1, v2, v3), async (doc) => {
        const result = await Mixed.migrate(doc, { validate: 'always' });
        expect(V3.safeParse(result.value).success).toBe(true);
        expect(result.value._id).toBe(doc._id);
      }),
      { numRuns: PROPERTY_RUNS, seed: SEED },
    );
  });

  it(`down(up(x)) = x where every step is inverse (${PROPERTY_RUNS} runs)`, async () => {
    const v1 = fc.record(
      {
        _id: fc.string(),
        full_name: fc.string(),
        // A price as its string form round-trips through Number and back.
        price: fc.integer({ min: -1_000_000, max: 1_000_000 }).map(String),
        note: fc.string(),
      },
      { requiredKeys: ['_id', 'full_name', 'price'] },
    );
    await fc.assert(
      fc.asyncProperty(v1, async (doc) => {
        const up = await Invertible.migrate({ ...doc, schemaVersion: 1 }, { validate: 'always' });
        expect(up.toVersion).toBe(3);
        const down = await Invertible.migrate({ ...up.value, schemaVersion: 3 }, { to: 1, validate: 'always' });
        expect(down.toVersion).toBe(1);
        expect(down.value).toEqual(doc);
        // and up(down(y)) = y for y in the image of up
        const again = await Invertible.migrate({ ...down.value, schemaVersion: 1 }, { validate: 'always' });
        expect(again.value).toEqual(up.value);
      }),
      { numRuns: PROPERTY_RUNS, seed: SEED },
    );
  });
});
