import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { applyDown, applyUp, checkSteps, downPipeline, isInvertible, step, upPipeline } from '../src/steps/index.js';

const V1 = z.object({ _id: z.string(), full_name: z.string(), price: z.string(), legacy_flag: z.boolean().optional(), address: z.object({ zip: z.string() }) });
const V2 = z.object({ _id: z.string(), display_name: z.string(), email: z.string().nullable(), priceCents: z.number(), address: z.object({ postcode: z.string() }) });
const steps = [
  step.rename('full_name', 'display_name'),
  step.add('email', null),
  step.convert('price', 'priceCents', { up: (s: string) => Math.round(Number(s) * 100), down: (c: number) => (c / 100).toFixed(2) }),
  step.rename('address.zip', 'address.postcode'),
  step.remove('legacy_flag'),
];

describe('declarative steps in memory', () => {
  it('go up field by field without touching the input', () => {
    const v1 = { _id: 'a', full_name: 'Ada', price: '12.50', legacy_flag: true, address: { zip: 'N1' }, extra: 1 };
    const frozen = structuredClone(v1);
    expect(applyUp(steps, v1)).toEqual({ _id: 'a', display_name: 'Ada', email: null, priceCents: 1250, address: { postcode: 'N1' }, extra: 1 });
    expect(v1).toEqual(frozen);
  });

  it('leave absent sources alone and keep a present null where add would default', () => {
    expect(applyUp([step.rename('a', 'b'), step.add('c', 5)], { _id: 1, c: null })).toEqual({ _id: 1, c: null });
    expect(applyUp([step.add('deep.er', [])], { _id: 1 })).toEqual({ _id: 1, deep: { er: [] } });
  });

  it('give each document its own copy of an object default', () => {
    const s = [step.add('tags', [] as string[])];
    const a = applyUp(s, { _id: 1 });
    (a.tags as string[]).push('x');
    expect(applyUp(s, { _id: 2 })).toEqual({ _id: 2, tags: [] });
  });

  it('come down when every step is invertible, and say when one is not', () => {
    expect(isInvertible(steps)).toBe(false);
    const invertible = steps.slice(0, 4);
    expect(isInvertible(invertible)).toBe(true);
    const v1 = { _id: 'a', full_name: 'Ada', price: '12.50', address: { zip: 'N1' } };
    expect(applyDown(invertible, applyUp(invertible, v1))).toEqual(v1);
    expect(isInvertible([step.convert('a', 'a', { up: Number })])).toBe(false);
  });

  it('have a server form only where every step has one', () => {
    expect(upPipeline(steps)).toBeUndefined(); // the convert has no upExpr
    const withExpr = [step.rename('a', 'b'), step.convert('p', 'p', { up: Number, upExpr: { $toInt: '$p' } })];
    const present = (path: string) => ({ $not: [{ $eq: [{ $type: `$${path}` }, 'missing'] }] });
    expect(upPipeline(withExpr)).toEqual([
      { $set: { b: { $cond: [present('a'), '$a', '$b'] } } },
      { $unset: 'a' },
      // upExpr's number is cast as the driver writes the number `up` returns (see sweeper-server-bytes.test.ts).
      { $set: { p: { $cond: [present('p'), { $let: expect.objectContaining({ vars: { v: { $toInt: '$p' } } }) }, '$p'] } } },
    ]);
    expect(downPipeline([step.remove('x')])).toBeUndefined();
    expect(downPipeline([step.add('x', 1), step.rename('a', 'b')])).toEqual([
      { $set: { a: { $cond: [present('b'), '$b', '$a'] } } },
      { $unset: 'b' },
      { $unset: 'x' },
    ]);
  });
});

describe('checkSteps against the schemas around them', () => {
  it('accepts a list that turns one schema into the next', () => {
    expect(checkSteps(steps, V1, V2)).toBeUndefined();
  });

  it.each([
    [[step.rename('fullname', 'display_name')], /step.rename\('fullname', 'display_name'\): "fullname" does not exist/],
    [[step.rename('full_name', 'displayname')], /"displayname" is not declared by the next version's schema/],
    [[step.add('email', 42)], /the default 42 is not a valid "email"/],
    [[step.add('full_name', 'x')], /already exists before this step/],
    [[step.remove('nope')], /"nope" does not exist/],
    [[step.rename('_id', 'id')], /"_id" cannot be changed/],
    [[step.rename('a', 'a')], /renames a field to itself/],
    [[step.rename('address', 'address.zip2')], /one path lies inside the other/],
    [[step.remove('price')], /step.remove\('price'\): "price" is still declared by the next version's schema/],
  ])('refuses %j, naming the step', (list, message) => {
    expect(checkSteps(list as never, V1, V2.extend({ price: z.string() }))).toMatch(message);
  });

  it('refuses removing a field the next version still requires', () => {
    expect(checkSteps([step.remove('price')], V1, V1.omit({ legacy_flag: true }))).toMatch(/still declared by the next version's schema/);
  });

  it('skips paths that leave a checkable shape (records, unions)', () => {
    const Loose = z.object({ _id: z.string(), meta: z.record(z.string(), z.unknown()) });
    expect(checkSteps([step.rename('meta.a', 'meta.b')], Loose, Loose)).toBeUndefined();
  });
});
