/**
 * A sweeper in a process of its own, for the kill test:
 * `node --import tsx sweep-child.ts <uri> <db> <collection>`. Prints `progress <migrated>` after
 * every batch, then the report as JSON. The test SIGKILLs it at random points.
 */
import { MongoClient } from 'mongodb';
import { sweep } from '../../src/index.js';
import { User } from '../fixtures/schemas.js';

const [uri, dbName, collectionName] = process.argv.slice(2);
if (!uri || !dbName || !collectionName) throw new Error('usage: sweep-child.ts <uri> <db> <collection>');
const client = new MongoClient(uri);
await client.connect();
const report = await sweep(client.db(dbName).collection(collectionName), User, {
  batchSize: 20,
  ratePerSecond: 1_000,
  pauseMs: 0,
  leaseMs: 60_000,
  onProgress: (progress) => process.stdout.write(`progress ${progress.migrated}\n`),
});
process.stdout.write(`report ${JSON.stringify(report)}\n`);
await client.close();
