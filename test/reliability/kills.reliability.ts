/**
 * Kills: a sweeper in a child process is SIGKILLed at random points (before it connects, while it
 * takes the lease, mid-batch, between a bulk write and its checkpoint) many times in a row on one
 * collection; between kills the dead run's lease is expired by moving its expiry into the past
 * (never by waiting on the wall clock). A final run completes: no document lost, duplicated or
 * corrupted, every one migrated exactly as the upcasters say, and the counts add up.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';
import { sweep, type SweepStateDocument } from 'mongo-molt';
import { mixedUsers, User, type RawUser } from '../fixtures/schemas.js';
import { ROOT } from '../fixtures/run-molt.js';
import { useTestDatabase } from '../support/database.js';
import { KILLS, random, SEED } from './size.js';

const { db, uri } = useTestDatabase('rel_kills');

interface Outcome { signal: NodeJS.Signals | null; code: number | null; lastProgress: number; completed: boolean }

/** Starts the child sweeper and SIGKILLs it after `afterMs` or after `afterBatches` batches, whichever comes first. */
function sweepAndKill(collection: string, afterMs: number, afterBatches: number): Promise<Outcome> {
  const tsx = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
  const child = spawn(process.execPath, ['--import', tsx, join(ROOT, 'test', 'fixtures', 'sweep-child.ts'), uri, db.databaseName, collection, '20', '1000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let lastProgress = 0;
  let batches = 0;
  let out = '';
  const timer = setTimeout(() => child.kill('SIGKILL'), afterMs);
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    const all = [...out.matchAll(/progress (\d+)/g)];
    batches = all.length;
    lastProgress = Number(all.at(-1)?.[1] ?? 0);
    if (batches >= afterBatches) child.kill('SIGKILL');
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ signal, code, lastProgress, completed: out.includes('report ') });
    });
  });
}

it(`kills: a sweeper SIGKILLed at random points ${KILLS} times in a row, then resumed: nothing lost or corrupted, counts add up`, async () => {
  const rand = random(SEED);
  process.stderr.write(`[reliability kills] seed ${SEED}, ${KILLS} kills\n`);
  const TOTAL = 3_000;
  const users = db.collection<RawUser>('users');
  const seeded = mixedUsers(TOTAL);
  await users.insertMany(seeded);
  const staleAtStart = await users.countDocuments({ schemaVersion: { $ne: 3 } });
  const states = db.collection<SweepStateDocument>('molt_state');

  let kills = 0;
  let completedEarly = 0;
  const points: string[] = [];
  for (let round = 0; round < KILLS; round++) {
    // A random point: a delay from before the child has connected (it loads tsx first) to well into
    // its batches, and a random batch count, whichever comes first.
    const outcome = await sweepAndKill('users', 100 + Math.floor(rand() * 2_500), 1 + Math.floor(rand() * 6));
    if (outcome.signal === 'SIGKILL') kills++;
    else if (outcome.completed) completedEarly++;
    else throw new Error(`the sweeper child exited on its own with code ${String(outcome.code)}`);
    points.push(`${outcome.signal ?? 'exit'}@${outcome.lastProgress}`);
    // The dead run's lease outlives it: expire it by moving the expiry into the past, not by waiting.
    await states.updateOne({ _id: 'users:user', lease: { $ne: null } }, { $set: { 'lease.expiresAt': new Date(Date.now() - 1_000) } });
    // Never a document lost or half-written, at any point.
    expect(await users.countDocuments({})).toBe(TOTAL);
  }
  process.stderr.write(`[reliability kills] ${kills} SIGKILLs (${completedEarly} runs finished before their kill): ${points.join(' ')}\n`);
  expect(kills).toBeGreaterThanOrEqual(KILLS - completedEarly);

  const staleBeforeFinal = await users.countDocuments({ schemaVersion: { $ne: 3 } });
  const final = await sweep(users, User, { ratePerSecond: Infinity, pauseMs: 0, batchSize: 200 });
  expect(final).toMatchObject({ status: 'complete', failed: 0, skipped: 0 });
  // Counts add up: the final run migrated exactly what the killed runs had left.
  expect(final.migrated).toBe(staleBeforeFinal);

  const stored = new Map((await users.find({}).toArray()).map((doc) => [doc._id, doc]));
  expect(stored.size).toBe(TOTAL);
  for (const original of seeded) {
    const doc = stored.get(original._id);
    expect(doc?.schemaVersion).toBe(3);
    expect(User.schema.safeParse(doc).success).toBe(true);
    // Migrated exactly as the upcasters say: the name carried over, the extra field kept, nothing else.
    const name = (original.full_name ?? original.display_name) as string;
    expect(doc).toEqual({ _id: original._id, display_name: name, email: null, tags: [], nickname: original.nickname, schemaVersion: 3 });
  }
  const state = await states.findOne({ _id: 'users:user' });
  expect(state?.lease).toBeNull();
  expect(state?.checkpoint?.completedAt).toBeInstanceOf(Date);
  expect(await db.collection('molt_failures').countDocuments({})).toBe(0);
  process.stderr.write(`[reliability kills] stale at start ${staleAtStart}, left by the killed runs ${staleBeforeFinal}, final run migrated ${final.migrated}\n`);
}, 600_000);
