/**
 * Several workers on one collection: a stored plan of `_id` ranges (never spanning two BSON
 * types), each range claimed, checkpointed and taken over after its claim expires; the pass
 * completes once, when every range is done and the recount agrees.
 */
import { Decimal128, Double, Int32, Long, ObjectId, type Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineSchema, pauseSweeps, resumeSweeps, step, sweep, SweepReason, SweepStatus, type SweepReport, type SweepStateDocument } from '../src/index.js';
import { bracketOf } from '../src/sweeper/keyset.js';
import { PlanStore, type SweepPlanDocument } from '../src/sweeper/plan/store.js';
import { RangeWorker, RateShare } from '../src/sweeper/plan/worker.js';
import { systemClock } from '../src/sweeper/clock.js';
import { TokenBucket } from '../src/sweeper/run/token-bucket.js';
import { migrationTarget } from '../src/migrate/index.js';
import { definitionOf } from '../src/schema/definition.js';
import { useTestDatabase } from './support/database.js';

const { db, features } = useTestDatabase('sweeper_workers');

const Thing = defineSchema('thing')
  .version(1, z.object({ _id: z.unknown(), n: z.number() }))
  .version(2, z.object({ _id: z.unknown(), n: z.number(), double: z.number() }), (v1) => ({ ...v1, double: v1.n * 2 }));

const FAST = { ratePerSecond: Infinity, pauseMs: 0 } as const;

/** `_id`s of numbers (Int32, Double, Long, Decimal128, -0, NaN), strings, ObjectIds, dates and objects. */
export function mixedIds(perType: number): unknown[] {
  const ids: unknown[] = [];
  for (let i = 0; i < perType; i++) {
    ids.push(new Int32(i * 4), new Double(i * 4 + 0.5), Long.fromNumber(i * 4 + 1), Decimal128.fromString(`${i * 4 + 2}.25`));
    ids.push(`s${String(i).padStart(5, '0')}`, new ObjectId(), new Date(Date.UTC(2020, 0, 1, 0, i)), { k: i });
  }
  ids.push(new Double(-0.75), new Double(Number.NaN));
  return ids;
}

async function seed(name: string, ids: readonly unknown[]): Promise<void> {
  await db.collection(name).insertMany(ids.map((_id, n) => ({ _id, n }) as Document));
}

function plans(name: string): Promise<SweepPlanDocument[]> {
  return db.collection<SweepPlanDocument>('molt_state').find({ kind: 'plan', collection: name }).sort({ pass: 1 }).toArray();
}

describe('sweep with workers', () => {
  it('plans ranges within one type bracket each, walks them with several workers, migrates every document once and completes the pass once', async () => {
    const ids = mixedIds(40);
    await seed('once', ids);
    const report = await sweep(db.collection('once'), Thing, { ...FAST, batchSize: 7, workers: 3 });
    expect(report.status).toBe(SweepStatus.COMPLETE);
    expect(report.migrated).toBe(ids.length);
    expect(report.scanned).toBe(ids.length);
    expect(report.remaining).toBe(0);
    expect(report.ranges).toEqual({ total: report.ranges?.total, done: report.ranges?.total, byThisRun: report.ranges?.total });
    const [plan] = await plans('once');
    expect(plan?.completedAt).toBeInstanceOf(Date);
    // Split points from $bucketAuto where the server runs it (mongo-java-server does not).
    expect(plan?.method).toBe(features.kind === 'mongo-java-server' ? 'offsets' : 'bucketAuto');
    // Every range stays within one bracket; together they cover each bracket present.
    for (const range of plan?.ranges ?? []) {
      for (const bound of [range.from, range.to, range.last]) if (bound !== null) expect(bracketOf(bound)).toBe(range.bracket);
    }
    expect(new Set(plan?.ranges.map((range) => range.bracket))).toEqual(new Set(ids.map(bracketOf)));
    const stored = await db.collection('once').find().toArray();
    for (const doc of stored) expect(doc).toMatchObject({ schemaVersion: 2, double: doc.n * 2 });
    // The completed pass is the target's checkpoint: a run without workers starts the next one, finding nothing.
    const state = await db.collection<SweepStateDocument>('molt_state').findOne({ _id: 'once:thing' });
    expect(state?.checkpoints?.['up:2']).toMatchObject({ pass: plan?.pass, completedAt: expect.any(Date) });
    expect(state?.lease).toBeNull();
    const plain = await sweep(db.collection('once'), Thing, FAST);
    expect(plain).toMatchObject({ status: SweepStatus.COMPLETE, scanned: 0, pass: (plan?.pass ?? 0) + 1 });
    // Workers again with nothing stale: no new plan, complete.
    const again = await sweep(db.collection('once'), Thing, { ...FAST, workers: 2 });
    expect(again).toMatchObject({ status: SweepStatus.COMPLETE, scanned: 0 });
    expect(await plans('once')).toHaveLength(1);
  }, 120_000);

  it('a run without workers reports locked while a plan’s workers run, and the other way round; nothing is processed twice', async () => {
    const ids = mixedIds(25);
    await seed('mixed', ids);
    const things = db.collection('mixed');
    const slow = { batchSize: 10, ratePerSecond: 200, pauseMs: 0 };
    const [workers, plain] = await Promise.all([sweep(things, Thing, { ...slow, workers: 2 }), leaseHeld('mixed:thing', /^plan:/).then(() => sweep(things, Thing, FAST))]);
    expect(workers.status).toBe(SweepStatus.COMPLETE);
    expect(plain.status).toBe(SweepStatus.LOCKED);
    expect(plain.scanned).toBe(0);
    expect(workers.migrated).toBe(ids.length);

    await things.updateMany({}, { $unset: { schemaVersion: '', double: '' } });
    const [plain2, workers2] = await Promise.all([sweep(things, Thing, slow), leaseHeld('mixed:thing', /^(?!plan:)/).then(() => sweep(things, Thing, { ...FAST, workers: 2 }))]);
    expect(plain2.status).toBe(SweepStatus.COMPLETE);
    expect(workers2.status).toBe(SweepStatus.LOCKED);
    expect(workers2.scanned).toBe(0);
    expect(plain2.migrated).toBe(ids.length);
  }, 120_000);

  it('a worker whose range is taken over (its claim expired while it was slow) goes on with another range instead of stopping', async () => {
    const ids = mixedIds(20);
    await seed('lost_claim', ids);
    const things = db.collection('lost_claim');
    // Another worker takes the first claimed range over just before this worker's first checkpoint
    // of it: the real write, made at the moment the race needs (the save then finds it gone).
    const save = PlanStore.prototype.save;
    let stolen: { _id: string } | undefined;
    PlanStore.prototype.save = async function (this: PlanStore, plan, index, owner, lastId, counts) {
      if (stolen === undefined) {
        stolen = { _id: `${plan._id}:${index}` };
        await db.collection('molt_state').updateOne(stolen as Document, { $set: { owner: 'other-host:1:0/0', expiresAt: new Date(Date.now() + 60_000) } });
      }
      return save.call(this, plan, index, owner, lastId, counts);
    };
    let report: SweepReport;
    try {
      report = await sweep(things, Thing, { ...FAST, batchSize: 2, workers: 1 });
    } finally {
      PlanStore.prototype.save = save;
    }
    expect(stolen).toBeDefined();
    // Every other range done by this worker; the taken one left to its new owner.
    expect(report).toMatchObject({ status: SweepStatus.PARTIAL, reason: SweepReason.LOCK });
    expect(report.ranges).toMatchObject({ done: (report.ranges?.total ?? 0) - 1, byThisRun: (report.ranges?.total ?? 0) - 1 });
    await db.collection('molt_state').updateOne(stolen as Document, { $set: { expiresAt: new Date(Date.now() - 1_000) } });
    const after = await sweep(things, Thing, { ...FAST, batchSize: 2, workers: 1 });
    expect(after).toMatchObject({ status: SweepStatus.COMPLETE, remaining: 0 });
    expect(report.migrated + after.migrated).toBe(ids.length);
    expect(await things.countDocuments({ schemaVersion: 2 })).toBe(ids.length);
  }, 120_000);

  it('follows the stored control like any sweep: nothing while paused, the pinned version without `to`', async () => {
    const Named = defineSchema('named')
      .version(1, z.object({ _id: z.unknown(), full_name: z.string() }))
      .version(2, z.object({ _id: z.unknown(), display_name: z.string() }), [step.rename('full_name', 'display_name')]);
    const ids = mixedIds(10);
    const named = db.collection('controlled');
    await named.insertMany(ids.map((_id, i) => ({ _id, full_name: `n${i}` })) as Document[]);
    await pauseSweeps(named);
    const paused = await sweep(named, Named, { ...FAST, batchSize: 5, workers: 2 });
    expect(paused).toMatchObject({ status: SweepStatus.PARTIAL, reason: SweepReason.PAUSED, migrated: 0, remaining: ids.length });
    await resumeSweeps(named);
    expect(await sweep(named, Named, { ...FAST, batchSize: 5, workers: 2 })).toMatchObject({ status: SweepStatus.COMPLETE, migrated: ids.length });
    // A sweep down to 1 pins the collection there: a run with workers and no `to` stays at v1.
    expect(await sweep(named, Named, { ...FAST, batchSize: 5, to: 1 })).toMatchObject({ status: SweepStatus.COMPLETE, migrated: ids.length });
    const pinned = await sweep(named, Named, { ...FAST, batchSize: 5, workers: 2 });
    expect(pinned).toMatchObject({ targetVersion: 1, migrated: 0, pinned: { version: 1 } });
    expect(await named.countDocuments({ schemaVersion: 1 })).toBe(ids.length);
  }, 120_000);

  it('a range whose worker died is taken over once its claim expires, from its checkpoint', async () => {
    const ids = mixedIds(20);
    await seed('takeover', ids);
    const things = db.collection('takeover');
    // A first run plans the pass and is stopped after a few batches: its ranges keep their checkpoints.
    const controller = new AbortController();
    let batches = 0;
    const first = await sweep(things, Thing, { ...FAST, batchSize: 5, workers: 2, signal: controller.signal, onProgress: () => ++batches >= 3 && controller.abort() });
    expect(first.status).toBe(SweepStatus.PARTIAL);
    const [plan] = await plans('takeover');
    if (plan === undefined) throw new Error('no plan');
    // A worker that dies holding a range: claimed, never released.
    const store = new PlanStore(db, 'molt_state', 'takeover', 'thing', migrationTarget(definitionOf(Thing), 2, 'up'), 60_000, 0);
    const { claimed } = await store.claim(plan, 'dead-host:1:0/0');
    expect(claimed).toBeDefined();
    const before = await sweep(things, Thing, { ...FAST, batchSize: 5, workers: 2 });
    expect(before.status).toBe(SweepStatus.PARTIAL);
    expect(before).toMatchObject({ reason: SweepReason.LOCK, detail: expect.stringMatching(/held by other workers/) });
    expect(before.ranges?.done).toBe((before.ranges?.total ?? 0) - 1);
    // Its claim expires (moved into the past rather than waited for).
    await db.collection('molt_state').updateOne({ _id: `${plan._id}:${claimed?.index}` } as Document, { $set: { expiresAt: new Date(Date.now() - 1_000) } });
    const after = await sweep(things, Thing, { ...FAST, batchSize: 5, workers: 2 });
    expect(after).toMatchObject({ status: SweepStatus.COMPLETE, remaining: 0, pass: plan.pass });
    expect(after.ranges).toMatchObject({ done: after.ranges?.total, byThisRun: 1 });
    expect(first.migrated + before.migrated + after.migrated).toBe(ids.length);
    expect(await things.countDocuments({ schemaVersion: 2 })).toBe(ids.length);
    expect((await plans('takeover')).filter((candidate) => candidate.completedAt !== null)).toHaveLength(1);
  }, 120_000);

  it('ratePerSecond is the plan’s: each process takes its share of the workers holding a range, recomputed at every claim', async () => {
    const target = migrationTarget(definitionOf(Thing), 2, 'up');
    const store = new PlanStore(db, 'molt_state', 'rate', 'thing', target, 60_000, 0);
    const range = { bracket: 'number', from: null, to: null, last: null, documents: 0 } as const;
    const plan = await store.create(1, [range, range, range, range, range, range], 'given', 300);
    const process = (owner: string, workers: number) => {
      const share = new RateShare(new TokenBucket(300, 300, systemClock), store, plan);
      return { share, workers: Array.from({ length: workers }, (_, i) => new RangeWorker(store, plan, {}, `${owner}/${i}`, share)) };
    };
    const a = process('A', 2);
    const b = process('B', 1);
    await a.workers[0]?.claim();
    expect(a.share.bucket.rate).toBe(300);
    await a.workers[1]?.claim();
    expect(a.share.bucket.rate).toBe(300); // both of A's workers draw on A's one bucket
    await b.workers[0]?.claim();
    expect(b.share.bucket.rate).toBe(100); // 1 of the 3 workers holding a range
    await a.workers[0]?.finish();
    await a.workers[0]?.claim();
    expect(a.share.bucket.rate).toBe(200); // 2 of 3
    // B leaves: A's next claim takes the whole rate again.
    await b.workers[0]?.release();
    await a.workers[0]?.finish();
    await a.workers[0]?.claim();
    expect(a.share.bucket.rate).toBe(300);
  });

  it('ranges: split points given by the user start ranges within their own type bracket', async () => {
    const ids = mixedIds(10);
    await seed('given', ids);
    const points = [new Date(Date.UTC(2020, 0, 1, 0, 5)), 's00005', new Int32(20), 's00005'];
    const report = await sweep(db.collection('given'), Thing, { ...FAST, batchSize: 4, workers: 2, ranges: points });
    expect(report).toMatchObject({ status: SweepStatus.COMPLETE, migrated: ids.length });
    const [plan] = await plans('given');
    expect(plan?.method).toBe('given');
    // One range per bracket, plus one more at each point in its bracket.
    const brackets = new Set(ids.map(bracketOf)).size;
    expect(plan?.ranges).toHaveLength(brackets + 3);
    expect(plan?.ranges.filter((range) => range.from !== null).map((range) => range.bracket)).toEqual(['number', 'string', 'date']);
    expect(report.ranges).toMatchObject({ total: brackets + 3, done: brackets + 3 });
  });

  it('refuses workers with dryRun or retryFailed, and ranges without workers', async () => {
    await expect(sweep(db.collection('none'), Thing, { workers: 2, dryRun: true })).rejects.toThrow(/workers/);
    await expect(sweep(db.collection('none'), Thing, { workers: 2, retryFailed: true })).rejects.toThrow(/workers/);
    await expect(sweep(db.collection('none'), Thing, { ranges: [1] })).rejects.toThrow(/ranges/);
    await expect(sweep(db.collection('none'), Thing, { workers: 0 })).rejects.toThrow(/workers/);
  });
});

/** Resolves once the state document's lease is held by an owner matching `owner`. */
async function leaseHeld(key: string, owner: RegExp): Promise<void> {
  for (;;) {
    const state = await db.collection<SweepStateDocument>('molt_state').findOne({ _id: key });
    if (state?.lease && owner.test(state.lease.owner)) return;
    await delay(20);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export type { SweepReport };
