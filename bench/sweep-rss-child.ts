/**
 * One sweep in a process of its own, for its peak RSS: `node --import tsx bench/sweep-rss-child.ts <uri> <db> <collection> <batchSize> [dry-run]`.
 * Prints `{"maxRssKiB": …, "migrated": …}`; the parent seeded the collection.
 */
import { MongoClient } from 'mongodb';
import { sweep } from '../src/index.js';
import { BenchUser } from './sweep-schema.js';

const [uri, dbName, collectionName, batchSize, mode] = process.argv.slice(2);
if (!uri || !dbName || !collectionName || !batchSize) throw new Error('usage: sweep-rss-child.ts <uri> <db> <collection> <batchSize>');
const client = new MongoClient(uri);
await client.connect();
const report = await sweep(client.db(dbName).collection(collectionName), BenchUser, { batchSize: Number(batchSize), ratePerSecond: Infinity, pauseMs: 0, dryRun: mode === 'dry-run' });
await client.close();
process.stdout.write(`${JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS, migrated: report.migrated, status: report.status })}\n`);
