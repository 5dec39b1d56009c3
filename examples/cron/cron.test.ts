import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { SweepStatus, type SweepReport } from 'mongo-molt';
import { useTestDatabase } from '../../test/support/database.js';
import { run } from '../support/process.js';
import { itWithLargeBulkWrites } from '../support/server.js';
import { exitCodeOf, parseDuration } from './sweep.js';

const database = useTestDatabase('examples_cron');
const CONFIG = ['--config', 'examples/cron/molt.config.ts'];

function env(): Record<string, string> {
  return { MONGODB_URI: database.uri, MOLT_DB: database.db.databaseName, LOG_LEVEL: 'warn', MOLT_LOG_LEVEL: 'warn' };
}
const molt = (...args: string[]) => run(['examples/molt.ts', ...args, ...CONFIG], env());
const sweepScript = (...args: string[]) => run(['examples/cron/sweep.ts', ...args], env());

async function seed(users: number): Promise<void> {
  const created_at = new Date('2022-02-02T00:00:00Z');
  await database.db.collection('users').deleteMany({});
  await database.db.collection('orders').deleteMany({});
  await database.db.collection('users').insertMany(
    Array.from({ length: users }, (_, index) => ({ _id: `u${String(index).padStart(5, '0')}` as never, full_name: `User Number${index}`, created_at })),
  );
  await database.db.collection('orders').insertMany([
    { _id: 'o-1' as never, customer_id: 'u00001', status: 'done', price: '12.50', items: [{ sku: 'tea', qty: 2, price: '6.25' }] },
    { _id: 'o-2' as never, customer_id: 'u00002', status: 'paid', price: '3', items: [{ sku: 'pen', qty: 3, price: '1' }] },
  ]);
}

describe('examples/cron, run as its README says', () => {
  itWithLargeBulkWrites('check finds the documents that would fail; the sweep records them, goes on, and exits 1; a fix and --retry-failed finish the job', async () => {
    await seed(300);
    await database.db.collection('users').insertOne({ _id: 'blank' as never, full_name: '', created_at: new Date() });
    await database.db.collection('orders').insertOne({ _id: 'o-bad' as never, customer_id: 'u00003', status: 'paid', price: '12,50', items: [] });

    const check = await molt('check');
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/users: checked 301 stale documents against v3: 300 pass, 1 fail/);
    expect(check.stdout).toContain('"blank"');
    expect(check.stdout).toContain('price "12,50" is not a decimal amount');

    const first = await sweepScript('--budget', '1m');
    expect(first.stdout).toContain('users: complete, migrated 300, failed 1, remaining 1');
    expect(first.stdout).toContain('orders: complete, migrated 2, failed 1, remaining 1');
    expect(first.code).toBe(1);

    const failures = await molt('failures');
    expect(failures.stdout).toMatch(/"blank"\s+v1 -> v3/);
    expect(failures.stdout).toMatch(/"o-bad"\s+v1 -> v4/);
    expect((await molt('verify', 'users', '--min-version', '3')).code).toBe(1);

    await database.db.collection('users').updateOne({ _id: 'blank' as never }, { $set: { full_name: 'Nobody' } });
    await database.db.collection('orders').updateOne({ _id: 'o-bad' as never }, { $set: { price: '12.50' } });
    const retry = await sweepScript('--retry-failed');
    expect(retry.code).toBe(0);
    expect((await molt('verify', 'users', '--min-version', '3')).code).toBe(0);
    expect((await molt('verify', 'orders', '--min-version', '4')).code).toBe(0);
    expect((await molt('failures')).stdout).not.toContain('blank');
  }, 90_000);

  itWithLargeBulkWrites('stops at the time budget with exit 3 and resumes at the checkpoint on the next run', async () => {
    await seed(8000);
    // 2,000 documents a second after a burst of 2,000: 8,000 take at least 3 s, twice the budget,
    // so the run is partial however fast the machine; the 1.5 s budget leaves room for start-up
    // (connection, lease, count, index) on a loaded machine before the first batch.
    const partial = await sweepScript('--budget', '1500ms');
    expect(partial.code).toBe(3);
    expect(partial.stdout).toMatch(/users: partial, migrated \d+/);
    const migrated = Number(/users: partial, migrated (\d+)/.exec(partial.stdout)?.[1]);
    expect(migrated).toBeGreaterThan(0);
    expect(migrated).toBeLessThan(8000);

    const rest = await sweepScript();
    expect(rest.code).toBe(0);
    expect(rest.stdout).toContain(`users: complete, migrated ${8000 - migrated}, failed 0, remaining 0`);
  }, 90_000);

  it('runs the crontab line: molt sweep --max-duration 9m --log json (one stream of JSON lines)', async () => {
    await seed(50);
    const swept = await run(['examples/molt.ts', 'sweep', '--max-duration', '9m', '--log', 'json', ...CONFIG], { ...env(), MOLT_LOG_LEVEL: 'info' });
    expect(swept.code).toBe(0);
    expect(swept.stdout).toBe('');
    const lines = swept.stderr.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as { msg: string; report?: { collection: string; migrated: number } });
    expect(lines.find((line) => line.msg === 'sweep complete' && line.report?.collection === 'users')?.report?.migrated).toBe(50);
    const status = await molt('status', '--json');
    const [users] = JSON.parse(status.stdout) as { collection: string; stale: number; histogram: { version: number; count: number }[] }[];
    expect(users).toMatchObject({ collection: 'users', stale: 0, histogram: [{ version: 3, count: 50 }] });
  }, 60_000);

  it('rejects a bad budget with exit 2', async () => {
    const bad = await sweepScript('--budget', 'soon');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--budget must be a duration');
  });
});

describe('examples/cron: metrics to a Prometheus Pushgateway', () => {
  /** A Pushgateway's one endpoint: what each PUT sent, by path. */
  const pushes: { path: string; body: string }[] = [];
  const gateway = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      if (request.method === 'PUT') pushes.push({ path: request.url ?? '', body });
      response.writeHead(200).end();
    });
  });
  afterAll(() => new Promise<void>((resolve) => gateway.close(() => resolve())));

  it('pushes the sweep metrics, the last-success time and the duration after a run that succeeded, and nothing after one that failed', async () => {
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
    await seed(40);
    const before = Date.now() / 1000;
    const ok = await run(['examples/cron/sweep.ts'], { ...env(), PUSHGATEWAY_URL: url });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('users: complete, migrated 40, failed 0');
    expect(pushes).toHaveLength(1);
    const { path, body } = pushes[0] as { path: string; body: string };
    expect(path).toBe('/metrics/job/molt_sweep');
    const sample = (name: string, labels = ''): number => Number(new RegExp(`^${name}${labels}\\s+(\\S+)`, 'm').exec(body)?.[1]);
    expect(sample('molt_sweep_last_success_timestamp_seconds')).toBeGreaterThanOrEqual(before);
    expect(sample('molt_sweep_duration_seconds')).toBeGreaterThan(0);
    // The sweep's own counters, by collection and version, as the report says.
    expect(body).toMatch(/^# TYPE molt_sweep_migrated(_total)? counter/m);
    const migrated = [...body.matchAll(/^molt_sweep_migrated(?:_total)?\{([^}]*)\} (\d+)/gm)];
    const users = migrated.filter((match) => (match[1] as string).includes('db_collection_name="users"'));
    expect(users.reduce((total, match) => total + Number(match[2]), 0)).toBe(40);
    expect(body).toMatch(/^molt_sweep_remaining\{[^}]*db_collection_name="users"[^}]*\} 0/m);

    await database.db.collection('users').insertOne({ _id: 'blank' as never, full_name: '', created_at: new Date() });
    const failed = await run(['examples/cron/sweep.ts'], { ...env(), PUSHGATEWAY_URL: url });
    expect(failed.code).toBe(1);
    expect(pushes).toHaveLength(1);
  }, 90_000);
});

describe('examples/cron/sweep.ts helpers', () => {
  it('parses durations', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('9m')).toBe(540_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('250')).toBe(250);
    expect(() => parseDuration('9 minutes')).toThrow();
  });

  it('picks the worst exit code', () => {
    const report = (status: SweepReport['status'], failed = 0, staleFailures = 0) => ({ status, failed, staleFailures }) as SweepReport;
    expect(exitCodeOf([report(SweepStatus.COMPLETE), report(SweepStatus.COMPLETE)])).toBe(0);
    expect(exitCodeOf([report(SweepStatus.COMPLETE), report(SweepStatus.LOCKED)])).toBe(3);
    expect(exitCodeOf([report(SweepStatus.PARTIAL), report(SweepStatus.COMPLETE, 2)])).toBe(1);
    expect(exitCodeOf([report(SweepStatus.ABORTED)])).toBe(1);
    // Failures recorded by an earlier run and still stale fail every night until fixed, as `molt sweep` does.
    expect(exitCodeOf([report(SweepStatus.COMPLETE), report(SweepStatus.PARTIAL, 0, 3)])).toBe(1);
  });
});
