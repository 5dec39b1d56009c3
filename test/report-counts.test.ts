/**
 * A report's counts are what happened: `migrated` is the number of documents the run moved to the
 * target and `remaining` the stale documents left, whatever cut the run short. Property over time
 * budgets that cut server-mode runs at every point of a batch (before it, during its update,
 * during the reads that count it): a batch whose update landed is counted. (A write still in
 * flight when the budget and its grace are both spent may land uncounted, in either mode: on a
 * loaded machine that makes an exact comparison flaky, so the budgets here stay far from that.)
 */
import { expect, inject, it } from 'vitest';
import { z } from 'zod';
import { defineSchema, step, sweep } from 'mongo-molt';
import { useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('report_counts');
const { updatePipelines, kind } = inject('serverFeatures');
if (!updatePipelines) process.stderr.write(`[skipped] "report counts ... server mode": ${kind} has no update pipelines\n`);

const TOTAL = 3_000;
const Person = defineSchema('person')
  .version(1, z.object({ _id: z.number(), full_name: z.string() }))
  .version(2, z.object({ _id: z.number(), display_name: z.string(), email: z.string().nullable() }), [step.rename('full_name', 'display_name'), step.add('email', null)]);

for (const mode of ['server'] as const) {
  it.skipIf(!updatePipelines)(`report counts match the stored documents under time budgets that cut runs anywhere (${mode} mode)`, async () => {
    const people = db.collection<{ _id: number }>(`people_${mode}`);
    await people.insertMany(Array.from({ length: TOTAL }, (_, i) => ({ _id: i, full_name: `n${i}` })));
    const atTarget = () => people.countDocuments({ schemaVersion: 2 });
    for (const budget of [1, 40, 90, 150, 220, 300, 400]) {
      const before = await atTarget();
      const report = await sweep(people, Person, { mode, maxDurationMs: budget, batchSize: 50, pauseMs: 0, ratePerSecond: Infinity });
      const after = await atTarget();
      expect({ budget, migrated: report.migrated, remaining: report.remaining }).toEqual({ budget, migrated: after - before, remaining: TOTAL - after });
    }
  }, 60_000);
}
