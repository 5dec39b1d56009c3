/**
 * `maxDurationMs` holds against a server that stops answering: a proxy in front of the server
 * black-holes the traffic mid-sweep (bytes accepted, nothing answered). Before the fix the sweep
 * waited forever in its read; now the operation still running when the budget runs out is cut off,
 * the run reports `partial`, and once the server answers again the next run completes.
 */
import { MongoClient } from 'mongodb';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sweep, SweepStatus, type SweepStateDocument } from 'mongo-molt';
import { mixedUsers, User, type RawUser } from './fixtures/schemas.js';
import { useTestDatabase } from './support/database.js';
import { TcpProxy } from './support/tcp-proxy.js';

const { db, uri } = useTestDatabase('sweeper_time_budget');
const TOTAL = 300;
/** What the run may take past its budget: the writes of the batch in flight (1 s), the final recount (1 s), the lease release (2 s), and some slack. */
const MARGIN_MS = 5_500;

let proxy: TcpProxy;
let client: MongoClient;
beforeAll(async () => {
  proxy = await TcpProxy.start(uri);
  client = new MongoClient(proxy.uri, { serverSelectionTimeoutMS: 5_000 });
  await client.connect();
});
afterAll(async () => {
  await client.close().catch(() => undefined);
  await proxy.close();
});

it('a server that stops answering mid-sweep: the operation is cut off at maxDurationMs, the run reports partial, the next run completes', async () => {
  await db.collection<RawUser>('users').insertMany(mixedUsers(TOTAL));
  const users = client.db(db.databaseName).collection<RawUser>('users');
  const budget = 1_500;
  const started = performance.now();
  let batches = 0;
  const report = await sweep(users, User, {
    batchSize: 20, ratePerSecond: 200, pauseMs: 0, maxDurationMs: budget, retryDelayMs: 50,
    // After the second batch the server stops answering, long before the budget is spent.
    onProgress: () => {
      if (++batches === 2) proxy.blackHole();
    },
  });
  const elapsed = performance.now() - started;
  expect(proxy.mode).toBe('black-hole');
  expect(report.status).toBe(SweepStatus.PARTIAL);
  expect(report.error?.name).toBe('TimeBudgetSpent');
  // The budget named is the one given, not what was left of it after reading the control.
  expect(report.error?.message).toContain(`(${budget} ms)`);
  expect(elapsed).toBeGreaterThanOrEqual(budget - 50);
  expect(elapsed).toBeLessThan(budget + MARGIN_MS);
  expect(report.migrated).toBeGreaterThanOrEqual(40);
  expect(report.migrated).toBeLessThan(TOTAL);

  proxy.resume();
  // The release could not reach the server: the lease is still held; expire it rather than wait.
  const states = db.collection<SweepStateDocument>('molt_state');
  await states.updateOne({ _id: 'users:user', lease: { $ne: null } }, { $set: { 'lease.expiresAt': new Date(Date.now() - 1_000) } });
  const stale = await db.collection('users').countDocuments({ schemaVersion: { $ne: 3 } });
  const resumed = await sweep(users, User, { batchSize: 100, ratePerSecond: Infinity, pauseMs: 0 });
  expect(resumed).toMatchObject({ status: 'complete', failed: 0 });
  expect(resumed.migrated + resumed.skipped).toBe(stale);
  expect(await db.collection('users').countDocuments({})).toBe(TOTAL);
  expect(await db.collection('users').countDocuments({ schemaVersion: 3 })).toBe(TOTAL);
}, 30_000);

it('with workers too: the cut-off is reported (TimeBudgetSpent), within the budget and its margin', async () => {
  await db.collection<RawUser>('workers_users').insertMany(mixedUsers(TOTAL));
  const users = client.db(db.databaseName).collection<RawUser>('workers_users');
  const budget = 1_500;
  const started = performance.now();
  let batches = 0;
  proxy.resume();
  const report = await sweep(users, User, {
    batchSize: 20, ratePerSecond: 200, pauseMs: 0, maxDurationMs: budget, retryDelayMs: 50, workers: 2,
    onProgress: () => {
      if (++batches === 2) proxy.blackHole();
    },
  });
  const elapsed = performance.now() - started;
  proxy.resume();
  expect(report.status).toBe(SweepStatus.PARTIAL);
  expect(report.error?.name).toBe('TimeBudgetSpent');
  // The budget named is the one given, not what was left of it after planning.
  expect(report.error?.message).toContain(`(${budget} ms)`);
  expect(elapsed).toBeLessThan(budget + MARGIN_MS);
}, 60_000);

it('a server that stops answering: the lease heartbeat waits for its renewal in flight instead of piling up one per beat', async () => {
  await db.collection<RawUser>('heartbeat_users').insertMany(mixedUsers(TOTAL));
  proxy.resume();
  const own = new MongoClient(proxy.uri, { serverSelectionTimeoutMS: 5_000 });
  await own.connect();
  const lines: { msg: string }[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) });
  try {
    const users = own.db(db.databaseName).collection<RawUser>('heartbeat_users');
    let batches = 0;
    // A beat every 100 ms: the 1.5 s or so left of the budget once the server stops answering hold 15 beats.
    const report = await sweep(users, User, {
      batchSize: 20, ratePerSecond: 200, pauseMs: 0, maxDurationMs: 2_000, leaseMs: 300, retryDelayMs: 50, logger,
      onProgress: () => {
        if (++batches === 2) proxy.blackHole();
      },
    });
    expect(proxy.mode).toBe('black-hole');
    expect(report.status).toBe(SweepStatus.PARTIAL);
  } finally {
    // Resuming resets the connections that dropped bytes: every renewal still waiting for an
    // answer fails, and each one logs its failure.
    proxy.resume();
    await own.close(true).catch(() => undefined);
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  const failedBeats = lines.filter((line) => line.msg.startsWith('lease heartbeat failed')).length;
  // One renewal went out and never came back; the beats after it did not send one each.
  expect(failedBeats).toBeGreaterThanOrEqual(1);
  expect(failedBeats).toBeLessThanOrEqual(2);
}, 60_000);
