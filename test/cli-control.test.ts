/**
 * What an operator does to a collection swept from cron, as child processes of the CLI: pause and
 * resume it, roll it back and have it stay rolled back (`molt sweep --to 2` pins it; the cron
 * job's plain `molt sweep` follows the pin and says so; `molt unpin` ends it), free a lease a
 * killed run left, see and build the stale-version index, and be warned of a batch longer than
 * the lease. The README's "Pausing and rolling back" commands are run here, as written.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
type StringIdDocument = { _id: string; [key: string]: unknown };
import type { SweepStateDocument } from '../src/index.js';
import { logLines, ROOT, runMolt } from './fixtures/run-molt.js';
import { useTestDatabase } from './support/database.js';

const CONFIG = join(ROOT, 'test', 'fixtures', 'molt-rollback.config.ts');
const { db, uri } = useTestDatabase('cli_control');
const env = { MONGODB_URI: uri, MOLT_TEST_DB: db.databaseName };
const molt = (args: readonly string[]) => runMolt([...args, '--config', CONFIG], { env });
const users = () => db.collection<StringIdDocument>('users');
const versions = async () => (await users().find({}).sort({ _id: 1 }).toArray()).map((doc) => doc.schemaVersion as number | undefined);
const seed = async (count = 6) => {
  await users().deleteMany({});
  await users().insertMany(Array.from({ length: count }, (_, index) => (index % 2 === 0 ? { _id: `u${index}`, full_name: `N${index}` } : { _id: `u${index}`, display_name: `N${index}`, email: null, schemaVersion: 2 })));
};
const states = () => db.collection<SweepStateDocument>('molt_state');
const lease = (pid: number, host: string) => {
  const now = new Date();
  return { owner: `${host}:${pid}:x`, host, pid, acquiredAt: now, expiresAt: new Date(now.getTime() + 60_000) };
};

/** The README's "Pausing and rolling back" shell block: its `molt` command lines, comments removed. */
function readmeCommands(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('**Pausing and rolling back.**'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (block === undefined) throw new Error('README has no sh block after "Pausing and rolling back"');
  return block.split('\n').map((line) => line.replace(/\s+#.*$/, '').trim()).filter((line) => line.startsWith('molt '));
}

describe("the README's pausing and rolling back, as written", () => {
  it('runs every command, each doing what the README says', async () => {
    await seed();
    expect((await molt(['sweep', 'users'])).code).toBe(0);
    expect(await versions()).toEqual([3, 3, 3, 3, 3, 3]);
    // What each README line must do, checked right after it runs.
    const checks: Record<string, (result: Awaited<ReturnType<typeof molt>>) => Promise<void>> = {
      'molt pause users': async (result) => {
        expect(result.code).toBe(0);
        const cron = await molt(['sweep', '--json']);
        expect(cron.code).toBe(3);
        expect(JSON.parse(cron.stdout)).toMatchObject([{ collection: 'users', status: 'partial', reason: 'paused', migrated: 0 }]);
      },
      'molt status users': async (result) => {
        expect(result.code).toBe(0);
        expect(result.stdout).toMatch(/control {5}paused by molt pause on \d{4}-\d\d-\d\dT[\d:]+Z; molt resume users to let sweeps run/);
      },
      'molt resume users': async (result) => {
        expect(result.code).toBe(0);
        expect(result.stdout).toContain('users: sweeps run, to the latest version');
      },
      'molt sweep users --to 2': async (result) => {
        expect(result.code).toBe(0);
        expect(await versions()).toEqual([2, 2, 2, 2, 2, 2]);
        // A document the new code writes at v3 meanwhile.
        await users().insertOne({ _id: 'u9', display_name: 'N9', email: null, tags: [], schemaVersion: 3 });
      },
      'molt sweep users': async (result) => {
        // Before: this moved every document back to v3, exit 0.
        expect(result.code).toBe(0);
        expect(result.stdout).toMatch(/users: complete, pass \d+, target v2/);
        expect(result.stdout).toMatch(/pinned at v2 by molt sweep --to 2 on \d{4}-\d\d-\d\dT[\d:]+Z; molt unpin users to resume the latest/);
        expect(await versions()).toEqual([2, 2, 2, 2, 2, 2, 2]);
      },
      'molt unpin users': async (result) => {
        expect(result.code).toBe(0);
        const cron = await molt(['sweep', '--json']);
        expect(JSON.parse(cron.stdout)).toMatchObject([{ status: 'complete', targetVersion: 3, migrated: 7 }]);
        expect(await versions()).toEqual([3, 3, 3, 3, 3, 3, 3]);
        // A run killed with SIGKILL on this host: its lease stays until it expires.
        const gone = spawnSync(process.execPath, ['-e', '0']).pid;
        await states().updateOne({ _id: 'users:member' }, { $set: { lease: lease(gone, hostname()) } });
        expect((await molt(['sweep', 'users'])).code).toBe(3);
      },
      'molt lease release users': async (result) => {
        expect(result.code).toBe(0);
        expect(result.stdout).toMatch(/users: released the lease of .* that process no longer exists on this host/);
        expect((await states().findOne({ _id: 'users:member' }))?.lease).toBeNull();
      },
    };
    const commands = readmeCommands();
    // Every command of the block has its check, and every check its command.
    expect(new Set(commands)).toEqual(new Set(Object.keys(checks)));
    for (const command of commands) {
      const result = await molt(command.split(/\s+/).slice(1));
      await (checks[command] as (result: Awaited<ReturnType<typeof molt>>) => Promise<void>)(result);
    }
  }, 300_000);
});

describe('molt lease release', () => {
  it('refuses a lease that has not expired and whose holder may be alive, exit 1; --force releases it', async () => {
    await seed(2);
    await states().updateOne({ _id: 'users:member' }, { $set: { collection: 'users', schema: 'member', checkpoint: null, lastRun: null, lease: lease(4321, 'another-host') } }, { upsert: true });
    const refused = await molt(['lease', 'release', 'users']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/not released: another-host \(pid 4321\) .* holds the lease and renews it while it runs.*--force/);
    expect((await states().findOne({ _id: 'users:member' }))?.lease).toMatchObject({ host: 'another-host' });
    const forced = await molt(['lease', 'release', 'users', '--force', '--json']);
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject([{ collection: 'users', released: true, lease: 'forced' }]);
  }, 120_000);
});

describe('the stale-version index is announced', () => {
  it('status and check say it is missing and what it costs; a dry run says it would build it; --build-index builds it alone; a sweep logs building it', async () => {
    await users().drop().catch(() => undefined);
    await seed(4);
    const status = await molt(['status', 'users']);
    expect(status.stdout).toMatch(/index {7}\{ schemaVersion: 1, _id: 1 \} missing: the first sweep builds it over all 4 documents, [\d.]+ (B|KiB)/);
    const check = await molt(['check', 'users']);
    expect(check.stdout).toMatch(/index \{ schemaVersion: 1, _id: 1 \} missing: the first sweep builds it/);
    const dry = await molt(['sweep', 'users', '--dry-run']);
    expect(dry.stdout).toMatch(/a real run would first build the stale-version index .*molt sweep users --build-index builds it alone/);
    const build = await molt(['sweep', 'users', '--build-index']);
    expect(build.code).toBe(0);
    expect(build.stdout).toMatch(/users: built \{ schemaVersion: 1, _id: 1 \} over 4 documents in/);
    expect(await versions()).toEqual([undefined, 2, undefined, 2]);
    expect((await molt(['status', 'users'])).stdout).toMatch(/index {7}\{ schemaVersion: 1, _id: 1 \} present/);

    await users().drop();
    await seed(4);
    const sweep = await molt(['sweep', 'users', '--json']);
    const lines = logLines(sweep.stderr);
    expect(lines.some((line) => line.msg === 'building the stale-version index: once, before the first batch')).toBe(true);
    expect(lines.some((line) => line.msg === 'stale-version index built' && typeof line.ms === 'number')).toBe(true);
    expect(JSON.parse(sweep.stdout)).toMatchObject([{ status: 'complete', staleIndex: 'built' }]);
  }, 300_000);
});

describe('a batch longer than the lease', () => {
  it('is warned about before the run starts', async () => {
    await seed(2);
    await molt(['sweep', 'users']);
    const result = await molt(['sweep', 'users', '--rate', '5', '--batch-size', '500', '--lease', '60s']);
    expect(result.code).toBe(0);
    const lines = logLines(result.stderr);
    const warning = lines.findIndex((line) => line.level === 40 && String(line.msg).startsWith('a batch of 500 documents at 5 a second takes 100 s, longer than the lease (60 s)'));
    expect(lines[warning]).toMatchObject({ collection: 'users', batchSize: 500, ratePerSecond: 5, leaseMs: 60_000 });
    expect(warning).toBeLessThan(lines.findIndex((line) => line.msg === 'sweep started'));
  }, 120_000);
});

describe('molt verify', () => {
  it('points each kind of document below the minimum to what fixes it, or says nothing does', async () => {
    await users().deleteMany({});
    await users().insertMany([{ _id: 'a', full_name: 'Ann' }, { _id: 's', full_name: 'Sy', schemaVersion: 'two' }]);
    const result = await molt(['verify', 'users', '--min-version', '3']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('users: 2 documents below v3');
    expect(result.stdout).toContain('  1 a sweep migrates: molt sweep users');
    expect(result.stdout).toContain('  1 store a version the schema does not know (not a version from its first to its latest, e.g. a string): no molt command migrates it; correct or remove by hand: "s"');
  }, 120_000);
});
