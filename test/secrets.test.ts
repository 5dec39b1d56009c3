/**
 * Secrets never leave: a user logs in with a password of unusual characters (`@ : / % ?`, non-ASCII,
 * given percent-encoded in the URI), and one test collects everything mongo-molt prints, logs and
 * stores along the way, then searches it for the password in every encoding that could carry it.
 *
 * Collected: every CLI command's text and `--json` output (stdout and stderr, pino at `trace`), its
 * exit paths (wrong password, unreachable host, a server that never answers, SIGTERM mid-sweep); the
 * library's reports, thrown errors with their `cause` chains and a pino logger at `trace`; the
 * state and lease documents, the failure records and the archive left in the database.
 * Needs a server that authenticates (`npm run db:start -- documentdb-auth`): elsewhere the password
 * would never be used, so the test is skipped and says so.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { BSON, MongoClient } from 'mongodb';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkMigration, listFailures, migrationStatus, pruneArchive, restore, sweep, verifyVersion } from 'mongo-molt';
import { mixedUsers } from './fixtures/schemas.js';
import { ROOT, runMolt, type MoltRun } from './fixtures/run-molt.js';
import { useTestDatabase } from './support/database.js';

const { db, uri, features } = useTestDatabase('secrets');
const USER_INFO = /^(mongodb(?:\+srv)?:\/\/)[^/@]*@/;
const authenticates = USER_INFO.test(uri);

/** The random core: found in any fragment of the password that survived a partial redaction. */
const core = randomBytes(6).toString('hex');
const user = `molt_secret_${core.slice(0, 6)}`;
const password = `S€cr:t/@ü%?=${core}#Ω`;
const encoded = `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;

/** Every form the password could leave in. */
function secretForms(name: string, secret: string, random: string): Map<string, string> {
  const percent = encodeURIComponent(secret);
  const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  return new Map([
    ['raw', secret],
    ['percent-encoded', percent],
    ['percent-encoded, lower-case hex', percent.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase())],
    ['form-encoded', new URLSearchParams({ p: secret }).toString().slice(2)],
    ['JSON-escaped', JSON.stringify(secret).slice(1, -1)],
    ['JSON, ASCII-escaped', secret.replace(/[^\x20-\x7e]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)],
    ['base64 of user:password', base64(`${name}:${secret}`)],
    ['base64 of user:password (percent-encoded)', base64(`${encodeURIComponent(name)}:${percent}`)],
    ['base64 of the password', base64(secret)],
    ['base64url of the password', Buffer.from(secret, 'utf8').toString('base64url')],
    ['hex of the password', Buffer.from(secret, 'utf8').toString('hex')],
    ['its random core (any fragment of it)', random],
  ]);
}

/** `text` with every form of the password masked: a failing run shows where, not the secret itself. */
function masked(text: string): string {
  let out = text;
  for (const value of [...secretForms(user, password, core).values()].sort((a, b) => b.length - a.length)) out = out.split(value).join('<password>');
  return out.replace(new RegExp(core, 'gi'), '<password>');
}

/** The forms of the password found in `text`, with where (masked). */
function leaks(channels: ReadonlyMap<string, string>): string[] {
  const found: string[] = [];
  for (const [channel, text] of channels) {
    for (const [form, value] of secretForms(user, password, core)) {
      const at = form.startsWith('its random core') ? text.toLowerCase().indexOf(value.toLowerCase()) : text.indexOf(value);
      if (at >= 0) found.push(`${channel}: the password ${form} at ${at}: …${masked(text.slice(Math.max(0, at - 60), at + value.length + 20))}…`);
    }
  }
  return found;
}

const temp = mkdtempSync(join(tmpdir(), 'molt-secrets-'));
let blackHole: Server | undefined;
const held: Socket[] = [];
afterAll(async () => {
  rmSync(temp, { recursive: true, force: true });
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => (blackHole ? blackHole.close(resolve) : resolve(undefined)));
  if (authenticates) await db.client.db('admin').command({ dropUser: user }).catch(() => undefined);
});

describe('secrets never leave', () => {
  const name = 'the password of the connection string appears in no output, log, error, record or document, in any encoding';
  if (!authenticates) {
    process.stderr.write(`[skipped] "${name}": MONGODB_URI carries no credentials (${features.kind} here does not authenticate, so no password would ever be used): run it against npm run db:start -- documentdb-auth\n`);
  }
  beforeAll(async () => {
    if (!authenticates) return;
    await db.client.db('admin').command({ createUser: user, pwd: password, roles: [{ role: 'clusterAdmin', db: 'admin' }, { role: 'readWriteAnyDatabase', db: 'admin' }] });
  });

  it('finds every planted form (the search is not vacuous)', () => {
    for (const [form, value] of secretForms(user, password, core)) {
      expect(leaks(new Map([['planted', `x ${value} y`]])), form).not.toEqual([]);
    }
  });

  it.skipIf(!authenticates)(name, async () => {
    const secretUri = uri.replace(USER_INFO, `$1${encoded}@`);
    const channels = new Map<string, string>();
    const keep = (channel: string, text: string) => channels.set(channel, text);
    const began = Date.now();
    const keepRun = (channel: string, run: MoltRun) => {
      if (process.env.MOLT_SECRETS_TRACE) process.stderr.write(`[secrets] ${((Date.now() - began) / 1000).toFixed(1)} s ${channel}: exit ${String(run.code)}\n`);
      keep(channel, `exit ${String(run.code)} ${String(run.signal)}\n${run.stdout}\n${run.stderr}`);
    };

    // The password really logs in.
    const client = new MongoClient(secretUri, { serverSelectionTimeoutMS: 10_000 });
    await client.connect();
    const users = client.db(db.databaseName).collection('users');
    await users.insertMany([...mixedUsers(40), { _id: 'bad-1', full_name: 'FAIL', schemaVersion: 1 }, { _id: 'bad-2', full_name: '', schemaVersion: 1 }] as never[]);

    const config = join(temp, 'molt.config.ts');
    writeFileSync(config, [
      `import { defineConfig } from ${JSON.stringify(join(ROOT, 'src', 'index.ts'))};`,
      `import { User } from ${JSON.stringify(join(ROOT, 'test', 'fixtures', 'schemas.ts'))};`,
      `export default defineConfig({ db: ${JSON.stringify(db.databaseName)}, clientOptions: { serverSelectionTimeoutMS: 5000 },`,
      `  collections: [{ name: 'users', schema: User, batchSize: 7, ratePerSecond: Infinity, pauseMs: 0, archive: true }] });`,
      '',
    ].join('\n'));
    const env = { MONGODB_URI: secretUri, MOLT_LOG_LEVEL: 'trace' };
    const molt = (args: readonly string[], extra: Record<string, string> = {}) => runMolt([...args, '--config', config], { env: { ...env, ...extra }, cwd: temp });

    // Every command, text and --json, logged in: the sweeps in order, then the rest four at a time.
    const codes: string[] = [];
    const runAll = async (commands: ReadonlyArray<readonly [string[], number]>, parallel: number) => {
      for (let start = 0; start < commands.length; start += parallel) {
        await Promise.all(commands.slice(start, start + parallel).map(async ([args]) => {
          const run = await molt(args);
          keepRun(`molt ${args.join(' ')}`, run);
          codes.push(`molt ${args.join(' ')}: ${String(run.code)}`);
        }));
      }
    };
    const sweeps: Array<[string[], number]> = [[['sweep', '--dry-run'], 1], [['sweep'], 1], [['sweep', '--json'], 1]];
    // The second sweep exits 1 too: the failures the first recorded are still stale.
    const others: Array<[string[], number]> = [
      [['status'], 0], [['status', '--json'], 0],
      [['check'], 1], [['check', '--json'], 1],
      [['failures'], 0], [['failures', '--json'], 0],
      [['verify', '--min-version', '3'], 1], [['verify', '--min-version', '1', '--json'], 0],
      [['restore', '--dry-run'], 0], [['restore', '--dry-run', '--json'], 0],
      [['prune'], 0], [['prune', '--json'], 0],
    ];
    await runAll(sweeps, 1);
    await runAll(others, 4);
    // Each command ran to its own end (a run stopped at the login would prove nothing).
    expect(codes.sort()).toEqual([...sweeps, ...others].map(([args, code]) => `molt ${args.join(' ')}: ${code}`).sort());
    const init = await runMolt(['init', '--json', '--db', db.databaseName], { env, cwd: temp });
    keepRun('molt init --json', init);
    expect(init.code).toBe(0);

    // Exit paths: wrong password, unreachable host, a server that never answers, SIGTERM mid-sweep.
    const wrong = uri.replace(USER_INFO, `$1${encodeURIComponent(user)}x:${encodeURIComponent(password)}@`);
    for (const args of [['status'], ['sweep', '--json']]) {
      const run = await molt(args, { MONGODB_URI: wrong });
      keepRun(`wrong password: molt ${args.join(' ')}`, run);
      expect(run.code).toBe(4); // the server could not be used: credentials refused
      expect(run.stderr).toMatch(/Authentication failed|auth/i);
    }
    const unreachable = await molt(['status'], { MONGODB_URI: `mongodb://${encoded}@127.0.0.1:9/?serverSelectionTimeoutMS=1500` });
    keepRun('unreachable host', unreachable);
    expect(unreachable.code).toBe(4);
    blackHole = createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => blackHole?.listen(0, '127.0.0.1', resolve));
    const port = (blackHole.address() as { port: number }).port;
    const timeout = await molt(['sweep'], { MONGODB_URI: `mongodb://${encoded}@127.0.0.1:${port}/?serverSelectionTimeoutMS=1500&connectTimeoutMS=1000` });
    keepRun('timeout (a server that never answers)', timeout);
    expect(timeout.code).toBe(4);
    await users.insertMany(mixedUsers(60, 'slow') as never[]);
    const slowConfig = join(temp, 'molt.slow.config.ts');
    writeFileSync(slowConfig, [
      `import { defineConfig } from ${JSON.stringify(join(ROOT, 'src', 'index.ts'))};`,
      `import { User } from ${JSON.stringify(join(ROOT, 'test', 'fixtures', 'schemas.ts'))};`,
      `export default defineConfig({ db: ${JSON.stringify(db.databaseName)}, collections: [{ name: 'users', schema: User, batchSize: 5, ratePerSecond: 10, pauseMs: 0, archive: true }] });`,
      '',
    ].join('\n'));
    let signalled = false;
    const terminated = await runMolt(['sweep', '--config', slowConfig], {
      env, cwd: temp,
      onStderr: (text, child) => {
        if (!signalled && text.includes('batch done')) {
          signalled = true;
          child.kill('SIGTERM');
        }
      },
    });
    keepRun('SIGTERM mid-sweep', terminated);
    expect(signalled).toBe(true);
    // Interrupted (3), but the failures recorded earlier are still stale, and 1 wins over 3.
    expect(terminated.stdout).toContain('interrupted by a signal');
    expect(terminated.code).toBe(1);

    // The library: reports, thrown errors (inspected with their cause chains), pino at trace.
    let logged = '';
    const logger = pino({ level: 'trace' }, { write: (line: string) => void (logged += line) });
    const report = await sweep(users, (await import('./fixtures/schemas.js')).User, { ratePerSecond: Infinity, pauseMs: 0, logger, archive: true, retryFailed: true });
    keep('library sweep report', JSON.stringify(report));
    keep('library pino log at trace', logged);
    const refused = new MongoClient(wrong, { serverSelectionTimeoutMS: 5_000 });
    const errors: unknown[] = [];
    const wrongUsers = refused.db(db.databaseName).collection('users');
    const { User } = await import('./fixtures/schemas.js');
    for (const call of [
      () => migrationStatus(wrongUsers, User), () => checkMigration(wrongUsers, User), () => verifyVersion(wrongUsers, User, 1),
      () => listFailures(wrongUsers), () => restore(wrongUsers), () => pruneArchive(refused.db(db.databaseName)),
    ]) {
      errors.push(await call().then(() => new Error('expected a failure'), (error: unknown) => error));
    }
    const failedSweep = await sweep(wrongUsers, User, { maxRetries: 0, logger });
    await refused.close();
    keep('library errors, inspected with cause chains', errors.map((error) => inspect(error, { depth: 12, showHidden: true })).join('\n'));
    keep('library errors, as JSON', JSON.stringify(errors, Object.getOwnPropertyNames(errors[0] as object)));
    keep('failed sweep report', JSON.stringify(failedSweep));
    expect(errors.every((error) => error instanceof Error && !/expected a failure/.test(error.message))).toBe(true);
    expect(failedSweep.error?.message).toMatch(/Authentication failed/);

    // What is left in the database: state and lease documents, failure records, the archive.
    for (const name of ['molt_state', 'molt_failures', 'molt_archive']) {
      const documents = await client.db(db.databaseName).collection(name).find().toArray();
      keep(`collection ${name}`, BSON.EJSON.stringify(documents, { relaxed: false }));
      expect(documents.length, name).toBeGreaterThan(0);
    }
    await client.close();

    expect(leaks(channels)).toEqual([]);
  }, 600_000);
});
