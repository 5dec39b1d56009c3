import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Db } from 'mongodb';
import { globPattern, worstExitCode } from '../src/cli/tenants.js';
import { mixedUsers } from './fixtures/schemas.js';
import { ROOT, runMolt } from './fixtures/run-molt.js';
import { useTestDatabase } from './support/database.js';

const { client, uri } = useTestDatabase('tenants');
const prefix = `molt_tn_${randomBytes(3).toString('hex')}`;
const TENANTS = Array.from({ length: 20 }, (_, index) => `${prefix}_t${String(index).padStart(2, '0')}`);
/** One whose upcaster fails on a document, one without the collection, one whose lease another run holds. */
const FAILING = TENANTS[3] as string;
const WITHOUT = TENANTS[7] as string;
const LOCKED = TENANTS[11] as string;
const DOCS = 12;

const temp = mkdtempSync(join(tmpdir(), 'molt-tenants-'));
afterAll(async () => {
  rmSync(temp, { recursive: true, force: true });
  for (const name of TENANTS) await client.db(name).dropDatabase().catch(() => undefined);
});
const SCHEMAS = JSON.stringify(join(ROOT, 'test', 'fixtures', 'schemas.ts'));
const DEFINE = JSON.stringify(join(ROOT, 'src', 'index.ts'));
let configs = 0;
function writeConfig(db: string): string {
  const path = join(temp, `molt-${++configs}.config.ts`);
  writeFileSync(path, `import { defineConfig } from ${DEFINE};
import { User } from ${SCHEMAS};
export default defineConfig({ db: ${db}, clientOptions: { serverSelectionTimeoutMS: 5000 }, collections: [{ name: 'users', schema: User, batchSize: 5, ratePerSecond: Infinity, pauseMs: 0 }] });
`);
  return path;
}
const GLOB = writeConfig(JSON.stringify(`${prefix}_*`));
const run = (command: string, args: readonly string[], config = GLOB) => runMolt([command, '--config', config, ...args], { env: { MONGODB_URI: uri } });

const users = (name: string) => client.db(name).collection<{ _id: string; schemaVersion?: number }>('users');
const stale = (name: string) => users(name).countDocuments({ schemaVersion: { $ne: 3 } });

async function seed(): Promise<void> {
  for (const name of TENANTS) {
    const db: Db = client.db(name);
    await db.dropDatabase().catch(() => undefined);
    if (name === WITHOUT) {
      await db.collection('other').insertOne({ _id: 'x' } as never);
      continue;
    }
    await users(name).insertMany(mixedUsers(DOCS, name.slice(-3)));
    if (name === FAILING) await users(name).insertOne({ _id: 'bad', full_name: 'FAIL', schemaVersion: 1 } as never);
    if (name === LOCKED) {
      await db.collection('molt_state').insertOne({
        _id: 'users:user', collection: 'users', schema: 'user', checkpoint: null, lastRun: null,
        lease: { owner: 'cron-2:77:ffff', host: 'cron-2', pid: 77, acquiredAt: new Date(), expiresAt: new Date(Date.now() + 3_600_000) },
      } as never);
    }
  }
}

interface Entry { db: string; collection: string; status?: string; migrated?: number; failed?: number; missing?: boolean; reason?: string }

/** The per-database outcomes of one sweep over the 20 tenants, checked against the data. */
async function expectSweptOnce(result: { code: number | null; stdout: string }): Promise<void> {
  expect(result.code).toBe(1); // the worst: the failing tenant (1) over the locked one (3)
  const entries = JSON.parse(result.stdout) as Entry[];
  // One entry per database (each database has one collection configured), each database once.
  expect(entries.map((entry) => entry.db)).toEqual(TENANTS);
  for (const entry of entries) {
    if (entry.db === WITHOUT) {
      expect(entry).toEqual({ db: WITHOUT, collection: 'users', missing: true });
    } else if (entry.db === LOCKED) {
      expect(entry).toMatchObject({ collection: 'users', status: 'locked', migrated: 0, reason: 'lock' });
      expect(await stale(LOCKED)).toBe(DOCS); // untouched
    } else if (entry.db === FAILING) {
      expect(entry).toMatchObject({ status: 'complete', migrated: DOCS, failed: 1 });
      expect(await stale(FAILING)).toBe(1);
    } else {
      // Nothing done twice: each document migrated by exactly one run.
      expect(entry).toMatchObject({ status: 'complete', migrated: DOCS, failed: 0 });
      expect(await stale(entry.db)).toBe(0);
    }
  }
  // Each database its own state: one pass, one run recorded, in its own molt_state.
  for (const name of TENANTS.filter((tenant) => tenant !== WITHOUT && tenant !== LOCKED)) {
    const state = await client.db(name).collection('molt_state').findOne({ _id: 'users:user' as never });
    expect(state?.checkpoint).toMatchObject({ pass: 1, migrated: DOCS });
  }
  // Nothing written to the database without the collection (listed unfiltered: mongo-java-server ignores the filter).
  expect((await client.db(WITHOUT).listCollections({}, { nameOnly: true }).toArray()).map((entry) => entry.name)).toEqual(['other']);
}

describe('molt over many databases', () => {
  it('matches globs exactly, and ranks exit codes 4, 2, 1, 3, 0', () => {
    expect(globPattern('tenant_*').test('tenant_a')).toBe(true);
    expect(globPattern('tenant_*').test('xtenant_a')).toBe(false);
    expect(globPattern('t?.x').test('t1.x')).toBe(true);
    expect(globPattern('t?.x').test('t1yx')).toBe(false);
    expect(worstExitCode([0, 3, 1, 0])).toBe(1);
    expect(worstExitCode([3, 4, 1])).toBe(4);
    expect(worstExitCode([0, 3])).toBe(3);
    expect(worstExitCode([])).toBe(0);
  });

  it('sweeps 20 tenant databases one at a time: each its own outcome, the worst exit code, nothing done twice', async () => {
    await seed();
    await expectSweptOnce(await run('sweep', ['--json']));
  }, 120_000);

  it('the same with --tenant-concurrency 4, and the text summary lists every database', async () => {
    await seed();
    await expectSweptOnce(await run('sweep', ['--json', '--tenant-concurrency', '4']));
    await seed();
    const text = await run('sweep', ['--tenant-concurrency', '4', '--log', 'text']);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`== ${WITHOUT} ==\nusers: the collection does not exist in this database (skipped)`);
    expect(text.stdout).toContain('20 databases, exit 1 (the worst):');
    expect(text.stdout).toMatch(new RegExp(`${LOCKED}\\s+partial`));
    expect(text.stdout).toMatch(new RegExp(`${FAILING}\\s+failures`));
    expect(text.stdout).toMatch(new RegExp(`${WITHOUT}\\s+done; no collection users`));
  }, 120_000);

  it('status, check and verify run per database; verify counts a missing collection as failed unless --allow-missing', async () => {
    await seed();
    const status = await run('status', ['--json']);
    expect(status.code).toBe(0);
    const entries = JSON.parse(status.stdout) as (Entry & { stale?: number })[];
    expect(entries).toHaveLength(20);
    expect(entries.find((entry) => entry.db === TENANTS[0])).toMatchObject({ collection: 'users', stale: DOCS });
    expect(entries.find((entry) => entry.db === WITHOUT)).toEqual({ db: WITHOUT, collection: 'users', missing: true });

    const check = await run('check', ['--json', '--db', FAILING, '--db', WITHOUT, '--db', TENANTS[0] as string]);
    expect(check.code).toBe(1);
    expect((JSON.parse(check.stdout) as (Entry & { failed?: number })[]).map((entry) => [entry.db, entry.failed ?? 'missing'])).toEqual([[FAILING, 1], [WITHOUT, 'missing'], [TENANTS[0], 0]]);

    await run('sweep', ['--db', `${prefix}_t0?`]);
    const verify = await run('verify', ['--json', '--min-version', '3', '--db', `${prefix}_t0?`]);
    expect(verify.code).toBe(1);
    const verdicts = JSON.parse(verify.stdout) as { db: string; ok: boolean; missing?: boolean }[];
    expect(verdicts.filter((entry) => !entry.ok).map((entry) => entry.db)).toEqual([FAILING, WITHOUT]);
    const allowing = await run('verify', ['--json', '--min-version', '3', '--allow-missing', '--db', `${prefix}_t0?`]);
    expect(allowing.code).toBe(1);
    expect((JSON.parse(allowing.stdout) as { db: string; ok: boolean }[]).filter((entry) => !entry.ok).map((entry) => entry.db)).toEqual([FAILING]);
  }, 120_000);

  it('keeps exit 2 for one database named that lacks the collection; a list reports it', async () => {
    await seed();
    const single = await run('sweep', ['--db', WITHOUT]);
    expect(single.code).toBe(2);
    expect(single.stderr).toContain('does not exist');
    const list = await run('sweep', ['--json', '--db', WITHOUT, '--db', TENANTS[1] as string]);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as Entry[]).map((entry) => [entry.db, entry.missing ?? entry.status])).toEqual([[WITHOUT, true], [TENANTS[1], 'complete']]);
  }, 60_000);

  it('takes db from a list or a function of the client in the config, and refuses a function that returns no names', async () => {
    await seed();
    const list = await run('status', ['--json'], writeConfig(JSON.stringify([TENANTS[0], TENANTS[1]])));
    expect((JSON.parse(list.stdout) as Entry[]).map((entry) => entry.db)).toEqual([TENANTS[0], TENANTS[1]]);
    const fn = writeConfig(`async (client) => (await client.db('admin').admin().listDatabases({ nameOnly: true })).databases.map((d) => d.name).filter((n) => n.startsWith(${JSON.stringify(prefix)}) && n.endsWith('5')).sort()`);
    const byFunction = await run('status', ['--json'], fn);
    expect(byFunction.code).toBe(0);
    expect((JSON.parse(byFunction.stdout) as Entry[]).map((entry) => entry.db)).toEqual([TENANTS[5], TENANTS[15]]);
    const wrong = await run('status', [], writeConfig('() => "one"'));
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('must return an array of database names');
  }, 60_000);
});
