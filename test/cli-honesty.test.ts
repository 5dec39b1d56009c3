import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { sweep } from 'mongo-molt';
import { ExitCode, runCli } from 'mongo-molt/cli';
import { clientOptionsFor } from '../src/cli/run.js';
import { mixedUsers, User, type RawUser } from './fixtures/schemas.js';
import { ROOT } from './fixtures/run-molt.js';
import { useTestDatabase } from './support/database.js';

const { db, uri } = useTestDatabase('cli_honesty');
const temp = mkdtempSync(join(tmpdir(), 'molt-honesty-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

const SCHEMAS = JSON.stringify(join(ROOT, 'test', 'fixtures', 'schemas.ts'));
const DEFINE = JSON.stringify(join(ROOT, 'src', 'index.ts'));
let configs = 0;

/** A config file for this file's database; `collections` is the source of the array. */
function writeConfig(collections: string, exportLine = 'export default'): string {
  const path = join(temp, `molt-${++configs}.config.ts`);
  writeFileSync(path, `import { defineConfig } from ${DEFINE};\nimport { User } from ${SCHEMAS};\n${exportLine} defineConfig({ db: ${JSON.stringify(db.databaseName)}, collections: ${collections} });\n`);
  return path;
}

/** Runs `molt` in process, as on a terminal: messages are plain text. */
async function molt(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runCli(args, { stdout: (text) => stdout.push(text), stderr: (text) => stderr.push(text), env: { MONGODB_URI: uri }, cwd: temp, interactive: true, columns: 100 });
  return { code, stdout: stdout.join(''), stderr: stderr.filter((text) => !text.startsWith('\r')).join('') };
}

const users = () => db.collection<RawUser>('users');
beforeEach(async () => {
  for (const name of ['users', 'orders', 'molt_state', 'molt_failures']) await db.collection(name).drop().catch(() => undefined);
});

describe('molt verify cannot pass by mistake', () => {
  it('fails on a collection that does not exist, unless --allow-missing', async () => {
    const config = writeConfig('[{ name: "userz", schema: User }]');
    const missing = await molt(['verify', '--config', config, '--min-version', '3']);
    expect(missing.code).toBe(ExitCode.FAILURES);
    expect(missing.stdout).toContain('userz: the collection does not exist');
    const allowed = await molt(['verify', '--config', config, '--min-version', '3', '--allow-missing']);
    expect(allowed.code).toBe(ExitCode.OK);
  });

  it('takes the minimum version per collection from the config or the flag, and names the flag in errors', async () => {
    await users().insertMany(mixedUsers(6));
    await db.collection('orders').insertOne({ _id: 'o1', display_name: 'x', email: null, tags: [], schemaVersion: 3 } as never);
    const config = writeConfig('[{ name: "users", schema: User, minVersion: 1 }, { name: "orders", schema: User }]');
    const noVersion = await molt(['verify', '--config', config]);
    expect(noVersion.code).toBe(ExitCode.USAGE);
    expect(noVersion.stderr).toContain('verify needs a version for "orders": pass --min-version N');
    const perCollection = await molt(['verify', '--config', config, '--min-version', 'orders=3']);
    expect(perCollection.code, perCollection.stderr).toBe(ExitCode.OK);
    expect(perCollection.stdout).toContain('users: ok, every document is at v1');
    const users3 = await molt(['verify', '--config', config, '--min-version', 'orders=3', '--min-version', 'users=3']);
    expect(users3.code).toBe(ExitCode.FAILURES);
    expect(users3.stdout).toContain('users: 6 documents below v3');
    const tooHigh = await molt(['verify', '--config', config, '--min-version', '9']);
    expect(tooHigh.code).toBe(ExitCode.USAGE);
    expect(tooHigh.stderr).toContain('--min-version 9 is above the latest version');
    const typo = await molt(['verify', '--config', config, '--min-version', 'userz=3']);
    expect(typo.code).toBe(ExitCode.USAGE);
    expect(typo.stderr).toContain('"userz" is not among the collections verified');
  });

  it('a config entry with minVersion (as the README shows) sweeps, checks and reports status too', async () => {
    await users().insertMany(mixedUsers(6));
    const config = writeConfig('[{ name: "users", schema: User, pauseMs: 0, minVersion: 3 }]');
    for (const command of [['sweep', '--dry-run'], ['sweep'], ['check'], ['status']]) {
      const result = await molt([...command, '--config', config]);
      expect(result.code, `${command.join(' ')}: ${result.stderr}`).toBe(ExitCode.OK);
    }
    expect((await molt(['verify', '--config', config])).code).toBe(ExitCode.OK);
  });

  it('refuses a minVersion in the config that the schema does not have', async () => {
    const config = writeConfig('[{ name: "users", schema: User, minVersion: 7 as 3 }]');
    const result = await molt(['verify', '--config', config]);
    expect(result.code).toBe(ExitCode.USAGE);
    expect(result.stderr).toContain('minVersion must be a version of its schema (1..3), got 7');
  });
});

describe('hints that lead somewhere', () => {
  const seedFailures = () => users().insertMany([...mixedUsers(6), { _id: 'bad-1', full_name: 'FAIL' }]);

  it('after failures, points to molt failures and --retry-failed', async () => {
    await seedFailures();
    const config = writeConfig('[{ name: "users", schema: User, pauseMs: 0 }]');
    const result = await molt(['sweep', '--config', config]);
    expect(result.code).toBe(ExitCode.FAILURES);
    expect(result.stdout).toContain('see: molt failures users; after a fix: molt sweep users --retry-failed');
  });

  it('a dry run says what is still stale and never points to failures it did not record', async () => {
    await seedFailures();
    const config = writeConfig('[{ name: "users", schema: User, pauseMs: 0 }]');
    const result = await molt(['sweep', '--config', config, '--dry-run']);
    expect(result.stdout).toContain('still stale 7 (a dry run migrates nothing)');
    expect(result.stdout).not.toContain('remaining 0');
    expect(result.stdout).not.toContain('molt failures');
    expect(result.stdout).toContain('a dry run records no failures: molt check users lists them');
  });

  it('a locked run reports how much is stale, not 0', async () => {
    await users().insertMany(mixedUsers(5));
    const lease = { owner: 'other:1:ab', host: 'other', pid: 1, acquiredAt: new Date(), expiresAt: new Date(Date.now() + 60_000) };
    await db.collection('molt_state').insertOne({ _id: 'users:user', collection: 'users', schema: 'user', checkpoint: null, lastRun: null, lease } as never);
    const report = await sweep(users(), User, { pauseMs: 0 });
    expect(report).toMatchObject({ status: 'locked', remaining: 5 });
  });

  it('a config with a named export instead of a default says so', async () => {
    const config = writeConfig('[{ name: "users", schema: User }]', 'export const config =');
    const result = await molt(['status', '--config', config]);
    expect(result.code).toBe(ExitCode.USAGE);
    expect(result.stderr).toContain('the config is exported as "config", a named export: molt reads the default export');
  });
});

describe('the time budget', () => {
  it('counts from the start of the command: loading the config and connecting are part of it', async () => {
    await users().insertMany(mixedUsers(5));
    const config = writeConfig('[{ name: "users", schema: User, pauseMs: 0 }]');
    // Loading a TypeScript config alone takes far more than a millisecond: no sweep may start.
    const result = await molt(['sweep', '--config', config, '--max-duration', '1ms', '--json']);
    expect(result.code).toBe(ExitCode.PARTIAL);
    const stale = await users().countDocuments({ schemaVersion: { $ne: 3 } });
    expect(stale).toBeGreaterThan(0);
    // A collection the run did not start is counted, never reported as having nothing left.
    expect(JSON.parse(result.stdout)).toMatchObject([{ status: 'partial', pass: 0, scanned: 0, remaining: stale, reason: 'budget' }]);
    expect(await users().countDocuments({ schemaVersion: 3 })).toBe(0);
    const text = await molt(['sweep', '--config', config, '--max-duration', '1ms']);
    expect(text.code).toBe(ExitCode.PARTIAL);
    expect(text.stdout).toContain('users: partial (');
    expect(text.stdout).toContain(`remaining ${stale} stale`);
  });
});

describe('the connection string', () => {
  it("keeps its own options over molt's defaults", () => {
    const fromUri = 'mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=500&appname=mine';
    const client = new MongoClient(fromUri, clientOptionsFor(fromUri, undefined));
    expect(client.options.serverSelectionTimeoutMS).toBe(500);
    expect(client.options.appName).toBe('mine');
    const plain = 'mongodb://127.0.0.1:9/';
    expect(new MongoClient(plain, clientOptionsFor(plain, undefined)).options.serverSelectionTimeoutMS).toBe(15_000);
    expect(new MongoClient(fromUri, clientOptionsFor(fromUri, { serverSelectionTimeoutMS: 700 })).options.serverSelectionTimeoutMS).toBe(700);
  });

  it('passes TLS and authentication options through, from the connection string and from clientOptions, none dropped', () => {
    const ca = join(temp, 'ca.pem');
    const key = join(temp, 'client.pem');
    writeFileSync(ca, 'not a real certificate: the driver reads it at connect time only\n');
    writeFileSync(key, 'not a real key\n');
    const withTls = `mongodb://molt_ci:secret@127.0.0.1:9/?tls=true&tlsCAFile=${encodeURIComponent(ca)}&authSource=admin&authMechanism=SCRAM-SHA-256`;
    const fromUri = new MongoClient(withTls, clientOptionsFor(withTls, undefined)).options;
    expect(fromUri.tls).toBe(true);
    expect(fromUri.tlsCAFile).toBe(ca);
    expect(fromUri.credentials?.source).toBe('admin');
    expect(fromUri.credentials?.mechanism).toBe('SCRAM-SHA-256');
    expect(fromUri.appName).toBe('molt');
    const plain = 'mongodb://molt_ci:secret@127.0.0.1:9/';
    const fromConfig = new MongoClient(plain, clientOptionsFor(plain, { tls: true, tlsCAFile: ca, tlsCertificateKeyFile: key, authSource: 'admin', authMechanism: 'SCRAM-SHA-256' })).options;
    expect(fromConfig.tls).toBe(true);
    expect(fromConfig.tlsCAFile).toBe(ca);
    expect(fromConfig.tlsCertificateKeyFile).toBe(key);
    expect(fromConfig.credentials?.source).toBe('admin');
    expect(fromConfig.credentials?.mechanism).toBe('SCRAM-SHA-256');
  });
});

describe('--json answers a refused command line in JSON', () => {
  /** Runs `molt` in process as cron does (no terminal), with the given environment. */
  async function cron(args: readonly string[], env: NodeJS.ProcessEnv = { MONGODB_URI: uri }): Promise<{ code: number; stdout: string }> {
    const stdout: string[] = [];
    const code = await runCli(args, { stdout: (text) => stdout.push(text), stderr: () => undefined, env, cwd: temp, interactive: false });
    return { code, stdout: stdout.join('') };
  }

  it('a misspelt flag, a bad value, an unknown command or MOLT_LOG_LEVEL: one JSON error on stdout, exit 2', async () => {
    const config = writeConfig('[{ name: "users", schema: User }]');
    const refused: [readonly string[], string, NodeJS.ProcessEnv?][] = [
      [['sweep', '--config', config, '--max-duraton', '3s', '--json'], "unknown option '--max-duraton'"],
      [['sweep', '--json', '--config', config, '--batch-size', 'abc'], '--batch-size expects a whole number above 0, got "abc"'],
      [['verify', '--config', config, '--json', '--min-version', 'x'], '--min-version expects a whole number above 0, got "x"'],
      [['frob', '--json'], 'unknown command "frob"'],
      [['status', '--config', config, '--json'], 'MOLT_LOG_LEVEL must be one of', { MONGODB_URI: uri, MOLT_LOG_LEVEL: 'loud' }],
    ];
    for (const [args, message, env] of refused) {
      const result = await cron(args, env);
      expect(result.code, args.join(' ')).toBe(ExitCode.USAGE);
      expect(JSON.parse(result.stdout), args.join(' ')).toEqual({ error: { name: 'UsageError', message: expect.stringContaining(message) as unknown }, exitCode: 2 });
    }
  });

  it('a --json that is the value of another flag is not the switch', async () => {
    const result = await cron(['restore', '--since', '--json']);
    expect(result.code).toBe(ExitCode.USAGE);
    expect(result.stdout).toBe('');
  });
});
