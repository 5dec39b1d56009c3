/**
 * Several workers on one collection, killed: rounds of 3 processes × 2 range workers sweep
 * 30,000 documents with `_id`s of every numeric BSON type, strings, ObjectIds, dates and objects
 * (each round under a time budget), while a writer updates documents still at version 1; in each
 * of the first rounds one process is SIGKILLed mid-range. Its ranges are taken over once their
 * claims expire, from their checkpoints. At the end every document is at version 2 exactly as the
 * read path makes it of its last acknowledged write (no acknowledged update lost), `verify`
 * passes, every plan is complete, and each pass was completed once.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BSON, type Document } from 'mongodb';
import { expect, it } from 'vitest';
import { verifyVersion, type SweepReport } from '../../src/index.js';
import { bracketOf } from '../../src/sweeper/keyset.js';
import type { RangeClaimDocument, SweepPlanDocument } from '../../src/sweeper/plan/store.js';
import { ROOT } from '../fixtures/run-molt.js';
import { Counted, mixedIds } from '../fixtures/workers-schema.js';
import { useTestDatabase } from '../support/database.js';
import { random, SCALE_DOCUMENTS, SEED } from './size.js';

const { db, uri } = useTestDatabase('rel_workers');
const KILL_ROUNDS = Number(process.env.MOLT_RELIABILITY_WORKER_KILLS ?? 10);

interface Child { readonly pid: number; readonly done: Promise<{ report: SweepReport | undefined; signal: NodeJS.Signals | null; batches: number }>; kill(): void; batches(): number }

/** The plan's rate: about a tenth of the documents in each round's budget, so that the kills fall mid-pass at any size. */
const RATE = Math.max(100, Math.round(SCALE_DOCUMENTS / 40));

function startChild(collection: string, roundMs: number): Child {
  const tsx = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
  const child = spawn(process.execPath, ['--import', tsx, join(ROOT, 'test', 'fixtures', 'sweep-workers-child.ts'), uri, db.databaseName, collection, '2', '50', String(RATE), '2000', String(roundMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let batches = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    batches = (out.match(/progress /g) ?? []).length;
  });
  const done = new Promise<{ report: SweepReport | undefined; signal: NodeJS.Signals | null; batches: number }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (_code, signal) => {
      const line = /report (.*)/.exec(out)?.[1];
      resolve({ report: line ? (JSON.parse(line) as SweepReport) : undefined, signal, batches });
    });
  });
  return { pid: child.pid as number, done, kill: () => child.kill('SIGKILL'), batches: () => batches };
}

function key(id: unknown): string {
  return bracketOf(id) === 'number' ? `number:${Number(String(id))}` : `${bracketOf(id)}:${BSON.EJSON.stringify(id as Document)}`;
}

it(`workers: 3 processes × 2 workers over ${SCALE_DOCUMENTS} documents, one process SIGKILLed mid-range in ${KILL_ROUNDS} rounds, a writer racing: nothing lost, verify passes, each pass completed once`, async () => {
  const rand = random(SEED);
  process.stderr.write(`[reliability workers] seed ${SEED}\n`);
  const things = db.collection('things');
  const seeded = mixedIds(SCALE_DOCUMENTS).map((_id, n) => ({ _id, n }) as Document);
  for (let i = 0; i < seeded.length; i += 5_000) await things.insertMany(seeded.slice(i, i + 5_000));
  const expectedN = new Map<string, number>(seeded.map((doc) => [key(doc._id), doc.n as number]));
  const states = db.collection('molt_state');
  const reports: SweepReport[] = [];
  const killedRanges: { range: string; pid: number }[] = [];
  let kills = 0;
  let write = 1_000_000;
  for (let round = 0; round < 60; round++) {
    const killing = kills < KILL_ROUNDS;
    // No stale document left to kill a process over: more kills need more documents (or fewer kills).
    if (killing && (await things.countDocuments({ schemaVersion: { $exists: false } })) === 0) {
      throw new Error(`every document was migrated after ${kills} of ${KILL_ROUNDS} kills: raise MOLT_RELIABILITY_SCALE_DOCS (${SCALE_DOCUMENTS}) or lower MOLT_RELIABILITY_WORKER_KILLS`);
    }
    const children = [0, 1, 2].map(() => startChild('things', 4_000));
    let writing = true;
    const writer = (async () => {
      while (writing) {
        const doc = seeded[Math.floor(rand() * seeded.length)] as Document;
        const n = write++;
        const result = await things.updateOne({ _id: doc._id, schemaVersion: { $exists: false } }, { $set: { n } });
        if (result.modifiedCount === 1) expectedN.set(key(doc._id), n);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    if (killing) {
      // Mid-range: once the victim has written a few batches, at a random moment.
      const victim = children[Math.floor(rand() * children.length)] as Child;
      // Once it has written a batch, at a random moment of the next second (while it still runs).
      for (let waited = 0; victim.batches() < 1 && waited < 15_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, Math.floor(rand() * 1_000)));
      const held = (await states.find({ kind: 'range', owner: { $regex: `:${victim.pid}:` } }).toArray()) as unknown as RangeClaimDocument[];
      victim.kill();
      if ((await victim.done).signal === 'SIGKILL' && victim.batches() > 0) {
        kills++;
        killedRanges.push(...held.map((claim) => ({ range: claim._id, pid: victim.pid })));
      }
    }
    const outcomes = await Promise.all(children.map((child) => child.done));
    writing = false;
    await writer;
    for (const outcome of outcomes) if (outcome.report) reports.push(outcome.report);
    expect(await things.countDocuments()).toBe(seeded.length);
    const statuses = outcomes.map((outcome) => outcome.report?.status ?? outcome.signal ?? 'exit');
    process.stderr.write(`[reliability workers] round ${round}: ${statuses.join(' ')}, ${await things.countDocuments({ schemaVersion: 2 })} at v2\n`);
    if (!killing && outcomes.some((outcome) => outcome.report?.status === 'complete')) break;
  }
  process.stderr.write(`[reliability workers] ${kills} kills mid-range, ${killedRanges.length} ranges held by killed processes, ${reports.length} reports\n`);
  expect(kills).toBe(KILL_ROUNDS);
  expect(reports.at(-1)?.status === 'complete' || reports.some((report) => report.status === 'complete')).toBe(true);
  // Every range a killed process held was taken over and finished by another worker.
  for (const { range, pid } of killedRanges) {
    const claim = (await states.findOne({ _id: range } as Document)) as unknown as RangeClaimDocument | null;
    expect(claim?.done).toBe(true);
    expect(claim?.doneBy).not.toMatch(new RegExp(`:${pid}:`));
  }
  expect(killedRanges.length).toBeGreaterThan(0);
  const plans = (await states.find({ kind: 'plan', collection: 'things' }).toArray()) as unknown as SweepPlanDocument[];
  expect(plans.every((plan) => plan.completedAt instanceof Date)).toBe(true);
  expect(new Set(plans.map((plan) => plan.pass)).size).toBe(plans.length);
  // No acknowledged update lost, nothing lost, every document as the read path makes it.
  const stored = await things.find().toArray();
  expect(stored).toHaveLength(seeded.length);
  for (const doc of stored) {
    const n = expectedN.get(key(doc._id));
    const { value } = Counted.migrateSync({ _id: doc._id, n });
    expect(doc).toEqual({ ...value, schemaVersion: 2 });
  }
  expect(await verifyVersion(things, Counted, 2)).toMatchObject({ ok: true, below: 0 });
  process.stderr.write(`[reliability workers] ${plans.length} pass(es), each completed once; ${stored.length} documents at v2\n`);
}, 900_000);
