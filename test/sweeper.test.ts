import { MongoClient } from 'mongodb';
import { beforeEach, describe, expect, inject, it } from 'vitest';
import {
  InvalidOptionError,
  listFailures,
  sweep,
  SweepStatus,
  type SweepProgress,
  type SweepStateDocument,
} from 'mongo-molt';
import { FixedUser, mixedUsers, User, type RawUser } from './fixtures/schemas.js';
import { ManualClock, withClock } from './fixtures/manual-clock.js';
import { itWithAtomicUpdates, useTestDatabase } from './support/database.js';

const { db, uri } = useTestDatabase('sweeper');

const fast = { ratePerSecond: Infinity, pauseMs: 0 } as const;

let name = '';
let counter = 0;
beforeEach(() => {
  name = `users_${++counter}`;
});
const users = () => db.collection<RawUser>(name);
const states = () => db.collection<SweepStateDocument>('molt_state');

/** 30 mixed stale users, 5 at the latest version, 2 whose upcaster throws, 1 that fails validation, 1 newer, 1 with a broken version. */
async function seedMixed(): Promise<void> {
  await users().insertMany([
    ...mixedUsers(30),
    ...Array.from({ length: 5 }, (_, i) => ({ _id: `latest${i}`, display_name: `L${i}`, email: null, tags: ['x'], schemaVersion: 3 })),
    { _id: 'fail-upcast-1', full_name: 'FAIL', schemaVersion: 1 },
    { _id: 'fail-upcast-2', full_name: 'FAIL' },
    { _id: 'fail-validation', full_name: '', schemaVersion: 1 },
    { _id: 'newer', shape: 'from the future', schemaVersion: 4 },
    { _id: 'broken-version', full_name: 'B', schemaVersion: 'one' },
  ]);
}

describe('sweep', () => {
  it('migrates exactly the stale documents, records failures untouched, and a second run migrates nothing', async () => {
    await seedMixed();
    const before = new Map((await users().find().toArray()).map((doc) => [doc._id, doc]));
    const report = await sweep(users(), User, { ...fast, batchSize: 7 });
    expect(report).toMatchObject({ status: SweepStatus.COMPLETE, scanned: 33, migrated: 30, skipped: 0, failed: 3, remaining: 3, collection: name, targetVersion: 3, pass: 1, dryRun: false });
    expect(report.elapsedMs).toBeGreaterThanOrEqual(0);

    const after = await users().find().toArray();
    for (const doc of after) {
      const id = String(doc._id);
      if (/^u\d+$/.test(id)) {
        expect(doc.schemaVersion).toBe(3);
        expect(User.schema.safeParse(doc).success).toBe(true);
        expect(doc.tags).toEqual([]);
        expect(doc.nickname).toBe(before.get(id)?.nickname); // fields an upcaster keeps are kept
        expect(doc).not.toHaveProperty('full_name');
      } else {
        expect(doc).toEqual(before.get(id)); // latest, failing, newer and broken documents are untouched
      }
    }

    const failures = await listFailures(users());
    expect(failures.map((failure) => failure.documentId).sort()).toEqual(['fail-upcast-1', 'fail-upcast-2', 'fail-validation']);
    const upcast = failures.find((failure) => failure.documentId === 'fail-upcast-2');
    expect(upcast).toMatchObject({ collection: name, schema: 'user', fromVersion: 1, toVersion: 3, attempts: 1, error: { name: 'UpcastError' } });
    expect(upcast?.error.message).toContain('cannot split the name');
    expect(upcast?.firstAt).toBeInstanceOf(Date);
    expect(upcast).not.toHaveProperty('document');
    expect(failures.find((failure) => failure.documentId === 'fail-validation')?.error.name).toBe('ValidationError');

    const state = await states().findOne({ _id: `${name}:user` });
    expect(state?.lease).toBeNull();
    expect(state?.checkpoint).toMatchObject({ pass: 1, targetVersion: 3, migrated: 30, failed: 3 });
    expect(state?.checkpoint?.completedAt).toBeInstanceOf(Date);
    expect(state?.lastRun).toMatchObject({ status: 'complete', migrated: 30 });

    const indexes = await users().listIndexes().toArray();
    const staleIndex = indexes.find((index) => JSON.stringify(index.key) === JSON.stringify({ schemaVersion: 1, _id: 1 }));
    expect(staleIndex).toBeDefined();
    // Unique only where the server needs it for lookups (mongo-java-server); elsewhere a plain index is cheaper for every write.
    expect(Boolean(staleIndex?.unique)).toBe(inject('serverFeatures').kind === 'mongo-java-server');

    const second = await sweep(users(), User, fast);
    expect(second).toMatchObject({ status: 'complete', scanned: 0, migrated: 0, skipped: 0, failed: 0, remaining: 3, pass: 2 });
    expect((await listFailures(users()))[0]?.attempts).toBe(1); // known failures are not driven again without retryFailed
  });

  it('with retryFailed drives recorded failures again after a fix and clears those that now migrate', async () => {
    await seedMixed();
    await sweep(users(), User, fast);
    await users().deleteOne({ _id: 'fail-upcast-1' }); // gone since: its record is cleared too
    const retried = await sweep(users(), FixedUser, { ...fast, retryFailed: true });
    expect(retried).toMatchObject({ status: 'complete', migrated: 1, failed: 1, remaining: 1 });
    expect(await users().findOne({ _id: 'fail-upcast-2' })).toMatchObject({ display_name: 'Fail', schemaVersion: 3 });
    const failures = await listFailures(users());
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ documentId: 'fail-validation', attempts: 2 });
  });

  it('dryRun reports what would happen and writes nothing at all', async () => {
    await seedMixed();
    const before = await users().find().sort({ _id: 1 }).toArray();
    const report = await sweep(users(), User, { ...fast, dryRun: true, batchSize: 4 });
    expect(report).toMatchObject({ status: 'complete', dryRun: true, scanned: 33, migrated: 30, failed: 3, remaining: 3 });
    expect(await users().find().sort({ _id: 1 }).toArray()).toEqual(before);
    expect(await states().countDocuments({ _id: `${name}:user` })).toBe(0);
    expect(await listFailures(users())).toEqual([]);
    expect((await users().listIndexes().toArray()).map((index) => index.name)).toEqual(['_id_']);
  });

  it('stores the failing document only with captureDocuments', async () => {
    await users().insertOne({ _id: 'f', full_name: 'FAIL', schemaVersion: 1, secret: 'personal' });
    await sweep(users(), User, { ...fast, captureDocuments: true });
    const [failure] = await listFailures(users());
    expect(failure?.document).toEqual({ _id: 'f', full_name: 'FAIL', schemaVersion: 1, secret: 'personal' });
  });

  it('stops with status failed at maxFailures', async () => {
    await users().insertMany([
      ...Array.from({ length: 10 }, (_, i) => ({ _id: `f${i}`, full_name: 'FAIL' })),
      ...mixedUsers(10, 'z'),
    ]);
    const report = await sweep(users(), User, { ...fast, batchSize: 3, maxFailures: 4 });
    expect(report.status).toBe(SweepStatus.FAILED);
    expect(report.failed).toBeGreaterThanOrEqual(4);
    expect(report.failed).toBeLessThan(10);
    expect(report.error?.name).toBe('MaxFailures');
    expect((await states().findOne({ _id: `${name}:user` }))?.lease).toBeNull();
  });

  it('records a document the server refuses to write as a failure and goes on', async () => {
    await users().createIndex({ display_name: 1 }, { unique: true, sparse: true });
    await users().insertMany([
      { _id: 'a', full_name: 'Same', schemaVersion: 1 },
      { _id: 'b', full_name: 'Same', schemaVersion: 1 },
      { _id: 'c', full_name: 'Other', schemaVersion: 1 },
    ]);
    const report = await sweep(users(), User, fast);
    expect(report).toMatchObject({ status: 'complete', failed: 1 });
    expect(report.migrated + report.skipped).toBe(2); // FerretDB may have applied some of the bulk before it failed whole
    const [failure] = await listFailures(users());
    expect(failure).toMatchObject({ documentId: 'b', fromVersion: 1, error: { name: 'WriteError' } });
  });

  it('writes batches of more than 100 documents (in bulks of 64 on FerretDB, which hangs on larger ones)', async () => {
    await users().insertMany(mixedUsers(250));
    const report = await sweep(users(), User, { ...fast, batchSize: 250 });
    expect(report).toMatchObject({ status: 'complete', migrated: 250, skipped: 0 });
    expect(await users().countDocuments({ schemaVersion: 3 })).toBe(250);
  });

  it('reports progress after every batch with a decreasing estimate of what remains', async () => {
    await users().insertMany(mixedUsers(25));
    const progress: SweepProgress[] = [];
    const clock = new ManualClock();
    const report = await sweep(users(), User, withClock({ batchSize: 10, ratePerSecond: 10, pauseMs: 0, onProgress: (p) => progress.push(p) }, clock));
    expect(report.status).toBe('complete');
    expect(progress.map((p) => p.scanned)).toEqual([10, 20, 25]);
    expect(progress.map((p) => p.remaining)).toEqual([15, 5, 0]);
    expect(progress[0]?.collection).toBe(name);
    expect(progress[1]?.ratePerSecond).toBeGreaterThan(0);
    expect(progress[1]?.etaMs).toBeGreaterThan(0);
  });

  it('throttles with a token bucket: waits only for the tokens it lacks (injected clock)', async () => {
    await users().insertMany(mixedUsers(100));
    const clock = new ManualClock();
    const report = await sweep(users(), User, withClock({ batchSize: 10, ratePerSecond: 20, pauseMs: 0 }, clock));
    expect(report.migrated).toBe(100);
    // The first batch (10 documents) goes at once; the other 90 wait for tokens at 20/s: no second's burst up front.
    expect(clock.slept).toBeCloseTo(4500, 0);
    expect(clock.sleeps.every((ms) => ms <= 500 + 1e-6)).toBe(true);

    const paused = new ManualClock();
    await users().updateMany({}, { $set: { schemaVersion: 2 } });
    await sweep(users(), User, withClock({ batchSize: 25, ratePerSecond: Infinity, pauseMs: 100 }, paused));
    expect(paused.sleeps).toEqual([100, 100, 100, 100]);
  });

  it('stops at the time budget with status partial and the next run resumes at the checkpoint', async () => {
    await users().insertMany(mixedUsers(60));
    const clock = new ManualClock();
    const first = await sweep(users(), User, withClock({ batchSize: 10, ratePerSecond: 10, pauseMs: 0, maxDurationMs: 1500 }, clock));
    expect(first.status).toBe(SweepStatus.PARTIAL);
    expect(first.migrated).toBe(30); // 10 free, then 1 s per batch: the budget is spent after the third batch
    const state = await states().findOne({ _id: `${name}:user` });
    expect(state?.checkpoint).toMatchObject({ pass: 1, lastId: 'u000029', migrated: 30, completedAt: null });
    expect(state?.lease).toBeNull();

    // A stale document before the checkpoint: the resumed pass starts after lastId, so it never sees it.
    await users().insertOne({ _id: 'a-before-checkpoint', full_name: 'Early', schemaVersion: 1 });
    const second = await sweep(users(), User, fast);
    // The pass ends with it left: partial (the recount finds it), and the next pass takes it.
    expect(second).toMatchObject({ status: 'partial', pass: 1, scanned: 30, migrated: 30, remaining: 1 });
    expect((await states().findOne({ _id: `${name}:user` }))?.checkpoint).toMatchObject({ pass: 1, migrated: 60 });
    expect(await users().countDocuments({ schemaVersion: 3 })).toBe(60);
    expect(await users().findOne({ _id: 'a-before-checkpoint' })).toMatchObject({ schemaVersion: 1 });
    expect(await sweep(users(), User, fast)).toMatchObject({ status: 'complete', pass: 2, scanned: 1, migrated: 1, remaining: 0 });
  });

  it('stops between batches when the signal aborts, saving the checkpoint', async () => {
    await users().insertMany(mixedUsers(30));
    const controller = new AbortController();
    const report = await sweep(users(), User, { ...fast, batchSize: 10, signal: controller.signal, onProgress: () => controller.abort() });
    expect(report).toMatchObject({ status: 'partial', migrated: 10 });
    expect((await states().findOne({ _id: `${name}:user` }))?.checkpoint).toMatchObject({ lastId: 'u000009' });
  });

  it('starts a new pass when the schema gained a version since the checkpoint', async () => {
    await users().insertMany(mixedUsers(6));
    await states().insertOne({
      _id: `${name}:user`, collection: name, schema: 'user', lease: null, lastRun: null,
      checkpoint: { pass: 4, targetVersion: 2, lastId: 'u000005', scanned: 6, migrated: 6, skipped: 0, failed: 0, startedAt: new Date(), updatedAt: new Date(), completedAt: null },
    });
    const report = await sweep(users(), User, fast);
    expect(report).toMatchObject({ status: 'complete', pass: 5, migrated: 6 });
  });

  it('reports locked while another run holds the lease, and takes over an expired lease', async () => {
    await users().insertMany(mixedUsers(5));
    const lease = { owner: 'other-host:1:abcd', host: 'other-host', pid: 1, acquiredAt: new Date() };
    await states().insertOne({ _id: `${name}:user`, collection: name, schema: 'user', checkpoint: null, lastRun: null, lease: { ...lease, expiresAt: new Date(Date.now() + 60_000) } });
    const locked = await sweep(users(), User, fast);
    expect(locked).toMatchObject({ status: SweepStatus.LOCKED, scanned: 0, migrated: 0, error: { name: 'LeaseHeld' } });
    expect(locked.error?.message).toContain('other-host');
    expect(await users().countDocuments({ schemaVersion: 3 })).toBe(0);
    expect((await states().findOne({ _id: `${name}:user` }))?.lease?.owner).toBe(lease.owner); // untouched

    await states().updateOne({ _id: `${name}:user` }, { $set: { 'lease.expiresAt': new Date(Date.now() - 1000) } });
    const takeover = await sweep(users(), User, fast);
    expect(takeover).toMatchObject({ status: 'complete', migrated: 5 });
    expect((await states().findOne({ _id: `${name}:user` }))?.lease).toBeNull();
  });

  itWithAtomicUpdates('two sweepers started together: one sweeps, the other reports locked', async () => {
    await users().insertMany(mixedUsers(200));
    const reports = await Promise.all([sweep(users(), User, { ...fast, batchSize: 20 }), sweep(users(), User, { ...fast, batchSize: 20 })]);
    const statuses = reports.map((report) => report.status).sort();
    expect(statuses).toEqual(['complete', 'locked']);
    expect(reports.reduce((sum, report) => sum + report.migrated, 0)).toBe(200);
    expect(await users().countDocuments({ schemaVersion: 3 })).toBe(200);
  });

  it('does not fail when the index exists already, under another name', async () => {
    await users().insertMany(mixedUsers(3));
    await users().createIndex({ schemaVersion: 1, _id: 1 }, { name: 'custom_version_index' });
    expect((await sweep(users(), User, fast)).status).toBe('complete');
    const matching = (await users().listIndexes().toArray()).filter((index) => JSON.stringify(index.key) === '{"schemaVersion":1,"_id":1}');
    expect(matching.map((index) => index.name)).toEqual(['custom_version_index']);
  });

  it('reports aborted (and does not throw) when an error is not transient', async () => {
    await users().insertMany(mixedUsers(3));
    const closed = new MongoClient(uri);
    await closed.connect();
    await closed.close();
    const report = await sweep(closed.db(db.databaseName).collection(name), User, fast);
    expect(report.status).toBe(SweepStatus.ABORTED);
    expect(report.error?.name).toMatch(/^Mongo/);
    expect(await users().countDocuments({ schemaVersion: 3 })).toBe(0);
  });

  it('rejects bad options with an InvalidOptionError before any I/O', async () => {
    const offline = new MongoClient('mongodb://127.0.0.1:9/', { serverSelectionTimeoutMS: 60_000 });
    const collection = offline.db('x').collection('y');
    const bad: [string, Record<string, unknown>][] = [
      ['batchSize', { batchSize: 0 }],
      ['batchSize', { batchSize: 1.5 }],
      ['ratePerSecond', { ratePerSecond: -1 }],
      ['pauseMs', { pauseMs: Number.NaN }],
      ['maxDurationMs', { maxDurationMs: 0 }],
      ['dryRun', { dryRun: 'yes' }],
      ['maxFailures', { maxFailures: 0 }],
      ['leaseMs', { leaseMs: 10 }],
      ['stateCollection', { stateCollection: '' }],
      ['batchSzie', { batchSzie: 10 }],
    ];
    for (const [option, options] of bad) {
      const error = await sweep(collection, User, options).catch((thrown: unknown) => thrown);
      expect(error, option).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).option).toBe(option);
    }
    await expect(sweep(collection, {} as never)).rejects.toBeInstanceOf(InvalidOptionError);
    await offline.close();
  });
});
