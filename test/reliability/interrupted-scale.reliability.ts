/**
 * The cron contract at scale: a sweep over documents whose `_id`s are of four BSON types
 * (numbers of three kinds, strings, ObjectIds, dates), interrupted 10 times at random points and
 * resumed, migrates every migratable document, reports `complete` exactly once (the run that
 * finishes), and then `remaining` is exactly the recorded failures.
 */
import { Double, Int32, Long, ObjectId, type Document } from 'mongodb';
import { expect, it } from 'vitest';
import { z } from 'zod';
import { defineSchema, listFailures, sweep, SweepStatus, type SweepReport } from 'mongo-molt';
import { useTestDatabase } from '../support/database.js';
import { random, SCALE_DOCUMENTS, SEED } from './size.js';

const { db } = useTestDatabase('rel_interrupted_scale');
const INTERRUPTS = 10;
/** About 120 batches in all, so that every interrupt falls well inside the pass. */
const BATCH = Math.max(10, Math.floor(SCALE_DOCUMENTS / 120));

const Thing = defineSchema('thing')
  .version(1, z.object({ _id: z.unknown(), name: z.string() }))
  .version(2, z.object({ _id: z.unknown(), name: z.string(), size: z.number() }), (v1) => {
    if (v1.name === 'FAIL') throw new Error('cannot size "FAIL"');
    return { ...v1, size: v1.name.length };
  });

function idOf(index: number): unknown {
  switch (index % 4) {
    case 0:
      return [new Int32(index), new Double(index + 0.5), Long.fromNumber(index)][index % 3];
    case 1:
      return `s${String(index).padStart(7, '0')}`;
    case 2:
      return ObjectId.createFromTime(1_700_000_000 + index);
    default:
      return new Date(Date.UTC(2020, 0, 1) + index * 1000);
  }
}

it(`a sweep over ${SCALE_DOCUMENTS} documents with _ids of four BSON types, interrupted ${INTERRUPTS} times at random and resumed, reports complete exactly once`, async () => {
  const rand = random(SEED);
  process.stderr.write(`[reliability interrupted-scale] seed ${SEED}, ${SCALE_DOCUMENTS} documents\n`);
  const things = db.collection('things');
  const failing = new Set<number>();
  for (let start = 0; start < SCALE_DOCUMENTS; start += 5_000) {
    const documents: Document[] = [];
    for (let index = start; index < Math.min(SCALE_DOCUMENTS, start + 5_000); index++) {
      const fail = rand() < 0.002;
      if (fail) failing.add(index);
      documents.push({ _id: idOf(index), name: fail ? 'FAIL' : `thing ${index}`, ...(index % 2 ? { schemaVersion: 1 } : {}) });
    }
    await things.insertMany(documents, { ordered: false });
  }

  // Each interrupt comes after a random number of batches, small enough that 10 of them leave the pass unfinished.
  const maxBatches = Math.max(1, Math.floor(SCALE_DOCUMENTS / BATCH / (INTERRUPTS + 2)));
  const reports: SweepReport[] = [];
  for (let run = 0; run < INTERRUPTS + 5; run++) {
    const controller = new AbortController();
    const interruptAfter = run < INTERRUPTS ? 1 + Math.floor(rand() * maxBatches) : Infinity;
    let batches = 0;
    const report = await sweep(things, Thing, {
      batchSize: BATCH, ratePerSecond: Infinity, pauseMs: 0, signal: controller.signal,
      onProgress: () => ++batches >= interruptAfter && controller.abort(),
    });
    reports.push(report);
    if (report.status === SweepStatus.COMPLETE) break;
  }
  const statuses = reports.map((report) => report.status);
  expect(statuses.slice(0, INTERRUPTS)).toEqual(Array(INTERRUPTS).fill(SweepStatus.PARTIAL));
  expect(statuses.filter((status) => status === SweepStatus.COMPLETE)).toHaveLength(1);
  const last = reports.at(-1) as SweepReport;
  expect(last).toMatchObject({ status: SweepStatus.COMPLETE, remaining: failing.size, staleFailures: failing.size });
  expect(reports.reduce((sum, report) => sum + report.migrated, 0)).toBe(SCALE_DOCUMENTS - failing.size);
  expect(reports.reduce((sum, report) => sum + report.failed, 0)).toBe(failing.size);
  expect(await things.countDocuments({ schemaVersion: 2 })).toBe(SCALE_DOCUMENTS - failing.size);
  // Each stored document is what the upcaster makes of its original.
  for (const doc of await things.find({ schemaVersion: 2 }).toArray()) expect(doc.size).toBe((doc.name as string).length);
  expect((await listFailures(things)).length).toBe(failing.size);
}, 600_000);
