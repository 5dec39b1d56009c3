import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';
import { sweep, type SweepStateDocument } from 'mongo-molt';
import { mixedUsers, User, type RawUser } from './fixtures/schemas.js';
import { ROOT } from './fixtures/run-molt.js';
import { useTestDatabase } from './support/database.js';

const { db, uri } = useTestDatabase('sweeper_resume');
// Small enough for FerretDB, whose compare-and-swap updates scan the collection (each costs O(N) there).
const TOTAL = 600;

/** Starts the child sweeper and SIGKILLs it once it has migrated at least `killAfter` documents. */
function sweepAndKill(collection: string, killAfter: number): Promise<{ signal: NodeJS.Signals | null; lastProgress: number }> {
  const tsx = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
  const child = spawn(process.execPath, ['--import', tsx, join(ROOT, 'test', 'fixtures', 'sweep-child.ts'), uri, db.databaseName, collection], { stdio: ['ignore', 'pipe', 'inherit'] });
  let lastProgress = 0;
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    const all = [...out.matchAll(/progress (\d+)/g)];
    lastProgress = Number(all.at(-1)?.[1] ?? 0);
    if (lastProgress >= killAfter) child.kill('SIGKILL');
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (_code, signal) => resolve({ signal, lastProgress }));
  });
}

it('a sweep killed with SIGKILL mid-run is resumed by the next run: every document migrated once, counts add up', async () => {
  const users = db.collection<RawUser>('users');
  await users.insertMany(mixedUsers(TOTAL));

  const killed = await sweepAndKill('users', 150);
  expect(killed.signal).toBe('SIGKILL');
  const migratedByKilled = await users.countDocuments({ schemaVersion: 3 });
  expect(migratedByKilled).toBeGreaterThanOrEqual(150);
  expect(migratedByKilled).toBeLessThan(TOTAL);

  const states = db.collection<SweepStateDocument>('molt_state');
  const orphan = await states.findOne({ _id: 'users:user' });
  expect(orphan?.lease).not.toBeNull(); // never released: the process died
  expect(orphan?.checkpoint?.completedAt).toBeNull();
  // The checkpoint is the last completed batch; a batch written but not yet checkpointed is at most one batch more.
  expect(orphan?.checkpoint?.migrated).toBeLessThanOrEqual(migratedByKilled);
  expect(migratedByKilled - (orphan?.checkpoint?.migrated ?? 0)).toBeLessThanOrEqual(25);

  const whileHeld = await sweep(users, User, { ratePerSecond: Infinity, pauseMs: 0 });
  expect(whileHeld.status).toBe('locked');

  // The lease outlives the killed run (60 s): let it expire by moving its expiry into the past, not by waiting.
  await states.updateOne({ _id: 'users:user' }, { $set: { 'lease.expiresAt': new Date(Date.now() - 1000) } });
  // A stale document before the checkpoint: a resumed pass starts after lastId and never sees it.
  await users.insertOne({ _id: 'a-before-checkpoint', full_name: 'Early', schemaVersion: 1 });
  const resumed = await sweep(users, User, { ratePerSecond: Infinity, pauseMs: 0, batchSize: 200 });
  // The pass ends, and the recount finds the document behind it: partial, not complete.
  expect(resumed).toMatchObject({ status: 'partial', pass: 1, skipped: 0, failed: 0, remaining: 1 });
  expect(resumed.migrated).toBe(TOTAL - migratedByKilled); // nothing migrated twice, nothing missed
  expect(resumed.scanned).toBe(TOTAL - migratedByKilled);

  expect(await users.findOne({ _id: 'a-before-checkpoint' })).toMatchObject({ schemaVersion: 1 });
  await users.deleteOne({ _id: 'a-before-checkpoint' });
  const all = await users.find().toArray();
  expect(all).toHaveLength(TOTAL);
  for (const doc of all) {
    expect(doc.schemaVersion).toBe(3);
    expect(User.schema.safeParse(doc).success).toBe(true);
  }
  const final = await states.findOne({ _id: 'users:user' });
  expect(final?.lease).toBeNull();
  expect(final?.checkpoint?.completedAt).toBeInstanceOf(Date);
}, 60_000);
