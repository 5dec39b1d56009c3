/**
 * `updateMany` reaches every matching document exactly once, however other writers move its
 * matches between versions while it runs: old code turning documents back into the old shape in
 * place (an old release during a rolling deploy) and a sweep moving them forward again. The oracle
 * is the count of acknowledged calls: after K calls of `$inc: { n: 1 }` on `{}`, every document
 * holds n = K, and every call answers matchedCount = the number of documents.
 */
import type { Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineSchema, step, sweep, versioned } from 'mongo-molt';
import { useTestDatabase } from './support/database.js';

const t = useTestDatabase('update_many_reach');

const Counter = defineSchema('reach_counter')
  .version(1, z.object({ _id: z.number(), full_name: z.string(), n: z.number() }))
  .version(2, z.object({ _id: z.number(), name: z.string(), n: z.number() }), ({ full_name, ...rest }) => ({ ...rest, name: full_name }))
  .version(3, z.object({ _id: z.number(), display: z.string(), n: z.number() }), [step.rename('name', 'display')]);

const DOCUMENTS = 80;
const CALLS = 8;

describe('updateMany under writers that move its matches between versions', () => {
  for (const writeVersion of [2, undefined] as const) {
    it(`reaches every document once per call (${writeVersion === undefined ? 'latest' : `pinned at v${writeVersion}`}), with old code moving documents back and a sweep moving them forward`, async () => {
      const raw = t.db.collection<{ _id: number } & Document>(`reach_${String(writeVersion)}`);
      await raw.insertMany(Array.from({ length: DOCUMENTS }, (_, i) => ({ _id: i, schemaVersion: 2, name: `u${i}`, n: 0 })));
      const users = versioned(raw, Counter, writeVersion === undefined ? {} : { writeVersion });
      let running = true;
      let moved = 0;
      // Old code: turns a newer document back into version 1, in place ($rename keeps n).
      const oldCode = async () => {
        let id = 0;
        while (running) {
          id = (id * 37 + 11) % DOCUMENTS;
          const result = await raw.updateOne({ _id: id, schemaVersion: 2 }, { $rename: { name: 'full_name' }, $unset: { schemaVersion: '' } });
          const fromLatest = await raw.updateOne({ _id: (id + 1) % DOCUMENTS, schemaVersion: 3 }, { $rename: { display: 'full_name' }, $unset: { schemaVersion: '' } });
          moved += result.modifiedCount + fromLatest.modifiedCount;
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      };
      const sweeper = async () => {
        while (running) {
          await sweep(raw, Counter, { batchSize: 10, ratePerSecond: Infinity, pauseMs: 0 });
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      const matched: number[] = [];
      const calls = async () => {
        for (let call = 0; call < CALLS; call++) matched.push((await users.updateMany({}, { $inc: { n: 1 } })).matchedCount);
        running = false;
      };
      await Promise.all([oldCode(), oldCode(), sweeper(), calls()]);

      const stored = await raw.find({}).sort({ _id: 1 }).toArray();
      const missed = stored.filter((doc) => doc.n !== CALLS).map((doc) => `${String(doc._id)}: n=${String(doc.n)}`);
      process.stderr.write(`[update-many-reach] ${moved} documents moved back by old code during ${CALLS} calls\n`);
      expect(moved).toBeGreaterThan(0);
      expect(missed).toEqual([]);
      expect(matched).toEqual(Array.from({ length: CALLS }, () => DOCUMENTS));
    }, 120_000);
  }
});
