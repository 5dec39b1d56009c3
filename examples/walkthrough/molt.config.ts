/** The walkthrough's `molt` config: one collection, swept quickly (it holds 2,000 users). */
import { defineConfig } from 'mongo-molt';
import { User } from '../../schemas/users.js';

export default defineConfig({
  db: process.env.MOLT_DB ?? 'molt_walkthrough',
  collections: [{ name: 'users', schema: User, batchSize: 500, ratePerSecond: 10_000, pauseMs: 10 }],
});
