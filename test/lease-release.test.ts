/**
 * A lease never outlives its run: an acquisition whose reply is lost (the server took the lease,
 * the run never heard of it) and which the time budget then cuts off is released by the run's
 * owner token, so the next run is not locked out until the lease expires.
 */
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sweep, SweepStatus, type SweepStateDocument } from 'mongo-molt';
import { mixedUsers, User, type RawUser } from './fixtures/schemas.js';
import { useTestDatabase } from './support/database.js';
import { TcpProxy } from './support/tcp-proxy.js';

const { db, uri } = useTestDatabase('lease_release');

let proxy: TcpProxy;
let client: MongoClient;
beforeAll(async () => {
  proxy = await TcpProxy.start(uri);
  client = new MongoClient(proxy.uri, { serverSelectionTimeoutMS: 5_000, monitorCommands: true });
  await client.connect();
});
afterAll(async () => {
  await client.close().catch(() => undefined);
  await proxy.close();
});

it('an acquisition cut off by the time budget after the server took the lease: the run releases it by its owner token; the next run sweeps at once', async () => {
  await db.collection<RawUser>('users').insertMany(mixedUsers(40));
  const users = client.db(db.databaseName).collection<RawUser>('users');
  let cut = false;
  const onStarted = (event: { commandName: string; command: Record<string, unknown> }): void => {
    if (!cut && event.commandName === 'findAndModify' && event.command.findAndModify === 'molt_state') {
      cut = true;
      proxy.loseReplies();
    }
  };
  client.on('commandStarted', onStarted);
  const report = await sweep(users, User, { batchSize: 20, ratePerSecond: Infinity, pauseMs: 0, maxDurationMs: 1_500, maxRetries: 0 });
  client.off('commandStarted', onStarted);
  expect(cut).toBe(true);
  expect(report.status).toBe(SweepStatus.PARTIAL);
  expect(report.migrated).toBe(0);

  const state = await db.collection<SweepStateDocument>('molt_state').findOne({ _id: 'users:user' });
  expect(state?.lease ?? null).toBeNull();
  const next = await sweep(users, User, { batchSize: 20, ratePerSecond: Infinity, pauseMs: 0 });
  expect(next).toMatchObject({ status: 'complete', migrated: 40 });
}, 30_000);

it('a lease outlasts a batch slower than leaseMs: the heartbeat renews it, a second run finds it held, the first completes', async () => {
  const items = db.collection<RawUser>('items');
  await items.insertMany(mixedUsers(30));
  // 10 documents at 4 a second: 2.5 s a batch against a 1 s lease.
  const first = sweep(items, User, { batchSize: 10, ratePerSecond: 4, pauseMs: 0, leaseMs: 1_000 });
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const second = await sweep(items, User, { batchSize: 10, ratePerSecond: Infinity, pauseMs: 0, leaseMs: 1_000 });
  expect(second.status).toBe(SweepStatus.LOCKED);
  const report = await first;
  expect(report).toMatchObject({ status: 'complete', migrated: 30 });
}, 60_000);
