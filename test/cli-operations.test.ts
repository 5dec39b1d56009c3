/**
 * `molt` as an operator leaves it in cron: a misspelt name fails loudly and creates nothing, the
 * server's troubles have an exit code of their own, the time budget covers connecting, and the
 * logs are one stream of JSON lines when asked. Each runs `molt` as a child process.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mixedUsers, type RawUser } from './fixtures/schemas.js';
import { FIXTURE_CONFIG, logLines, ROOT, runMolt } from './fixtures/run-molt.js';
import { useTestDatabase } from './support/database.js';
import { TcpProxy } from './support/tcp-proxy.js';

const { client, db, uri, features } = useTestDatabase('cli_operations');
const env = { MONGODB_URI: uri, MOLT_TEST_DB: db.databaseName };
const molt = (args: readonly string[], extra: Record<string, string | undefined> = {}) => runMolt([...args, '--config', FIXTURE_CONFIG], { env: { ...env, ...extra } });

async function databaseExists(name: string): Promise<boolean> {
  const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
  return databases.some((entry) => entry.name === name);
}

describe('names that do not exist', () => {
  it.each([['sweep'], ['status'], ['check'], ['failures']])('%s exits 2 on a database that does not exist, and never creates it', async (command) => {
    const typo = `molt_typo_${randomBytes(4).toString('hex')}`;
    const result = await molt([command, '--json'], { MOLT_TEST_DB: typo });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`the database \\"${typo}\\" does not exist`);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { name: 'MissingCollection' }, exitCode: 2 });
    // Nothing written: no molt_state. (mongo-java-server lists a database once anything read it,
    // empty; where a server does not, the database must not be listed at all.)
    expect(await client.db(typo).listCollections().toArray()).toEqual([]);
    if (features.kind === 'mongo-java-server') process.stderr.write(`[note] mongo-java-server lists a database once it was read: only "no collection in ${typo}" is checked\n`);
    else expect(await databaseExists(typo)).toBe(false);
  });

  it.each([['sweep'], ['status'], ['check'], ['failures']])('%s exits 2 on a collection that does not exist, unless --allow-missing skips it', async (command) => {
    await db.collection<RawUser>('users').deleteMany({});
    await db.collection<RawUser>('users').insertMany(mixedUsers(5));
    await db.collection('accounts').drop().catch(() => undefined);
    const missing = await molt([command]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('the collection \\"accounts\\" does not exist');
    const allowed = await molt([command, '--allow-missing', '--json']);
    expect(allowed.code).toBe(0);
    const results = JSON.parse(allowed.stdout) as { collection: string }[];
    expect(results.map((result) => result.collection)).toEqual(['users']);
    // Filtered here: mongo-java-server ignores listCollections' filter.
    expect((await db.listCollections({}, { nameOnly: true }).toArray()).map((entry) => entry.name)).not.toContain('accounts');
  });
});

describe('the server cannot be used', () => {
  it('an unreachable server: exit 4 within the time budget, a JSON error object on stdout under --json', async () => {
    // A driver that would wait 60 s for a server; nothing listens on port 9.
    const config = join(mkdtempSync(join(tmpdir(), 'molt-ops-')), 'molt.config.ts');
    writeFileSync(config, `import { defineConfig } from ${JSON.stringify(join(ROOT, 'src', 'index.ts'))};\nimport { User } from ${JSON.stringify(join(ROOT, 'test', 'fixtures', 'schemas.ts'))};\nexport default defineConfig({ db: 'x', clientOptions: { serverSelectionTimeoutMS: 60_000 }, collections: [{ name: 'users', schema: User }] });\n`);
    const started = performance.now();
    const result = await runMolt(['sweep', '--max-duration', '12s', '--json', '--config', config], { env: { MONGODB_URI: 'mongodb://127.0.0.1:9/' } });
    const elapsed = performance.now() - started;
    expect(result.code).toBe(4);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { name: 'InfrastructureError' }, exitCode: 4 });
    expect(String(logLines(result.stderr).at(-1)?.msg)).toContain('no connection within the time budget');
    // The budget counts from the start (Node and the config's compilation included, seconds on a
    // loaded machine, and closing the client after): before, the driver's 60 s came on top of start-up.
    expect(elapsed).toBeGreaterThan(11_500);
    expect(elapsed).toBeLessThan(25_000);
  }, 60_000);

  it('a server that stops answering mid-sweep: the run ends within its budget and its margin, and so does the process', async () => {
    await db.collection<RawUser>('users').deleteMany({});
    await db.collection<RawUser>('users').insertMany(mixedUsers(300));
    const proxy = await TcpProxy.start(uri);
    try {
      const budgetMs = 6_000;
      const started = performance.now();
      // 10 documents every 200 ms: the sweep is still running when the server stops answering.
      const result = await runMolt(['sweep', 'users', '--rate', '50', '--batch-size', '10', '--max-duration', `${budgetMs}ms`, '--json', '--config', FIXTURE_CONFIG], {
        env: { ...env, MONGODB_URI: proxy.uri },
        onStderr: (text) => {
          if (proxy.mode === 'pass' && text.includes('"msg":"batch')) proxy.blackHole();
        },
      });
      const elapsed = performance.now() - started;
      expect(proxy.mode).toBe('black-hole');
      expect(result.code, result.stderr).toBe(3);
      expect(JSON.parse(result.stdout)).toMatchObject([{ collection: 'users', status: 'partial', reason: 'budget', error: { name: 'TimeBudgetSpent' } }]);
      // The budget, then the writes' 1 s, the recount's 1 s, the release's 2 s, the close's 2 s, and
      // Node's start-up (13 s in all measured here). Before, the process lived on after its report
      // for over a minute: the driver's close waited for an answer to endSessions (85 s in all).
      expect(elapsed).toBeLessThan(budgetMs + 14_000);
    } finally {
      proxy.resume();
      await proxy.close();
      // The release could not reach the server: free the lease it left for the tests after this one.
      await db.collection('molt_state').updateMany({}, { $set: { lease: null } });
    }
  }, 90_000);
});

describe('logs', () => {
  it('an invalid MOLT_LOG_LEVEL is refused with exit 2', async () => {
    const result = await molt(['status'], { MOLT_LOG_LEVEL: 'loud' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('MOLT_LOG_LEVEL must be one of');
  });

  it('--log json: one stream of JSON lines (the report in the last), nothing else', async () => {
    await db.collection<RawUser>('users').deleteMany({});
    await db.collection<RawUser>('users').insertMany(mixedUsers(5));
    const result = await molt(['sweep', 'users', '--log', 'json']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    const lines = logLines(result.stderr);
    expect(lines.find((line) => line.msg === 'sweep complete')).toMatchObject({ report: { collection: 'users', migrated: 5 } });
  });
});
