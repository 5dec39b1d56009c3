/**
 * The scheduler's SIGTERM reaches the sweep, however it was started. Started through npx (npm
 * exec), molt is npm's child and npm does not pass the signal on: npm exits 143 at once and molt,
 * re-parented, used to sweep on to "complete". molt now treats its launcher going away as the
 * signal: it finishes the batch in flight, saves the checkpoint and stops. This runs the real npx
 * over an app directory whose node_modules/.bin/molt starts the CLI.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';
import type { SweepStateDocument } from 'mongo-molt';
import { mixedUsers, type RawUser } from './fixtures/schemas.js';
import { FIXTURE_CONFIG, ROOT } from './fixtures/run-molt.js';
import { useTestDatabase } from './support/database.js';

const { db, uri } = useTestDatabase('cli_signals');

/** An app directory with mongo-molt's bin installed as npm would: node_modules/.bin/molt. */
function appDirectory(): string {
  const app = mkdtempSync(join(tmpdir(), 'molt-app-'));
  mkdirSync(join(app, 'node_modules', '.bin'), { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  const tsx = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
  const bin = join(app, 'node_modules', '.bin', 'molt');
  writeFileSync(bin, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} --import ${tsx} ${JSON.stringify(join(ROOT, 'src', 'cli', 'main.ts'))} "$@"\n`);
  chmodSync(bin, 0o755);
  return app;
}

it('SIGTERM to `npx molt sweep` (npm exits at once): molt stops after the batch in flight, saves its checkpoint and releases the lease', async () => {
  await db.collection<RawUser>('users').insertMany(mixedUsers(400));
  await db.collection<RawUser>('accounts').insertMany(mixedUsers(2, 'a'));
  const app = appDirectory();
  const child = spawn('npx', ['--no-install', 'molt', 'sweep', 'users', '--config', FIXTURE_CONFIG, '--rate', '40', '--batch-size', '10', '--json'], {
    cwd: app,
    env: { ...process.env, MONGODB_URI: uri, MOLT_TEST_DB: db.databaseName, MOLT_LOG_LEVEL: 'debug' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let npmExit: number | null = null;
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (npmExit === null && child.exitCode === null && (stderr.match(/"batch done"/g) ?? []).length >= 3) child.kill('SIGTERM');
  });
  child.once('exit', (code, signal) => (npmExit = code ?? (signal === null ? null : 143)));
  // The pipes close when the last process holding them (molt itself) is gone.
  await new Promise((resolve) => child.once('close', resolve));
  expect(npmExit).not.toBeNull();
  const [report] = JSON.parse(stdout) as { status: string; migrated: number; reason: string }[];
  expect(report).toMatchObject({ status: 'partial', reason: 'signal' });
  expect(report?.migrated).toBeLessThan(400);
  const state = await db.collection<SweepStateDocument>('molt_state').findOne({ _id: 'users:user' });
  expect(state?.lease).toBeNull();
  expect(state?.checkpoint?.migrated).toBe(report?.migrated);
  expect(await db.collection('users').countDocuments({ schemaVersion: 3 })).toBe(report?.migrated);
  expect(stderr).toContain('the command that started molt (npx, npm exec) is gone');
}, 120_000);
