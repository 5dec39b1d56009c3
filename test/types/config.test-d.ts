import { test } from 'vitest';
import type { Collection, Document } from 'mongodb';
import { checkMigration, defineConfig, listFailures, migrationStatus, sweep, verifyVersion } from 'mongo-molt';
import { runCli } from 'mongo-molt/cli';
import { User } from '../fixtures/user-schema.js';

declare const raw: Collection<Document>;

// Never run: these lines are checked by the type checker only.
test('defineConfig catches misspelled and run-only options', () => {
  void defineConfig({ db: 'app', collections: [{ name: 'users', schema: User, batchSize: 500, pauseMs: undefined }] });
  // @ts-expect-error misspelled option: batchSize
  void defineConfig({ db: 'app', collections: [{ name: 'users', schema: User, batchsize: 500 }] });
  // @ts-expect-error dryRun is a flag of molt sweep, not a config option
  void defineConfig({ db: 'app', collections: [{ name: 'users', schema: User, dryRun: true }] });
  // @ts-expect-error retryFailed is a flag of molt sweep, not a config option
  void defineConfig({ db: 'app', collections: [{ name: 'users', schema: User, retryFailed: true }] });
  // @ts-expect-error unknown top-level field
  void defineConfig({ db: 'app', database: 'app', collections: [{ name: 'users', schema: User }] });
  void defineConfig({ db: 'app', uri: process.env.MONGODB_URI, collections: [{ name: 'users', schema: User }] });
});

test('inspection options and the CLI io accept undefined', () => {
  void migrationStatus(raw, User, { stateCollection: undefined, failuresCollection: undefined });
  void checkMigration(raw, User, { sample: undefined, batchSize: undefined });
  void verifyVersion(raw, User, 3, { allowMissing: undefined });
  void listFailures(raw, { limit: undefined, failuresCollection: undefined });
  void runCli([], { stdout: () => undefined, stderr: () => undefined, env: {}, cwd: '.', interactive: false, columns: undefined, signal: undefined });
});

test('sweep options: no clock, undefined accepted', () => {
  const budget: number | undefined = process.env.BUDGET === undefined ? undefined : Number(process.env.BUDGET);
  void sweep(raw, User, { maxDurationMs: budget, signal: undefined, logger: undefined, dryRun: undefined });
  // @ts-expect-error the clock is not a public option
  void sweep(raw, User, { clock: { now: () => 0, sleep: async () => undefined } });
});
