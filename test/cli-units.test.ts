import { describe, expect, it } from 'vitest';
import { defineConfig as fromMain, type SweepReport, type SweepStatus } from 'mongo-molt';
import { defineConfig, ExitCode, runCli } from 'mongo-molt/cli';
import { parseCommandLine, parseDuration } from '../src/cli/args.js';
import { exitCodeOf, progressTotal } from '../src/cli/run.js';
import { leaseRisk } from '../src/sweeper/run/lease-risk.js';
import { bar, censusStyle, renderCensus } from '../src/cli/census.js';
import { formatDuration, ProgressDisplay, renderProgress } from '../src/cli/progress.js';
import { redactUri } from '../src/cli/redact.js';
import { mixedUsers, type RawUser } from './fixtures/schemas.js';
import { FIXTURE_CONFIG } from './fixtures/run-molt.js';
import { useTestDatabase } from './support/database.js';

const { db, uri } = useTestDatabase('cli_units');

describe('the version census as bars', () => {
  const histogram = [{ version: null, count: 16 }, { version: 1, count: 17 }, { version: 3, count: 15 }, { version: '"x"', count: 1 }];

  it('draws one line per version: label, a bar as long as its share, the count and the share', () => {
    const lines = renderCensus(histogram, 3, { width: 80, color: false });
    const cells = (text: string) => text.padEnd(40);
    expect(lines).toEqual([
      `none         ${cells('█'.repeat(13))}  16   32.7%`,
      `v1           ${cells(`${'█'.repeat(13)}▉`)}  17   34.7%`,
      `v3           ${cells(`${'█'.repeat(12)}▎`)}  15   30.6%`,
      `invalid "x"  ${cells('▉')}   1    2.0%`,
    ]);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('bars in eighths of a cell; any document shows; the whole collection fills the bar', () => {
    expect(bar(1, 10)).toBe('█'.repeat(10));
    expect(bar(0.5, 10)).toBe('█████');
    expect(bar(0.55, 10)).toBe('█████▌');
    expect(bar(0.0001, 10)).toBe('▏');
    expect(bar(0, 10)).toBe('');
  });

  it('fits the terminal width, down to a 10-cell bar', () => {
    const narrow = renderCensus([{ version: 2, count: 1_000_000 }], 2, { width: 50, color: false }, 14);
    expect(narrow[0]?.length).toBe(50 - 14);
    expect(narrow[0]).toMatch(/^v2 {2}█{13} {2}1,000,000 {2}100\.0%$/);
    expect(renderCensus([{ version: 2, count: 5 }], 2, { width: 20, color: false })[0]).toMatch(/^v2 {2}█{10} {2}5 {2}100\.0%$/);
    expect(renderCensus([], 2, { width: 80, color: false })).toEqual(['(empty)']);
  });

  it('colours the latest version green, other versions yellow, values that are not versions red', () => {
    const [none, , latest, invalid] = renderCensus(histogram, 3, { width: 80, color: true });
    expect(none).toContain('\x1b[33m█');
    expect(latest).toContain('\x1b[32m█');
    expect(invalid).toContain('\x1b[31m▉');
    expect(latest).toContain('\x1b[0m');
  });

  it('bars on a terminal or with MOLT_BARS=1, never with MOLT_BARS=0; colour only on a terminal without NO_COLOR', () => {
    expect(censusStyle({}, false, undefined)).toBeUndefined();
    expect(censusStyle({}, true, 120)).toEqual({ width: 120, color: true });
    expect(censusStyle({ MOLT_BARS: '0' }, true, 120)).toBeUndefined();
    expect(censusStyle({ MOLT_BARS: '1' }, false, undefined)).toEqual({ width: 80, color: false });
    expect(censusStyle({ NO_COLOR: '1' }, true, 100)).toEqual({ width: 100, color: false });
    expect(censusStyle({ NO_COLOR: '' }, true, 100)).toEqual({ width: 100, color: true });
    expect(censusStyle({ TERM: 'dumb' }, true, 100)).toEqual({ width: 100, color: false });
  });
});

describe('the progress bar', () => {
  const frame = { label: 'users', done: 5000, total: 10_000, ratePerSecond: 1950.4, etaMs: 2564, failed: 0 };

  it('renders counts, percent, rate and ETA within the width', () => {
    const line = renderProgress(frame, 80);
    expect(line.length).toBeLessThanOrEqual(80);
    expect(line).toMatch(/^users \[█+░+\] {3}50% {2}5,000\/10,000 {2}1,950\/s {2}ETA 3s$/);
  });

  it('shows failures, unknown totals and ETAs, and never overflows', () => {
    expect(renderProgress({ ...frame, failed: 3 })).toContain('failed 3');
    expect(renderProgress({ ...frame, total: 0, etaMs: undefined })).toMatch(/0% {2}5,000\/\? {2}1,950\/s {2}ETA \?$/);
    expect(renderProgress({ ...frame, done: 10_000 })).toMatch(/\[█+\] +100%/);
    expect(renderProgress({ ...frame, label: 'a-very-long-collection-name' }, 40).length).toBeLessThanOrEqual(40);
  });

  it('formats durations for humans', () => {
    expect([0, 45_000, 200_000, 7_500_000, Number.NaN].map(formatDuration)).toEqual(['0s', '45s', '3m 20s', '2h 05m', '?']);
  });

  it('redraws one line in place, throttled, and ends it with a newline', () => {
    const writes: string[] = [];
    const display = new ProgressDisplay((text) => writes.push(text), 80, 60_000);
    display.update(frame);
    display.update({ ...frame, done: 6000 }); // throttled
    display.update({ ...frame, done: 7000 }, true);
    display.done();
    expect(writes).toHaveLength(3);
    expect(writes[0]?.startsWith('\rusers [')).toBe(true);
    expect(writes[0]?.endsWith('ETA 3s\u001b[K')).toBe(true); // clears the rest of the line
    expect(writes[1]).toContain('7,000/10,000');
    expect(writes[2]).toBe('\n');
  });
});

describe('credentials', () => {
  it('redacts the user info and secret parameters of connection strings anywhere in a text', () => {
    expect(redactUri('failed: mongodb://alice:pw@db1:27017,db2/app?replicaSet=rs&authSource=admin')).toBe('failed: mongodb://***@db1:27017,db2/app?replicaSet=rs&authSource=admin');
    expect(redactUri('mongodb+srv://bob:x@cluster.example.net/?tlsCertificateKeyFilePassword=hunter2&w=1')).toBe('mongodb+srv://***@cluster.example.net/?tlsCertificateKeyFilePassword=***&w=1');
    expect(redactUri('mongodb://host/db')).toBe('mongodb://host/db');
  });

  it('parses each connection string with the driver\'s parser: secret options inside authMechanismProperties too, an unencoded @ in a password never leaves its tail', () => {
    expect(redactUri('"mongodb://molt:p%40ss@h/?authMechanismProperties=AWS_SESSION_TOKEN:abc,SERVICE_NAME:x&proxyPassword=zz"')).toBe(
      '"mongodb://***@h/?authMechanismProperties=AWS_SESSION_TOKEN%3A***%2CSERVICE_NAME%3Ax&proxyPassword=***"',
    );
    expect(redactUri('mongodb://a:b@c@host/x')).toBe('mongodb://***@host/x');
  });

  it('touches nothing but connection strings: the user name and password elsewhere in a text stay, JSON stays JSON', () => {
    const text = JSON.stringify({ name: 'molt', total: 2006, advice: 'see: molt failures', uri: 'mongodb://molt:000@db/app?tlsCertificateKeyFilePassword=000' });
    const redacted = redactUri(text);
    expect(JSON.parse(redacted)).toEqual({ name: 'molt', total: 2006, advice: 'see: molt failures', uri: 'mongodb://***@db/app?tlsCertificateKeyFilePassword=***' });
  });
});

describe('the command line', () => {
  it('parses durations with a unit only', () => {
    expect(['500ms', '90s', '10m', '1.5h'].map((text) => parseDuration(text))).toEqual([500, 90_000, 600_000, 5_400_000]);
    for (const bad of ['10', '-1m', 'm', '10 minutes', '0s']) expect(() => parseDuration(bad)).toThrow(/with a unit/);
  });

  it('parses flags into sweep options', () => {
    expect(parseCommandLine(['sweep', 'users', 'orders', '--batch-size', '200', '--rate', 'unlimited', '--pause', '0', '--max-duration', '10m', '--dry-run', '--json'])).toMatchObject({
      command: 'sweep', collections: ['users', 'orders'], batchSize: 200, ratePerSecond: Infinity, pauseMs: 0, maxDurationMs: 600_000, dryRun: true, json: true, retryFailed: false,
    });
    expect(() => parseCommandLine(['status', '--rate', '5'])).toThrow(/unknown option '--rate'/);
    expect(parseCommandLine(['sweep', '--lease', '2m', '--log', 'json'])).toMatchObject({ leaseMs: 120_000, log: 'json' });
    expect(() => parseCommandLine(['sweep', '--lease', '120'])).toThrow(/--lease expects a duration with a unit/);
    expect(() => parseCommandLine(['sweep', '--log', 'yaml'])).toThrow(/--log expects json or text/);
  });

  it('maps sweep reports to exit codes: failures win over partial, partial over done', () => {
    const report = (status: SweepStatus, failed = 0): SweepReport => ({ status, failed, scanned: 0, migrated: 0, skipped: 0, remaining: 0, staleFailures: 0, lossy: 0, elapsedMs: 0, collection: 'c', targetVersion: 2, pass: 1, dryRun: false, mode: 'client', serverVersions: [] });
    expect(exitCodeOf([report('complete')])).toBe(ExitCode.OK);
    expect(exitCodeOf([report('complete'), report('locked')])).toBe(ExitCode.PARTIAL);
    expect(exitCodeOf([report('partial'), report('complete', 2)])).toBe(ExitCode.FAILURES);
    expect(exitCodeOf([report('aborted')])).toBe(ExitCode.FAILURES);
    expect(exitCodeOf([report('failed')])).toBe(ExitCode.FAILURES);
    // Recorded failures still stale, from the report itself (the library counts them): 1 on every run until fixed.
    expect(exitCodeOf([{ ...report('complete'), staleFailures: 2 }])).toBe(ExitCode.FAILURES);
  });

  it('warns of a batch that takes longer than the lease, and only then', () => {
    expect(leaseRisk({ batchSize: 500, ratePerSecond: 5, leaseMs: 60_000 })).toMatch(/a batch of 500 documents at 5 a second takes 100 s, longer than the lease \(60 s\).*--batch-size 150.*--lease 200s/);
    expect(leaseRisk({ batchSize: 500, ratePerSecond: 10, leaseMs: 60_000 })).toBeUndefined();
    expect(leaseRisk({ batchSize: 500, ratePerSecond: Infinity, leaseMs: 100 })).toBeUndefined();
    expect(parseCommandLine(['sweep', '--build-index'])).toMatchObject({ buildIndex: true });
    expect(() => parseCommandLine(['sweep', '--build-index', '--dry-run'])).toThrow(/--build-index builds the index and sweeps nothing/);
    expect(parseCommandLine(['lease', 'release', 'users', '--force'])).toMatchObject({ command: 'lease', action: 'release', collections: ['users'], force: true });
    expect(() => parseCommandLine(['lease', 'users'])).toThrow(/molt lease expects an action: molt lease release/);
  });

  it('exports defineConfig from the package and from mongo-molt/cli', () => {
    expect(fromMain).toBe(defineConfig);
    const config = { db: 'app', collections: [] };
    expect(defineConfig(config)).toBe(config);
  });
});

describe('runCli on a terminal (in process)', () => {
  it('draws a progress bar on stderr and prints a readable summary on stdout', async () => {
    await db.collection<RawUser>('users').insertMany(mixedUsers(120));
    const stdout: string[] = [];
    const stderr: string[] = [];
    // The config reads process.env itself, as a user's config would.
    const previous = process.env.MOLT_TEST_DB;
    process.env.MOLT_TEST_DB = db.databaseName;
    const code = await runCli(['sweep', 'users', '--config', FIXTURE_CONFIG, '--batch-size', '10'], {
      stdout: (text) => stdout.push(text),
      stderr: (text) => stderr.push(text),
      env: { MONGODB_URI: uri, MOLT_TEST_DB: db.databaseName },
      cwd: process.cwd(),
      interactive: true,
      columns: 100,
    }).finally(() => {
      if (previous === undefined) delete process.env.MOLT_TEST_DB;
      else process.env.MOLT_TEST_DB = previous;
    });
    expect(code, stderr.join('')).toBe(ExitCode.OK);
    const frames = stderr.filter((text) => text.startsWith('\r'));
    expect(frames.length, JSON.stringify({ stdout, stderr })).toBeGreaterThan(0);
    expect(frames[0]).toMatch(/^\rusers \[[█░]+\] +\d+% {2}[\d,]+\/120 {2}[\d,]+\/s {2}ETA /);
    expect(stderr.at(-1)).toBe('\n');
    expect(stderr.join('')).not.toContain('{"level"'); // no JSON logs on a terminal
    expect(stdout.join('')).toMatch(/^users: complete, pass 1, target v3\n {2}migrated 120, skipped 0 \(changed meanwhile\), failed 0, scanned 120\n/);

    // On a terminal (no JSON logs), a batch longer than the lease is warned about in words.
    const warned: string[] = [];
    process.env.MOLT_TEST_DB = db.databaseName;
    const again = await runCli(['sweep', 'users', '--config', FIXTURE_CONFIG, '--rate', '5', '--batch-size', '500', '--lease', '60s'], {
      stdout: () => undefined,
      stderr: (text) => warned.push(text),
      env: { MONGODB_URI: uri, MOLT_TEST_DB: db.databaseName },
      cwd: process.cwd(),
      interactive: true,
    }).finally(() => {
      if (previous === undefined) delete process.env.MOLT_TEST_DB;
      else process.env.MOLT_TEST_DB = previous;
    });
    expect(again).toBe(ExitCode.OK);
    expect(warned[0]).toMatch(/^molt: warning: users: a batch of 500 documents at 5 a second takes 100 s, longer than the lease \(60 s\)/);
  });
});

describe('--json output', () => {
  it('prints dates as ISO strings in every command, ObjectIds as relaxed EJSON', async () => {
    const { toJson } = await import('../src/cli/format.js');
    const { ObjectId } = await import('mongodb');
    const at = new Date('2026-11-27T10:00:00.000Z');
    const id = new ObjectId('64b7f0c2a1b2c3d4e5f60718');
    expect(JSON.parse(toJson({ failures: [{ lastAt: at, documentId: id, nested: { firstAt: at } }] }))).toEqual({
      failures: [{ lastAt: '2026-11-27T10:00:00.000Z', documentId: { $oid: '64b7f0c2a1b2c3d4e5f60718' }, nested: { firstAt: '2026-11-27T10:00:00.000Z' } }],
    });
  });
});

describe('the progress total', () => {
  it('stays the stale count as documents fail (they are scanned, and still stale)', () => {
    // 100 stale: after a batch of 50 with 10 failures, 40 were migrated and 60 remain (10 of them the failed ones).
    expect(progressTotal({ scanned: 0, remaining: 100, failed: 0 })).toBe(100);
    expect(progressTotal({ scanned: 50, remaining: 60, failed: 10 })).toBe(100);
    expect(progressTotal({ scanned: 100, remaining: 20, failed: 20 })).toBe(100);
  });
});
