import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import { defineSchema, UpcastError, ValidationError } from 'mongo-molt';
import { fromCents, Order, OrderV2, OrderV3, OrderV4, toCents, type OrderDoc } from './orders.js';

const delivered_at = new Date('2024-05-06T07:08:09Z');

const samples = [
  {
    label: 'v1 done, no delivery date',
    stored: { _id: 'o1', customer_id: 'u1', status: 'done', price: '12.50', items: [{ sku: 'tea', qty: 2, price: '6.25' }] },
    latest: { _id: 'o1', customer_id: 'u1', status: 'shipped', priceCents: 1250, lines: [{ sku: 'tea', quantity: 2, unitPriceCents: 625, totalCents: 1250 }] },
  },
  {
    label: 'v1 done, delivered',
    stored: { _id: 'o2', customer_id: 'u1', status: 'done', price: '3', items: [{ sku: 'pen', qty: 3, price: '1' }], delivered_at, schemaVersion: 1 },
    latest: { _id: 'o2', customer_id: 'u1', status: 'delivered', priceCents: 300, lines: [{ sku: 'pen', quantity: 3, unitPriceCents: 100, totalCents: 300 }], delivered_at },
  },
  {
    label: 'v2 paid',
    stored: { _id: 'o3', customer_id: 'u2', status: 'paid', priceCents: 5, items: [{ sku: 'gum', qty: 1, priceCents: 5 }], schemaVersion: 2 },
    latest: { _id: 'o3', customer_id: 'u2', status: 'paid', priceCents: 5, lines: [{ sku: 'gum', quantity: 1, unitPriceCents: 5, totalCents: 5 }] },
  },
  {
    label: 'v3 delivered, no items',
    stored: { _id: 'o4', customer_id: 'u2', status: 'delivered', priceCents: 0, items: [], delivered_at, schemaVersion: 3 },
    latest: { _id: 'o4', customer_id: 'u2', status: 'delivered', priceCents: 0, lines: [], delivered_at },
  },
  {
    label: 'v4 pending',
    stored: { _id: 'o5', customer_id: 'u3', status: 'pending', priceCents: 999, lines: [{ sku: 'ink', quantity: 1, unitPriceCents: 999, totalCents: 999 }], schemaVersion: 4 },
    latest: { _id: 'o5', customer_id: 'u3', status: 'pending', priceCents: 999, lines: [{ sku: 'ink', quantity: 1, unitPriceCents: 999, totalCents: 999 }] },
  },
];

describe('schemas/orders', () => {
  it('has four versions', () => {
    expect(Order.latest).toBe(4);
  });

  it.each(samples)('reads a $label order as a valid latest order', ({ stored, latest }) => {
    const result = Order.migrateSync(stored, { validate: 'always' });
    expect(result.value).toEqual(latest);
    expect(OrderV4.safeParse(result.value).success).toBe(true);
  });

  it('parses prices into cents without floating point', () => {
    expect(toCents('12.50')).toBe(1250);
    expect(toCents('12.5')).toBe(1250);
    expect(toCents('0.05')).toBe(5);
    expect(toCents('19.99')).toBe(1999);
    expect(toCents('7')).toBe(700);
    for (const bad of ['12,50', '', '-1', '1.999', 'abc']) expect(() => toCents(bad)).toThrow(/not a decimal amount/);
    expect(fromCents(1250)).toBe('12.50');
    expect(fromCents(5)).toBe('0.05');
  });

  it('fails the upcast, naming the versions, for a price it cannot read', () => {
    const stored = { _id: 'o6', customer_id: 'u1', status: 'paid', price: '12,50', items: [] };
    expect(() => Order.migrateSync(stored)).toThrow(UpcastError);
    try {
      Order.migrateSync(stored);
    } catch (error) {
      expect(error).toMatchObject({ _id: 'o6', fromVersion: 1, toVersion: 2 });
    }
  });

  it('goes back to every earlier version (the split status and the price format lose a little)', () => {
    const latest = samples[1]?.latest;
    expect(Order.migrateSync({ ...latest, schemaVersion: 4 }, { to: 3 }).value).toEqual({
      _id: 'o2', customer_id: 'u1', status: 'delivered', priceCents: 300, items: [{ sku: 'pen', qty: 3, priceCents: 100 }], delivered_at,
    });
    expect(Order.migrateSync({ ...latest, schemaVersion: 4 }, { to: 1 }).value).toEqual({
      _id: 'o2', customer_id: 'u1', status: 'done', price: '3.00', items: [{ sku: 'pen', qty: 3, price: '1.00' }], delivered_at,
    });
  });

  it('types the latest shape', () => {
    expectTypeOf<OrderDoc['status']>().toEqualTypeOf<'pending' | 'paid' | 'shipped' | 'delivered' | 'cancelled'>();
    expectTypeOf<OrderDoc['lines'][number]>().toEqualTypeOf<{ sku: string; quantity: number; unitPriceCents: number; totalCents: number }>();
    expectTypeOf<OrderDoc>().not.toHaveProperty('items');
  });

  it('does not compile an upcaster that forgets what becomes of `done`', () => {
    const Unsplit = defineSchema('order-unsplit')
      .version(1, OrderV2)
      // @ts-expect-error 'done' is not a v3 status: the step must say what 'done' becomes
      .version(2, OrderV3, (v2: z.output<typeof OrderV2>) => ({ ...v2 }));
    const done = { _id: 'o7', customer_id: 'u1', status: 'done', priceCents: 1, items: [] };
    expect(() => Unsplit.migrateSync(done)).toThrow(ValidationError);
  });
});
