/**
 * Writes users and orders at every version with the raw driver, the way three releases of an app
 * would have left them: `npx tsx examples/app/seed.ts` (MONGODB_URI and MOLT_DB as for the server).
 * Replaces what the two collections held.
 */
import { MongoClient } from 'mongodb';

const created_at = new Date('2023-01-15T09:30:00Z');

/** What each release stored: the first had no version field at all. */
export const seedUsers = [
  { _id: 'ada', full_name: 'Ada Lovelace', created_at },
  { _id: 'plato', full_name: 'Plato', created_at, schemaVersion: 1 },
  { _id: 'grace', display_name: 'Grace Brewster Hopper', email: 'grace@example.org', created_at, schemaVersion: 2 },
  { _id: 'alan', name: { given: 'Alan', family: 'Turing' }, email: null, created_at, schemaVersion: 3 },
];

export const seedOrders = [
  { _id: 'o-1', customer_id: 'ada', status: 'done', price: '12.50', items: [{ sku: 'tea', qty: 2, price: '6.25' }] },
  { _id: 'o-2', customer_id: 'ada', status: 'paid', priceCents: 300, items: [{ sku: 'pen', qty: 3, priceCents: 100 }], schemaVersion: 2 },
  {
    _id: 'o-3', customer_id: 'grace', status: 'delivered', priceCents: 999, delivered_at: created_at,
    lines: [{ sku: 'ink', quantity: 1, unitPriceCents: 999, totalCents: 999 }], schemaVersion: 4,
  },
];

/** Empties both collections and writes the seed documents. */
export async function seed(uri: string, dbName: string): Promise<void> {
  const client = await MongoClient.connect(uri);
  try {
    const db = client.db(dbName);
    // Raw documents of any version: string ids, any fields.
    const users = db.collection<{ _id: string }>('users');
    const orders = db.collection<{ _id: string }>('orders');
    await users.deleteMany({});
    await orders.deleteMany({});
    await users.insertMany(seedUsers);
    await orders.insertMany(seedOrders);
  } finally {
    await client.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dbName = process.env.MOLT_DB ?? 'molt_example';
  await seed(process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017', dbName);
  console.log(`seeded ${dbName}: ${seedUsers.length} users (v1 unversioned, v1, v2, v3), ${seedOrders.length} orders (v1, v2, v4)`);
}
