/**
 * One process of range workers, for the workers benchmark: `node --import tsx bench/workers-child.ts <uri> <db> <collection> <workers> <batchSize>`.
 * Prints `{"startedAt": …, "finishedAt": …, "migrated": …, "maxRssKiB": …}` (wall-clock milliseconds); the parent seeded the collection.
 */
import { MongoClient } from 'mongodb';
import { sweep } from '../src/index.js';
import { BenchUser } from './sweep-schema.js';

const [uri, dbName, collectionName, workers, batchSize] = process.argv.slice(2);
if (!uri || !dbName || !collectionName || !workers || !batchSize) throw new Error('usage: workers-child.ts <uri> <db> <collection> <workers> <batchSize>');
const client = new MongoClient(uri);
await client.connect();
const startedAt = Date.now();
const report = await sweep(client.db(dbName).collection(collectionName), BenchUser, { workers: Number(workers), batchSize: Number(batchSize), ratePerSecond: Infinity, pauseMs: 0, mode: 'client' });
const finishedAt = Date.now();
await client.close();
process.stdout.write(`${JSON.stringify({ startedAt, finishedAt, migrated: report.migrated, status: report.status, maxRssKiB: process.resourceUsage().maxRSS })}\n`);
