import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { defineSchema, SchemaDefinitionError, step, type Infer } from 'mongo-molt';

const V1 = z.object({ _id: z.string(), full_name: z.string(), price: z.string(), legacy_flag: z.boolean().optional() });
const V2 = z.object({ _id: z.string(), display_name: z.string(), email: z.string().nullable(), priceCents: z.number() });
const V3 = z.object({ _id: z.string(), display_name: z.string(), email: z.string().nullable(), priceCents: z.number(), tags: z.array(z.string()) });

const Product = defineSchema('product')
  .version(1, V1)
  .version(2, V2, [
    step.rename('full_name', 'display_name'),
    step.add('email', null),
    step.convert('price', 'priceCents', { up: (s: string) => Math.round(Number(s) * 100), down: (c: number) => (c / 100).toFixed(2) }),
    step.remove('legacy_flag'),
  ])
  .version(3, V3, [step.add('tags', [])]);

describe('declarative versions', () => {
  it('migrate up through the steps, mixed with nothing else needed', async () => {
    const { value, fromVersion, changed } = await Product.migrate({ _id: 'p', full_name: 'Pen', price: '1.50', legacy_flag: true });
    expect(value).toEqual({ _id: 'p', display_name: 'Pen', email: null, priceCents: 150, tags: [] });
    expect([fromVersion, changed]).toEqual([1, true]);
    expectTypeOf<Infer<typeof Product>>().toEqualTypeOf<z.output<typeof V3>>();
  });

  it('come down where every step is invertible, and not where one is lossy', async () => {
    await expect(Product.migrate({ _id: 'p', display_name: 'Pen', email: null, priceCents: 150, tags: [], schemaVersion: 3 }, { to: 2 }))
      .resolves.toMatchObject({ value: { _id: 'p', display_name: 'Pen', email: null, priceCents: 150 } });
    await expect(Product.migrate({ _id: 'p', display_name: 'Pen', email: null, priceCents: 150, schemaVersion: 2 }, { to: 1 })).rejects.toThrow(/down|downcaster/i);
  });

  it('mix with function steps in one chain', async () => {
    const Mixed = defineSchema('mixed')
      .version(1, z.object({ _id: z.string(), n: z.string() }))
      .version(2, z.object({ _id: z.string(), n: z.number() }), (v1) => ({ _id: v1._id, n: Number(v1.n) }))
      .version(3, z.object({ _id: z.string(), count: z.number() }), [step.rename('n', 'count')]);
    await expect(Mixed.migrate({ _id: 'a', n: '4' })).resolves.toMatchObject({ value: { _id: 'a', count: 4 } });
  });

  it('are checked against the schemas around them when the version is registered, naming the step', () => {
    const base = defineSchema('checked').version(1, V1);
    expect(() => base.version(2, V2, [step.rename('fullname' as 'full_name', 'display_name'), step.add('email', null), step.convert('price', 'priceCents', { up: Number })] as never))
      .toThrow(SchemaDefinitionError);
    expect(() => base.version(2, V2, [step.rename('fullname' as 'full_name', 'display_name')] as never))
      .toThrow(/Schema "checked": version 2, step.rename\('fullname', 'display_name'\): "fullname" does not exist/);
    expect(() => base.version(2, V2, [] as never)).toThrow(/empty list of steps/);
    expect(() => base.version(2, V2, [{ kind: 'frobnicate' }] as never)).toThrow(/not a declarative step/);
  });

  it('do not compile when the list does not produce the next version (top-level fields)', () => {
    // Never called: checked by the compiler (test/types.test.ts runs it under npm test).
    const _mustNotCompile = () => {
      const base = defineSchema('typed').version(1, z.object({ _id: z.string(), full_name: z.string() }));
      // @ts-expect-error display_name is never produced: the rename targets a misspelled field
      base.version(2, z.object({ _id: z.string(), display_name: z.string() }), [step.rename('full_name', 'displayname')]);
      // @ts-expect-error email is required by version 2 and no step adds it
      base.version(2, z.object({ _id: z.string(), display_name: z.string(), email: z.string() }), [step.rename('full_name', 'display_name')]);
      // @ts-expect-error the added default has the wrong type
      base.version(2, z.object({ _id: z.string(), full_name: z.string(), n: z.number() }), [step.add('n', 'zero')]);
      // @ts-expect-error convert's output type does not match the next version's field
      base.version(2, z.object({ _id: z.string(), full_name: z.number() }), [step.convert('full_name', 'full_name', { up: (s: string) => s.length > 0 })]);
      // compiles: the list produces exactly version 2's input
      base.version(2, z.object({ _id: z.string(), display_name: z.string(), email: z.string().nullable() }), [step.rename('full_name', 'display_name'), step.add('email', null)]);
    };
    expect(typeof _mustNotCompile).toBe('function');
  });
});
