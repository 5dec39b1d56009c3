/**
 * The stored control of a collection's sweeps, through the library: a pause stops every sweep
 * before it starts (partial, reason `paused`, nothing written); a sweep with `to` below the latest
 * pins the collection, so that a later sweep without `to` (what a scheduled job runs) goes there
 * and not back up; `to` at the latest or `unpinSweeps` clears it. Every report names its reason.
 */
import { hostname } from 'node:os';
import { spawnSync } from 'node:child_process';
import { beforeEach, describe, expect, it } from 'vitest';
type StringIdDocument = { _id: string; [key: string]: unknown };
import { buildStaleIndex, verifyVersion, pauseSweeps, releaseLease, resumeSweeps, sweep, sweepControl, SweepStatus, unpinSweeps, migrationStatus, type SweepStateDocument } from '../src/index.js';
import { Member } from './fixtures/molt-rollback.config.js';
import { useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('sweeper_control');
const fast = { ratePerSecond: Infinity, pauseMs: 0 } as const;
let counter = 0;
let name = '';
beforeEach(() => {
  name = `c${++counter}`;
});
const users = () => db.collection<StringIdDocument>(name);
const versions = async () => (await users().find({}).sort({ _id: 1 }).toArray()).map((doc) => doc.schemaVersion as number | undefined);
const seed = () => users().insertMany([{ _id: 'a', full_name: 'Ann' }, { _id: 'b', full_name: 'Bob', schemaVersion: 1 }, { _id: 'c', display_name: 'Cy', email: null, schemaVersion: 2 }]);

describe('pause', () => {
  it('a paused collection is not swept, by any sweep, until resumed: partial, reason paused, nothing written', async () => {
    await seed();
    const before = await users().find({}).sort({ _id: 1 }).toArray();
    await pauseSweeps(users(), { by: 'the test' });
    expect(await sweepControl(users())).toMatchObject({ paused: { by: 'the test', at: expect.any(Date) }, pin: null });
    const paused = await sweep(users(), Member, fast);
    expect(paused).toMatchObject({ status: SweepStatus.PARTIAL, reason: 'paused', migrated: 0, scanned: 0, remaining: 3 });
    expect(paused.detail).toMatch(/paused by the test on .*; molt resume c\d+ to let sweeps run/);
    // An explicit target does not get past a pause either.
    expect(await sweep(users(), Member, { ...fast, to: 2 })).toMatchObject({ status: SweepStatus.PARTIAL, reason: 'paused' });
    expect(await users().find({}).sort({ _id: 1 }).toArray()).toEqual(before);
    expect((await sweepControl(users())).pin).toBeNull();
    expect(await db.collection<SweepStateDocument>('molt_state').findOne({ _id: `${name}:member` })).toBeNull();
    await resumeSweeps(users());
    expect(await sweep(users(), Member, fast)).toMatchObject({ status: SweepStatus.COMPLETE, migrated: 3 });
    expect(await versions()).toEqual([3, 3, 3]);
  });
});

describe('a pinned target', () => {
  it('a sweep to 2 pins the collection: a sweep without `to` goes to 2, not back up; to the latest (or unpin) clears it', async () => {
    await seed();
    await sweep(users(), Member, fast);
    const down = await sweep(users(), Member, { ...fast, to: 2 });
    expect(down).toMatchObject({ status: SweepStatus.COMPLETE, targetVersion: 2, migrated: 3 });
    expect(down.pinned).toBeUndefined();
    expect((await sweepControl(users())).pin).toMatchObject({ version: 2, by: 'sweep({ to: 2 })' });
    // What cron runs: no target. Before, it moved every document back to v3.
    const cron = await sweep(users(), Member, fast);
    expect(cron).toMatchObject({ status: SweepStatus.COMPLETE, targetVersion: 2, migrated: 0, pinned: { version: 2, by: 'sweep({ to: 2 })' } });
    expect(await versions()).toEqual([2, 2, 2]);
    // A document written at v3 meanwhile (new code not yet pinned) is brought down by the next run.
    await users().insertOne({ _id: 'd', display_name: 'Di', email: null, tags: [], schemaVersion: 3 });
    expect(await sweep(users(), Member, fast)).toMatchObject({ targetVersion: 2, migrated: 1 });
    expect(await versions()).toEqual([2, 2, 2, 2]);
    // A dry run to the latest writes nothing, the pin included.
    expect(await sweep(users(), Member, { ...fast, to: 3, dryRun: true })).toMatchObject({ targetVersion: 3, migrated: 4 });
    expect((await sweepControl(users())).pin).toMatchObject({ version: 2 });
    // To the latest: unpinned, and swept up.
    expect(await sweep(users(), Member, { ...fast, to: 3 })).toMatchObject({ status: SweepStatus.COMPLETE, targetVersion: 3, migrated: 4 });
    expect(await sweepControl(users())).toEqual({ paused: null, pin: null });
    expect(await sweep(users(), Member, fast)).toMatchObject({ targetVersion: 3, migrated: 0 });
  });

  it('unpinSweeps clears the pin; migrationStatus shows pause and pin', async () => {
    await seed();
    await sweep(users(), Member, { ...fast, to: 2 });
    await pauseSweeps(users());
    expect((await migrationStatus(users(), Member)).control).toMatchObject({ paused: { by: 'pauseSweeps()' }, pin: { version: 2 } });
    await resumeSweeps(users());
    await unpinSweeps(users());
    expect((await migrationStatus(users(), Member)).control).toEqual({ paused: null, pin: null });
    expect(await sweep(users(), Member, fast)).toMatchObject({ targetVersion: 3, migrated: 3 });
  });
});

describe('reasons', () => {
  it('a locked run says lock; a complete one has no reason', async () => {
    await seed();
    const now = new Date();
    await db.collection<SweepStateDocument>('molt_state').insertOne({ _id: `${name}:member`, collection: name, schema: 'member', checkpoint: null, lastRun: null, lease: { owner: 'elsewhere', host: 'elsewhere', pid: 1, acquiredAt: now, expiresAt: new Date(now.getTime() + 60_000) } });
    expect(await sweep(users(), Member, fast)).toMatchObject({ status: SweepStatus.LOCKED, reason: 'lock' });
    await db.collection<SweepStateDocument>('molt_state').updateOne({ _id: `${name}:member` }, { $set: { lease: null } });
    const complete = await sweep(users(), Member, fast);
    expect(complete.status).toBe(SweepStatus.COMPLETE);
    expect(complete.reason).toBeUndefined();
  });
});

describe('the stale-version index', () => {
  it('a dry run says it is missing, the first real run builds it, later runs find it; buildStaleIndex builds it alone', async () => {
    await seed();
    expect(await sweep(users(), Member, { ...fast, dryRun: true })).toMatchObject({ staleIndex: 'missing' });
    expect((await migrationStatus(users(), Member)).staleIndex).toMatchObject({ present: false, key: { schemaVersion: 1, _id: 1 }, documents: 3 });
    expect(await sweep(users(), Member, fast)).toMatchObject({ staleIndex: 'built' });
    expect((await migrationStatus(users(), Member)).staleIndex).toMatchObject({ present: true });
    await users().insertOne({ _id: 'z', full_name: 'Zed' });
    expect(await sweep(users(), Member, fast)).toMatchObject({ staleIndex: 'present' });

    const other = db.collection<StringIdDocument>(`${name}_other`);
    await other.insertMany([{ _id: 'a', full_name: 'Ann' }]);
    expect(await buildStaleIndex(other, Member)).toMatchObject({ built: true, present: false, documents: 1 });
    expect(await buildStaleIndex(other, Member)).toMatchObject({ built: false, present: true });
    expect(await other.findOne({ _id: 'a' })).toEqual({ _id: 'a', full_name: 'Ann' });
  });
});

describe('releaseLease', () => {
  const lease = (pid: number, host: string, ms: number) => {
    const now = new Date();
    return { owner: `${host}:${pid}:x`, host, pid, acquiredAt: now, expiresAt: new Date(now.getTime() + ms) };
  };
  const state = () => db.collection<SweepStateDocument>('molt_state');

  it('frees a lease whose process is gone on this host, refuses a live or remote one without force', async () => {
    await seed();
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    await state().insertOne({ _id: `${name}:member`, collection: name, schema: 'member', checkpoint: null, lastRun: null, lease: lease(gone, hostname(), 60_000) });
    expect(await sweep(users(), Member, fast)).toMatchObject({ status: SweepStatus.LOCKED });
    expect(await releaseLease(users(), Member)).toMatchObject({ released: true, lease: 'gone', holder: { pid: gone } });
    expect(await sweep(users(), Member, fast)).toMatchObject({ status: SweepStatus.COMPLETE, migrated: 3 });

    await state().updateOne({ _id: `${name}:member` }, { $set: { lease: lease(process.pid, hostname(), 60_000) } });
    expect(await releaseLease(users(), Member)).toMatchObject({ released: false, lease: 'held' });
    await state().updateOne({ _id: `${name}:member` }, { $set: { lease: lease(1234, 'another-host', 60_000) } });
    expect(await releaseLease(users(), Member)).toMatchObject({ released: false, lease: 'held' });
    expect((await state().findOne({ _id: `${name}:member` }))?.lease).toMatchObject({ host: 'another-host' });
    expect(await releaseLease(users(), Member, { force: true })).toMatchObject({ released: true, lease: 'forced' });
    expect(await releaseLease(users(), Member)).toMatchObject({ released: false, lease: 'free' });
    await state().updateOne({ _id: `${name}:member` }, { $set: { lease: lease(1234, 'another-host', -1000) } });
    expect(await releaseLease(users(), Member)).toMatchObject({ released: true, lease: 'expired' });
  });
});

describe("verify's advice", () => {
  it('tells the documents a sweep migrates from recorded failures and from those no sweep reaches; a pin below the minimum is named', async () => {
    await users().insertMany([{ _id: 'a', full_name: 'Ann' }, { _id: 'bad', display_name: 5, email: null, schemaVersion: 2 }, { _id: 's', full_name: 'Sy', schemaVersion: 'two' }]);
    expect((await verifyVersion(users(), Member, 3)).fix).toEqual({ sweepable: 2, failures: 0, outOfReach: 1, outOfReachExamples: ['s'] });
    await sweep(users(), Member, fast);
    const after = await verifyVersion(users(), Member, 3);
    expect(after).toMatchObject({ ok: false, below: 2 });
    // Before, the advice for all of them was "run molt sweep", which migrates none of them.
    expect(after.fix).toEqual({ sweepable: 1, failures: 1, outOfReach: 1, outOfReachExamples: ['s'] });
    await users().deleteMany({ _id: { $in: ['bad', 's'] } });
    await sweep(users(), Member, { ...fast, to: 2 });
    expect((await verifyVersion(users(), Member, 3)).fix).toMatchObject({ sweepable: 1, failures: 0, outOfReach: 0, pinned: { version: 2 } });
  });
});
