import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ExitCode, runCli } from 'mongo-molt/cli';
import { mixedUsers } from './fixtures/schemas.js';
import { useTestDatabase } from './support/database.js';

const { db, uri } = useTestDatabase('cli_init');
const temp = mkdtempSync(join(tmpdir(), 'molt-init-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

beforeAll(async () => {
  await db.collection('users').insertMany(mixedUsers(9) as never[]);
  await db.collection('orders').insertMany([{ _id: 'o1', schemaVersion: 2 }, { _id: 'o2', schemaVersion: 'two' }] as never[]);
  await db.collection('molt_state').insertOne({ _id: 'x' } as never);
  await db.collection('molt_archive').insertOne({ _id: 'x' } as never);
});

async function molt(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runCli(args, { stdout: (text) => stdout.push(text), stderr: (text) => stderr.push(text), env: { MONGODB_URI: uri }, cwd: temp, interactive: true });
  return { code, stdout: stdout.join(''), stderr: stderr.join('') };
}

it('molt init writes a commented config with the version census of each collection, and never overwrites it', async () => {
  const result = await molt(['init', '--db', db.databaseName]);
  expect(result.code, result.stderr).toBe(ExitCode.OK);
  expect(result.stdout).toContain('2 collections');
  const text = readFileSync(join(temp, 'molt.config.ts'), 'utf8');
  expect(text).toContain(`db: ${JSON.stringify(db.databaseName)},`);
  expect(text).toContain('// orders: 2 documents; v2 1, invalid "two" 1');
  expect(text).toContain('// users: 9 documents; no version field 3, v1 3, v2 3');
  expect(text).toContain('// { name: "users", schema: TODO');
  expect(text).not.toContain('molt_state');
  expect(text).not.toContain('molt_archive');

  const again = await molt(['init', '--db', db.databaseName]);
  expect(again.code).toBe(ExitCode.USAGE);
  expect(again.stderr).toContain('does not overwrite it. Pass --force');
  expect((await molt(['init', '--db', db.databaseName, '--force'])).code).toBe(ExitCode.OK);

  const json = await molt(['init', '--db', db.databaseName, '--json']);
  expect(JSON.parse(json.stdout)).toMatchObject({ versionField: 'schemaVersion', collections: [{ name: 'orders', total: 2 }, { name: 'users', total: 9 }] });
});

it('molt init needs a database', async () => {
  const result = await molt(['init', '--out', 'elsewhere.ts']);
  expect(result.code).toBe(ExitCode.USAGE);
  expect(result.stderr).toContain('init needs a database: pass --db');
});

it('molt init refuses a database that does not exist (exit 2) and writes no config', async () => {
  const result = await molt(['init', '--db', `${db.databaseName}_typo`, '--out', 'typo.config.ts']);
  expect(result.code).toBe(ExitCode.USAGE);
  expect(result.stderr).toContain('does not exist');
  expect(existsSync(join(temp, 'typo.config.ts'))).toBe(false);
});
