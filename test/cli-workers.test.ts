/** `molt sweep --workers N` runs range workers on the pass's plan; `molt status` shows the plan. */
import { expect, it } from 'vitest';
import { mixedUsers, type RawUser } from './fixtures/schemas.js';
import { FIXTURE_CONFIG, runMolt } from './fixtures/run-molt.js';
import { useTestDatabase } from './support/database.js';

const { db, uri } = useTestDatabase('cli_workers');
const env = { MONGODB_URI: uri, MOLT_TEST_DB: db.databaseName };
const run = (command: string, args: readonly string[] = []) => runMolt([command, '--config', FIXTURE_CONFIG, ...args], { env });

it('molt sweep users --workers 3: the plan’s ranges all done by this run; molt status shows the plan; a bad --workers is a usage error', async () => {
  await db.collection<RawUser>('users').insertMany(mixedUsers(300));
  const swept = await run('sweep', ['users', '--workers', '3', '--batch-size', '20', '--rate', 'unlimited', '--json']);
  expect(swept.code).toBe(0);
  const [report] = JSON.parse(swept.stdout) as { status: string; migrated: number; ranges: { total: number; done: number; byThisRun: number } }[];
  expect(report?.status).toBe('complete');
  expect(report?.ranges.total).toBeGreaterThan(1);
  expect(report?.ranges).toEqual({ total: report?.ranges.total, done: report?.ranges.total, byThisRun: report?.ranges.total });
  const status = await run('status', ['users']);
  expect(status.code).toBe(0);
  expect(status.stdout).toMatch(new RegExp(`plan +pass 1 \\[█+\\] ${report?.ranges.total}/${report?.ranges.total} ranges done, 0 claimed, 0 free, complete at`));
  const json = await run('status', ['users', '--json']);
  expect((JSON.parse(json.stdout) as { plan: { done: number; total: number } }[])[0]?.plan).toMatchObject({ done: report?.ranges.total, total: report?.ranges.total });
  const bad = await run('sweep', ['users', '--workers', '0']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/--workers/);
}, 120_000);
