import { describe, expect, it } from 'vitest';
import { FIXTURE_CONFIG, runMolt } from './fixtures/run-molt.js';
import { useTestDatabase } from './support/database.js';

const { db, uri } = useTestDatabase('cli_modes');
const env = { MONGODB_URI: uri, MOLT_TEST_DB: db.databaseName };
const sweep = (args: readonly string[]) => runMolt(['sweep', 'users', '--config', FIXTURE_CONFIG, ...args], { env });

describe('molt sweep --to and --mode', () => {
  it('refuse what the schema cannot do with exit 2, naming the step, before any write', async () => {
    await db.collection('users').insertOne({ _id: 'u1', full_name: 'Ada' } as never);
    const reverse = await sweep(['--to', '1']);
    expect(reverse.code).toBe(2);
    expect(reverse.stderr).toMatch(/reverse sweep to version 1 needs a downcaster/);
    const server = await sweep(['--mode', 'server']);
    expect(server.code).toBe(2);
    expect(server.stderr).toMatch(/is a function/);
    const bogus = await sweep(['--mode', 'fast']);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toMatch(/--mode expects auto, client or server/);
    expect(await db.collection('users').findOne({ _id: 'u1' } as never)).toEqual({ _id: 'u1', full_name: 'Ada' });
  });

  it('--mode client runs as before and says so in the JSON report', async () => {
    await db.collection('users').insertOne({ _id: 'u2', full_name: 'Bob' } as never);
    const result = await sweep(['--mode', 'client', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject([{ status: 'complete', mode: 'client', serverVersions: [] }]);
  });
});

describe('molt restore and molt prune', () => {
  it('restore puts originals back (exit 0), reports skipped ones (exit 1); prune deletes expired ones', async () => {
    await db.collection('users').insertMany([{ _id: 'r1', full_name: 'Ada' }, { _id: 'r2', full_name: 'Bob' }] as never[]);
    const { sweep, versioned } = await import('mongo-molt');
    const { User } = await import('./fixtures/schemas.js');
    await sweep(db.collection('users'), User, { archive: true, ratePerSecond: Infinity, pauseMs: 0 });
    const dry = await runMolt(['restore', 'users', '--config', FIXTURE_CONFIG, '--dry-run', '--json'], { env });
    expect(JSON.parse(dry.stdout)).toMatchObject([{ restored: 2, skipped: 0, missing: 0, dryRun: true }]);
    await versioned(db.collection('users'), User).updateOne({ _id: 'r2' }, { $set: { email: 'bob@x' } });
    const result = await runMolt(['restore', 'users', '--config', FIXTURE_CONFIG], { env });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/users: restored 1, skipped 1 \(changed since their migration\), missing 0/);
    expect(await db.collection('users').findOne({ _id: 'r1' } as never)).toEqual({ _id: 'r1', full_name: 'Ada' });
    const pruned = await runMolt(['prune', '--config', FIXTURE_CONFIG, '--json'], { env });
    expect(pruned.code).toBe(0);
    expect(JSON.parse(pruned.stdout)).toEqual([{ db: db.databaseName, deleted: 0 }]); // one JSON shape: an array of entries, each naming its database
    const since = await runMolt(['restore', '--config', FIXTURE_CONFIG, '--since', 'yesterday-ish'], { env });
    expect(since.code).toBe(2);
  });
});

describe('molt check --round-trip', () => {
  it('reports the round trip in the JSON report and the summary', async () => {
    await db.collection('users').insertMany([{ _id: 'rt1', full_name: 'Ada' }] as never[]);
    const json = await runMolt(['check', 'users', '--config', FIXTURE_CONFIG, '--round-trip', '--json'], { env });
    const [report] = JSON.parse(json.stdout) as { roundTrip: { checked: number; lossy: number; noDown: number } }[];
    // The fixture's steps have no downcasters: every stale document checked has no way down.
    expect(report?.roundTrip.checked).toBeGreaterThan(0);
    expect(report?.roundTrip).toEqual({ checked: report?.roundTrip.checked, lossy: 0, noDown: report?.roundTrip.checked, examples: expect.any(Array), down: expect.any(Object) });
    // Documents at the latest version (left by the tests before) have no way down either.
    const down = (report?.roundTrip as unknown as { down: { checked: number; lossy: number; noDown: number } }).down;
    expect(down).toMatchObject({ lossy: 0, noDown: down.checked });
    const text = await runMolt(['check', 'users', '--config', FIXTURE_CONFIG, '--round-trip'], { env });
    expect(text.stdout).toMatch(/round trip \(up to v3, down to the stored version\)/);
  });
});
