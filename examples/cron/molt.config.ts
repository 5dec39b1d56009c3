/**
 * The `molt` CLI's configuration for the example app's collections. The connection string comes
 * from MONGODB_URI (keep credentials out of this file); MOLT_DB picks the database.
 */
import { defineConfig } from 'mongo-molt';
import { Order } from '../../schemas/orders.js';
import { User } from '../../schemas/users.js';

export default defineConfig({
  db: process.env.MOLT_DB ?? 'molt_example',
  collections: [
    // 2,000 documents a second in batches of 500, with 50 ms between batches for the app's own queries.
    { name: 'users', schema: User, batchSize: 500, ratePerSecond: 2000, pauseMs: 50 },
    { name: 'orders', schema: Order, batchSize: 200, ratePerSecond: 1000, pauseMs: 100 },
  ],
});
