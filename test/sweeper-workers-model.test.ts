/**
 * A model-based test of several workers on one collection: rounds of concurrent runs (each a
 * "process" with its own lease token and 1-3 workers), each stopped after a random number of
 * batches or let finish, claims of dead workers left behind (expired, for the next worker to
 * take over), and a writer racing the sweep on the documents still at version 1, over `_id`s of
 * every numeric BSON type (NaN included), strings, ObjectIds, dates and objects. The oracle is the read path:
 * every document ends at version 2 as `migrate` makes it of its last acknowledged write, none is
 * lost, and the runs' `migrated` add up to the documents: each migrated exactly once.
 */
import fc from 'fast-check';
import { BSON, type Document } from 'mongodb';
import { expect } from 'vitest';
import { sweep, SweepStatus, type SweepReport } from '../src/index.js';
import { migrationTarget } from '../src/migrate/index.js';
import { definitionOf } from '../src/schema/definition.js';
import { bracketOf } from '../src/sweeper/keyset.js';
import { PlanStore, type SweepPlanDocument } from '../src/sweeper/plan/store.js';
import { Counted, ID_KINDS, idOf } from './fixtures/workers-schema.js';
import { itWithAtomicUpdates, useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('sweeper_workers_model');

const FAST = { ratePerSecond: Infinity, pauseMs: 0, leaseMs: 60_000 } as const;

const ids = fc.uniqueArray(fc.tuple(fc.constantFrom(...ID_KINDS), fc.integer({ min: 0, max: 400 })), { minLength: 1, maxLength: 120, selector: ([kind, i]) => (kind === 'negativeZero' || kind === 'nan' ? kind : `${kind}:${i}`) });
const run = fc.record({ workers: fc.integer({ min: 1, max: 3 }), stopAfter: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }) });
const round = fc.record({ runs: fc.array(run, { minLength: 1, maxLength: 3 }), deadClaims: fc.integer({ min: 0, max: 2 }), writes: fc.integer({ min: 0, max: 8 }) });
const scenario = fc.record({ ids, batchSize: fc.integer({ min: 1, max: 9 }), rounds: fc.array(round, { minLength: 1, maxLength: 4 }), writer: fc.boolean() });

let collections = 0;

itWithAtomicUpdates('workers stopped, killed and restarted at random, with a racing writer: every document migrated once, as the read path makes it of its last acknowledged write', async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async ({ ids: keys, batchSize, rounds, writer: racing }) => {
      const name = `model${collections++}`;
      const things = db.collection(name);
      const seeded = keys.map(([kind, i], n) => ({ _id: idOf(kind, i), n }) as Document);
      await things.insertMany(seeded);
      const expectedN = new Map<string, number>(seeded.map((doc) => [key(doc._id), doc.n as number]));
      const reports: SweepReport[] = [];
      const store = new PlanStore(db, 'molt_state', name, 'counted', migrationTarget(definitionOf(Counted), 2, 'up'), 60_000, 0);
      let write = 1000;
      for (const { runs, deadClaims, writes } of rounds) {
        const writer = (async () => {
          for (let w = 0; racing && w < writes; w++) {
            const doc = seeded[(write * 7) % seeded.length] as Document;
            const n = write++;
            // A write acknowledged on a document still at version 1 must survive the sweep.
            const result = await things.updateOne({ _id: doc._id, schemaVersion: { $exists: false } }, { $set: { n } });
            if (result.modifiedCount === 1) expectedN.set(key(doc._id), n);
          }
        })();
        const results = await Promise.all(runs.map(({ workers, stopAfter }) => {
          const controller = new AbortController();
          let batches = 0;
          const onProgress = stopAfter === undefined ? undefined : () => ++batches >= stopAfter && controller.abort();
          return sweep(things, Counted, { ...FAST, batchSize, workers, signal: controller.signal, ...(onProgress ? { onProgress } : {}) });
        }));
        await writer;
        reports.push(...results);
        for (const report of results) expect([SweepStatus.COMPLETE, SweepStatus.PARTIAL, SweepStatus.LOCKED]).toContain(report.status);
        // Dead workers: claims left held, already expired, for the next worker to take over from their checkpoints.
        const plan = await store.latest();
        if (plan && plan.completedAt === null) await leaveDeadClaims(store, plan, deadClaims);
      }
      // Runs until the pass completes (a lost race leaves a document for a next pass).
      let finals = 0;
      for (let attempt = 0; attempt < 5; attempt++) {
        const report = await sweep(things, Counted, { ...FAST, batchSize, workers: 2 });
        reports.push(report);
        finals++;
        if (report.status === SweepStatus.COMPLETE) break;
      }
      expect(reports.at(-1)).toMatchObject({ status: SweepStatus.COMPLETE, remaining: 0, staleFailures: 0 });
      // Without a racing write no race is lost: a plan whose ranges are all done leaves nothing stale,
      // and the first run after the rounds finishes the pass.
      if (!racing) {
        for (const report of reports) if (report.ranges && report.ranges.done === report.ranges.total) expect(report.remaining).toBe(0);
        expect(reports[reports.length - finals]?.status).toBe(SweepStatus.COMPLETE);
      }
      const stored = await things.find().toArray();
      expect(stored).toHaveLength(seeded.length);
      for (const doc of stored) {
        const n = expectedN.get(key(doc._id));
        // The read path of the document as last written (at version 1) is what the sweep stored.
        const { value } = await Counted.migrate({ _id: doc._id, n });
        expect(doc).toEqual({ ...value, schemaVersion: 2 });
      }
      // Each document migrated exactly once, by one run.
      expect(reports.reduce((sum, report) => sum + report.migrated, 0)).toBe(seeded.length);
      // A completed plan is completed once; never two open plans for the target.
      const plans = await db.collection<SweepPlanDocument>('molt_state').find({ kind: 'plan', collection: name }).toArray();
      expect(plans.filter((plan) => plan.completedAt === null)).toHaveLength(0);
      expect(new Set(plans.map((plan) => plan.pass)).size).toBe(plans.length);
      const ranges = reports.filter((report) => report.ranges).at(-1)?.ranges;
      expect(ranges?.done).toBe(ranges?.total);
    }),
    { numRuns: Number(process.env.MOLT_WORKERS_MODEL_RUNS ?? 25), interruptAfterTimeLimit: 150_000 },
  );
}, 300_000);

/** Claims up to `count` free ranges as a worker that then dies: held, with a claim that expired. */
async function leaveDeadClaims(store: PlanStore, plan: SweepPlanDocument, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const { claimed } = await store.claim(plan, `dead:${i}`);
    if (claimed === undefined) return;
    await db.collection('molt_state').updateOne({ _id: `${plan._id}:${claimed.index}` } as Document, { $set: { expiresAt: new Date(Date.now() - 1_000) } });
  }
}

/** One key per `_id` however it was decoded (an `Int32` written comes back a number). */
function key(id: unknown): string {
  const bracket = bracketOf(id);
  if (bracket === 'number') return `number:${Number(String(id))}`;
  return `${bracket}:${BSON.EJSON.stringify(id as Document)}`;
}
