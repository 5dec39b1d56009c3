/**
 * Orders, in four versions, one kind of change each:
 *
 * - v1: prices are strings like "12.50", status `pending | paid | done | cancelled`, and
 *   `items: [{ sku, qty, price }]`;
 * - v2, a type change: every price becomes an integer number of cents (`priceCents`);
 * - v3, an enum that splits: `done` becomes `shipped` or `delivered` (`delivered` when the order
 *   has a `delivered_at`, else the default `shipped`);
 * - v4, an embedded array reshaped: `items` becomes `lines: [{ sku, quantity, unitPriceCents,
 *   totalCents }]`, each line carrying its own total.
 */
import { z } from 'zod';
import { defineSchema, type Infer } from 'mongo-molt';

/** A price as v1 stored it: digits, optionally a dot and one or two decimals ("12.50", "3", "0.5"). */
const PRICE = /^(\d+)(?:\.(\d{1,2}))?$/;

/** Version 1: prices as decimal strings. */
export const OrderV1 = z.object({
  _id: z.string(),
  customer_id: z.string(),
  status: z.enum(['pending', 'paid', 'done', 'cancelled']),
  price: z.string().regex(PRICE),
  items: z.array(z.object({ sku: z.string(), qty: z.number().int().positive(), price: z.string().regex(PRICE) })),
  delivered_at: z.date().optional(),
});

/** Version 2: integer cents. */
export const OrderV2 = z.object({
  _id: z.string(),
  customer_id: z.string(),
  status: z.enum(['pending', 'paid', 'done', 'cancelled']),
  priceCents: z.number().int().nonnegative(),
  items: z.array(z.object({ sku: z.string(), qty: z.number().int().positive(), priceCents: z.number().int().nonnegative() })),
  delivered_at: z.date().optional(),
});

/** The v3 statuses: `done` split in two. */
export const OrderStatus = z.enum(['pending', 'paid', 'shipped', 'delivered', 'cancelled']);

/** Version 3: `done` split into `shipped` and `delivered`. */
export const OrderV3 = OrderV2.extend({ status: OrderStatus });

/** One line of an order: what was bought, how many, at what unit price, and the line's total. */
export const OrderLine = z.object({
  sku: z.string(),
  quantity: z.number().int().positive(),
  unitPriceCents: z.number().int().nonnegative(),
  totalCents: z.number().int().nonnegative(),
});

/** Version 4: `items` reshaped into `lines`. */
export const OrderV4 = OrderV3.omit({ items: true }).extend({ lines: z.array(OrderLine) });

/**
 * Parses a v1 price string into cents without floating point: "12.5" is 1250, "0.05" is 5.
 * Throws on anything else ("12,50", "", "-1"): the upcaster fails, the sweeper records the
 * document in its failures collection and leaves it as it is.
 */
export function toCents(price: string): number {
  const match = PRICE.exec(price);
  if (!match) throw new Error(`price ${JSON.stringify(price)} is not a decimal amount like "12.50"`);
  const [, whole = '0', fraction = ''] = match;
  return Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
}

/** Formats cents as v1 stored prices: always two decimals. */
export function fromCents(cents: number): string {
  return `${Math.trunc(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

/** The v3 status of a v2 status: `done` is `delivered` if the order has a delivery date, else `shipped`. */
export function splitDone(status: z.output<typeof OrderV2>['status'], deliveredAt: Date | undefined): z.output<typeof OrderStatus> {
  if (status !== 'done') return status;
  return deliveredAt ? 'delivered' : 'shipped';
}

/**
 * The order schema. Every step has a downcaster, for a rollback sweep; two lose a little:
 * v2 -> v1 writes prices with two decimals ("12.5" comes back as "12.50"), and v3 -> v2 maps both
 * `shipped` and `delivered` back to `done`.
 */
export const Order = defineSchema('order')
  .version(1, OrderV1)
  .version(2, OrderV2, {
    up: ({ price, items, ...rest }) => ({
      ...rest,
      priceCents: toCents(price),
      items: items.map(({ price: itemPrice, ...item }) => ({ ...item, priceCents: toCents(itemPrice) })),
    }),
    down: ({ priceCents, items, ...rest }) => ({
      ...rest,
      price: fromCents(priceCents),
      items: items.map(({ priceCents: itemCents, ...item }) => ({ ...item, price: fromCents(itemCents) })),
    }),
  })
  .version(3, OrderV3, {
    up: (v2) => ({ ...v2, status: splitDone(v2.status, v2.delivered_at) }),
    down: (v3) => ({ ...v3, status: v3.status === 'shipped' || v3.status === 'delivered' ? 'done' : v3.status }),
  })
  .version(4, OrderV4, {
    up: ({ items, ...rest }) => ({
      ...rest,
      lines: items.map(({ sku, qty, priceCents }) => ({ sku, quantity: qty, unitPriceCents: priceCents, totalCents: qty * priceCents })),
    }),
    down: ({ lines, ...rest }) => ({
      ...rest,
      items: lines.map(({ sku, quantity, unitPriceCents }) => ({ sku, qty: quantity, priceCents: unitPriceCents })),
    }),
  });

/** An order as the app sees it: the latest version. */
export type OrderDoc = Infer<typeof Order>;
