import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { SweepStateDocument } from 'mongo-molt';
import { mixedUsers, type RawUser } from './fixtures/schemas.js';
import { FIXTURE_CONFIG, logLines, ROOT, runMolt } from './fixtures/run-molt.js';
import { useTestDatabase } from './support/database.js';

const { db, uri } = useTestDatabase('cli');
const env = { MONGODB_URI: uri, MOLT_TEST_DB: db.databaseName };
/** `molt <command> --config fixture …`: the command must come first. */
const run = (command: string, args: readonly string[] = [], extraEnv: Record<string, string | undefined> = {}) =>
  runMolt([command, '--config', FIXTURE_CONFIG, ...args], { env: { ...env, ...extraEnv } });

const users = () => db.collection<RawUser>('users');
const accounts = () => db.collection<RawUser>('accounts');
const states = () => db.collection<SweepStateDocument>('molt_state');

const temp = mkdtempSync(join(tmpdir(), 'molt-cli-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));
let configs = 0;
/** Writes a config file in a temp directory and returns its path. */
function writeConfig(source: string): string {
  const path = join(temp, `molt-${++configs}.config.ts`);
  writeFileSync(path, source);
  return path;
}
const SCHEMAS = JSON.stringify(join(ROOT, 'test', 'fixtures', 'schemas.ts'));
const DEFINE = JSON.stringify(join(ROOT, 'src', 'index.ts'));

beforeEach(async () => {
  for (const name of ['users', 'accounts', 'molt_state', 'molt_failures']) await db.collection(name).drop().catch(() => undefined);
});

async function seedWithFailures(): Promise<void> {
  await users().insertMany([...mixedUsers(45), { _id: 'bad-1', full_name: 'FAIL' }, { _id: 'bad-2', full_name: 'FAIL', schemaVersion: 1 }, { _id: 'bad-3', full_name: '', schemaVersion: 1 }]);
  await accounts().insertMany(mixedUsers(10, 'a'));
}

describe('molt (as a process)', () => {
  it('documents every command, with examples, in --help', async () => {
    const main = await runMolt(['--help']);
    expect(main.code).toBe(0);
    for (const command of ['status', 'sweep', 'check', 'failures', 'verify']) expect(main.stdout).toContain(command);
    expect(main.stdout).toMatch(/Exit codes: 0 done; 1 documents failed/);
    expect(main.stdout).toContain('4 the server could not be used');
    // The documented command receives the scheduler's signals, and keeps the password out of ps.
    expect(main.stdout).toContain('exec ./node_modules/.bin/molt sweep');
    expect(main.stdout).not.toMatch(/npx molt|MONGODB_URI=\S/);
    const sweepHelp = await runMolt(['sweep', '--help']);
    expect(sweepHelp.code).toBe(0);
    expect(sweepHelp.stdout).toContain('--max-duration');
    expect(sweepHelp.stdout).toContain('Examples:');
    const bare = await runMolt([]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('Usage: molt <command>');
  });

  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['sweep', '--bogus'], /unknown option '--bogus'.*molt sweep --help/],
    [['sweep', '--batch-size', 'ten'], /--batch-size expects a whole number/],
    [['sweep', '--max-duration', '10'], /--max-duration expects a duration with a unit/],
  ])('exits 2 on a wrong command line: %j', async (args, message) => {
    const result = await runMolt(args, { env });
    expect(result.code).toBe(2);
    const [line] = logLines(result.stderr);
    expect(line).toMatchObject({ level: 50, exitCode: 2 });
    expect(String(line?.msg)).toMatch(message);
  });

  it('exits 2 on an unknown collection, naming the configured ones', async () => {
    const result = await run('sweep', ['customers']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown collection \\"customers\\"');
    expect(result.stderr).toContain('\\"users\\", \\"accounts\\"');
  });

  it.each([
    // The line: the file's fourth (after the two imports and `void User;`), with its text.
    ['a syntax error', 'export default defineConfig({ db: "x", collections: [ });', /config\.ts \(line 4, column \d+: export default defineConfig\(\{ db: \\"x\\", collections: \[ \}\);\) could not be loaded/],
    ['no default export object', 'export default 42;', /the default export must be defineConfig/],
    ['no db', 'export default defineConfig({ collections: [] } as never);', /db must be the name of the database/],
    ['no collections', 'export default defineConfig({ db: "x", collections: [] });', /collections must be a non-empty array/],
    ['a schema that is not one', 'export default defineConfig({ db: "x", collections: [{ name: "users", schema: {} as never }] });', /collections\[0\] \(\\"users\\"\)\.schema must be a versioned schema/],
    ['a bad sweep option', 'export default defineConfig({ db: "x", collections: [{ name: "users", schema: User, batchSize: 0 }] });', /collections\[0\] \(\\"users\\"\): Option \\"batchSize\\": must be an integer/],
    ['a run-only option', 'export default defineConfig({ db: "x", collections: [{ name: "users", schema: User, dryRun: true } as never] });', /dryRun cannot be set in the config \(use molt sweep --dry-run\)/],
    ['an unknown field', 'export default defineConfig({ db: "x", collections: [{ name: "users", schema: User }], url: "typo" } as never);', /unknown field \\"url\\"/],
  ])('exits 2 on a config with %s', async (_label, body, message) => {
    const path = writeConfig(`import { defineConfig } from ${DEFINE};\nimport { User } from ${SCHEMAS};\nvoid User;\n${body}\n`);
    const result = await runMolt(['status', '--config', path], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('exits 2 without a config file, or without a connection string', async () => {
    const missing = await runMolt(['status'], { env, cwd: temp });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no molt.config.ts in');
    const notThere = await runMolt(['status', '--config', 'nope.config.ts'], { env });
    expect(notThere.code).toBe(2);
    expect(notThere.stderr).toContain('does not exist');
    const path = writeConfig(`import { defineConfig } from ${DEFINE};\nimport { User } from ${SCHEMAS};\nexport default defineConfig({ db: "x", collections: [{ name: "users", schema: User }] });\n`);
    const noUri = await runMolt(['status', '--config', path], { env: { MONGODB_URI: undefined } });
    expect(noUri.code).toBe(2);
    expect(noUri.stderr).toContain('set MONGODB_URI');
  });

  it('sweep: exit 1 when documents fail, --json report on stdout, pino lines on stderr; the next run exits 1 again while the recorded failures are stale', async () => {
    await seedWithFailures();
    const first = await run('sweep', ['--json']);
    expect(first.code).toBe(1);
    const reports = JSON.parse(first.stdout) as { collection: string; status: string; migrated: number; failed: number; remaining: number }[];
    expect(reports).toEqual([
      expect.objectContaining({ collection: 'users', status: 'complete', migrated: 45, failed: 3, remaining: 3 }),
      expect.objectContaining({ collection: 'accounts', status: 'complete', migrated: 10, failed: 0, remaining: 0 }),
    ]);
    const lines = logLines(first.stderr);
    expect(lines.some((line) => line.msg === 'sweep started' && line.collection === 'users')).toBe(true);
    const warnings = lines.filter((line) => line.msg === 'document failed to migrate: recorded, left unchanged');
    expect(warnings.map((line) => line._id).sort()).toEqual(['bad-1', 'bad-2', 'bad-3']);
    expect(first.stderr).not.toContain('FAIL'); // _ids, never document bodies

    // Exit codes follow what is left, not one run's counts: the failures recorded by the first run
    // are still stale, so a cron run that migrates nothing more still needs someone.
    const second = await run('sweep', ['users', '--json']);
    expect(second.code).toBe(1);
    expect(JSON.parse(second.stdout)).toEqual([expect.objectContaining({ collection: 'users', status: 'complete', migrated: 0, failed: 0, staleFailures: 3 })]);

    // A dry run skips the recorded failures, as a real run does: it says so rather than a bare
    // "would fail 0" beside check's 3, and exits 1 as the real run would.
    const dry = await run('sweep', ['users', '--dry-run']);
    expect(dry.code).toBe(1);
    expect(dry.stdout).toContain('would fail 0');
    expect(dry.stdout).toContain('  3 documents recorded as failures by earlier runs, still stale: skipped (not in "would fail"); --retry-failed includes them');
  });

  it('sweep --dry-run writes nothing; exit 3 when another run holds the lease', async () => {
    await accounts().insertMany(mixedUsers(12, 'a'));
    const dry = await run('sweep', ['accounts', '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject([{ status: 'complete', dryRun: true, migrated: 12 }]);
    expect(await accounts().countDocuments({ schemaVersion: 3 })).toBe(0);

    await states().insertOne({
      _id: 'accounts:user', collection: 'accounts', schema: 'user', checkpoint: null, lastRun: null,
      lease: { owner: 'cron-2:77:ffff', host: 'cron-2', pid: 77, acquiredAt: new Date(), expiresAt: new Date(Date.now() + 60_000) },
    });
    const locked = await run('sweep', ['accounts']);
    expect(locked.code).toBe(3);
    expect(locked.stdout).toContain('accounts: locked');
    expect(locked.stdout).toContain('cron-2');
  });

  it('sweep --max-duration: exit 3 with status partial; the next run resumes', async () => {
    await users().insertMany(mixedUsers(300));
    // The budget counts from the start of the command (config and connection included): 5 s leaves
    // room for a slow start-up, and 20 docs/s cannot migrate all 300 within it.
    const partial = await run('sweep', ['users', '--rate', '20', '--batch-size', '10', '--max-duration', '5s', '--json']);
    expect(partial.code).toBe(3);
    const report = (JSON.parse(partial.stdout) as { status: string; migrated: number; reason: string }[])[0] as { status: string; migrated: number; reason: string };
    expect(report.reason).toBe('budget');
    expect(report.status).toBe('partial');
    expect(report.migrated).toBeGreaterThan(0);
    expect(report.migrated).toBeLessThan(300);
    const rest = await run('sweep', ['users', '--json']);
    expect(rest.code).toBe(0);
    expect(JSON.parse(rest.stdout)).toMatchObject([{ status: 'complete', migrated: 300 - report.migrated, skipped: 0 }]);
  });

  it('sweep stops cleanly on SIGTERM: the batch in flight is finished or abandoned whole (never half-counted), the checkpoint is saved, exit 3', async () => {
    await users().insertMany(mixedUsers(400));
    let signalled = false;
    const result = await runMolt(['sweep', 'users', '--config', FIXTURE_CONFIG, '--rate', '50', '--batch-size', '10', '--json'], {
      env: { ...env, MOLT_LOG_LEVEL: 'debug' },
      onStderr: (stderr, child) => {
        if (!signalled && (stderr.match(/"batch done"/g) ?? []).length >= 3) {
          signalled = true;
          child.kill('SIGTERM');
        }
      },
    });
    expect(signalled).toBe(true);
    expect(result.code).toBe(3);
    const report = (JSON.parse(result.stdout) as { status: string; migrated: number; reason: string }[])[0] as { status: string; migrated: number; reason: string };
    expect(report.reason).toBe('signal');
    expect(report.status).toBe('partial');
    const state = await states().findOne({ _id: 'users:user' });
    expect(state?.lease).toBeNull();
    expect(state?.checkpoint?.migrated).toBe(report.migrated);
    expect(await users().countDocuments({ schemaVersion: 3 })).toBe(report.migrated);
  });

  it('status --json: histogram, stale count, checkpoint, lease, failures and last run', async () => {
    await seedWithFailures();
    await users().insertOne({ _id: 'weird', schemaVersion: 'x' });
    const before = await run('status', ['users', '--json']);
    expect(before.code).toBe(0);
    const [status] = JSON.parse(before.stdout) as { total: number; stale: number; histogram: { version: unknown; count: number }[]; checkpoint: unknown; failures: number }[];
    expect(status).toMatchObject({ total: 49, stale: 48, checkpoint: null, failures: 0 });
    expect(status?.histogram).toEqual([
      { version: null, count: 16 },
      { version: 1, count: 17 },
      { version: 2, count: 15 },
      { version: '"x"', count: 1 },
    ]);
    await run('sweep', ['users']);
    const after = await run('status', ['users']);
    expect(after.code).toBe(0);
    expect(after.stdout).toContain('stale 3 (6.1%)');
    expect(after.stdout).toContain('v3: 45');
    expect(after.stdout).toMatch(/checkpoint {2}pass 1 complete/);
    expect(after.stdout).toContain('lease       free');
    expect(after.stdout).toContain('failures    3 (molt failures users)');
    expect(after.stdout).toMatch(/last run {4}complete at .*migrated 45, failed 3/);
  });

  it('status draws the census as bars with MOLT_BARS=1 (as on a terminal); plain through a pipe', async () => {
    await seedWithFailures();
    const bars = await run('status', ['users'], { MOLT_BARS: '1', NO_COLOR: undefined });
    expect(bars.code).toBe(0);
    const lines = bars.stdout.split('\n');
    const first = lines.findIndex((line) => line.startsWith('  versions    '));
    const census = lines.slice(first, first + 3).map((line) => line.slice(14));
    expect(census).toEqual([
      expect.stringMatching(/^none {2}█+[▉-▏]? +16 {2} 33\.3%$/),
      expect.stringMatching(/^v1 {4}█+[▉-▏]? +17 {2} 35\.4%$/),
      expect.stringMatching(/^v2 {4}█+[▉-▏]? +15 {2} 31\.3%$/),
    ]);
    for (const line of census) expect(line.length).toBe(census[0]?.length);
    expect(lines[first + 3]).toMatch(/^ {2}checkpoint {2}none/);
    expect(bars.stdout).not.toContain('\x1b['); // not a terminal: no colour
    const plain = await run('status', ['users']);
    expect(plain.stdout).toContain('  versions    none: 16  v1: 17  v2: 15\n');
    expect(plain.stdout).not.toContain('█');
  });

  it('check: groups failures by error with example _ids, writes nothing, exit 1 (0 when all pass)', async () => {
    await seedWithFailures();
    const result = await run('check', ['--json']);
    expect(result.code).toBe(1);
    const [usersReport, accountsReport] = JSON.parse(result.stdout) as { checked: number; failed: number; groups: { error: string; message: string; count: number; examples: string[] }[] }[];
    expect(usersReport).toMatchObject({ checked: 48, failed: 3 });
    expect(usersReport?.groups).toEqual([
      expect.objectContaining({ error: 'UpcastError', count: 2, examples: ['bad-1', 'bad-2'] }),
      expect.objectContaining({ error: 'ValidationError', count: 1, examples: ['bad-3'] }),
    ]);
    expect(usersReport?.groups[0]?.message).toContain('Migrating document <_id>');
    expect(accountsReport).toMatchObject({ checked: 10, failed: 0 });
    expect(await users().countDocuments({ schemaVersion: 3 })).toBe(0);
    expect(await db.collection('molt_failures').countDocuments()).toBe(0);

    const clean = await run('check', ['accounts', '--sample', '5']);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toMatch(/accounts: checked 5 stale documents \((random sample|first documents by _id.*)\) against v3: 5 pass, 0 fail/);
  });

  it('failures: lists the recorded failures, newest first, with --limit', async () => {
    await seedWithFailures();
    await run('sweep', ['users']);
    const listed = await run('failures', ['users', '--json']);
    expect(listed.code).toBe(0);
    const [entry] = JSON.parse(listed.stdout) as { collection: string; total: number; failures: { documentId: string; attempts: number; error: { name: string } }[] }[];
    expect(entry?.total).toBe(3);
    expect(entry?.failures.map((failure) => failure.documentId).sort()).toEqual(['bad-1', 'bad-2', 'bad-3']);
    const limited = await run('failures', ['users', '--limit', '1']);
    expect(limited.stdout).toContain('users: 3 failures (newest 1 shown)');
    expect(limited.stdout).toMatch(/UpcastError|ValidationError/);
  });

  it('verify --min-version: exit 1 while documents are below, 0 once swept, 2 for a version the schema lacks', async () => {
    await accounts().insertMany(mixedUsers(9, 'a'));
    const below = await run('verify', ['accounts', '--min-version', '3']);
    expect(below.code).toBe(1);
    expect(below.stdout).toContain('accounts: 9 documents below v3');
    const atTwo = await run('verify', ['accounts', '--min-version', '2', '--json']);
    expect(atTwo.code).toBe(1);
    expect(JSON.parse(atTwo.stdout)).toEqual([{ db: db.databaseName, collection: 'accounts', minVersion: 2, ok: false, below: 6, examples: ['a000000', 'a000001', 'a000003', 'a000004', 'a000006'], missing: false, fix: { sweepable: 6, failures: 0, outOfReach: 0, outOfReachExamples: [] } }]);
    await run('sweep', ['accounts']);
    const ok = await run('verify', ['accounts', '--min-version', '3']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('accounts: ok');
    const unknown = await run('verify', ['accounts', '--min-version', '9']);
    expect(unknown.code).toBe(2);
  });

  it('never prints credentials: not in errors, logs or output', async () => {
    // In place of the suite's own credentials, if it runs logged in.
    const secretUri = (base: string) => base.replace(/^mongodb:\/\/([^/@]*@)?/, 'mongodb://molt-admin:s3cret%2FPa55@');
    const refused = await runMolt(['status', '--config', FIXTURE_CONFIG], { env: { ...env, MONGODB_URI: secretUri('mongodb://127.0.0.1:9/?authSource=admin') } });
    const refusedAuth = await runMolt(['sweep', '--config', FIXTURE_CONFIG], { env: { ...env, MONGODB_URI: secretUri(uri) } });
    const path = writeConfig(`import { defineConfig } from ${DEFINE};\nimport { User } from ${SCHEMAS};\nexport default defineConfig({ uri: ${JSON.stringify(secretUri(uri))}, db: ${JSON.stringify(db.databaseName)}, collections: [{ name: "users", schema: User }] });\n`);
    const fromConfig = await runMolt(['check', '--config', path], { env: { MONGODB_URI: undefined } });
    for (const result of [refused, refusedAuth, fromConfig]) {
      expect(result.code).toBe(4); // no such user: every login fails (where the server authenticates at all): an infrastructure error
      const output = result.stdout + result.stderr;
      expect(output).toContain('cannot connect to mongodb://***@');
      for (const secret of ['molt-admin', 's3cret', 'Pa55', '%2F']) expect(output).not.toContain(secret);
    }
  });

  it('refuses a connection string the driver cannot parse with exit 2, without printing the password', async () => {
    const result = await runMolt(['status', '--config', FIXTURE_CONFIG], { env: { ...env, MONGODB_URI: 'mongodb://molt-admin:se@cr3t@127.0.0.1:99999/' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('is not valid');
    expect(result.stdout + result.stderr).not.toContain('cr3t');
  });
});
