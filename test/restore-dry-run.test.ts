/**
 * `restore({ dryRun: true })` counts exactly what the real run then does, differentially over
 * generated data: documents with values of odd stored forms (every numeric BSON type, -0, NaN,
 * infinities, Decimal128 scales, empty arrays and documents, nulls, dates, binaries, regular
 * expressions), `_id`s of several BSON types, archived by a sweep, then changed, deleted, put back
 * by hand or left alone by the app at random. The real run's report is the dry run's (but for the
 * `dryRun` flag), and a second dry run after it agrees with a second real run.
 */
import fc from 'fast-check';
import { BSON, type Document } from 'mongodb';
import { expect, it } from 'vitest';
import { z } from 'zod';
import { defineSchema, restore, step, sweep } from 'mongo-molt';
import { useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('restore_dry_run');
const RUNS = Number(process.env.MOLT_RESTORE_RUNS ?? 10);

const Item = defineSchema('item')
  .version(1, z.object({ _id: z.unknown(), name: z.string(), a: z.unknown(), b: z.unknown() }))
  .version(2, z.object({ _id: z.unknown(), title: z.string(), a: z.unknown(), b: z.unknown(), extra: z.number() }), [step.rename('name', 'title'), step.add('extra', 0)]);

const odd: fc.Arbitrary<unknown> = fc.oneof(
  fc.double().map((value) => new BSON.Double(value)),
  fc.constantFrom(new BSON.Double(-0), new BSON.Double(Number.NaN), new BSON.Double(Infinity), new BSON.Int32(5), BSON.Long.fromNumber(5), BSON.Long.fromBigInt(2n ** 60n + 1n)),
  fc.constantFrom('1', '1.0', '1.00', '-0', 'NaN', '-Infinity', '1E+3').map((text) => BSON.Decimal128.fromString(text)),
  fc.constantFrom<unknown>(null, [], {}, [[]], { x: [] }, new Date(0), new BSON.Binary(Buffer.from('ab')), new BSON.BSONRegExp('^a', 'i'), 'text', true),
);
const ids = fc.constantFrom('string', 'int', 'objectId', 'double');
/** What the app does to a document after the archived migration. */
const afterwards = fc.constantFrom('nothing', 'change', 'delete', 'restoredByHand', 'sameValue');
const rows = fc.array(fc.record({ id: ids, a: odd, b: odd, then: afterwards }), { minLength: 1, maxLength: 8 });

function idOf(kind: string, index: number): unknown {
  if (kind === 'int') return new BSON.Int32(index);
  if (kind === 'double') return new BSON.Double(index + 0.5);
  if (kind === 'objectId') return BSON.ObjectId.createFromTime(1_700_000_000 + index);
  return `d${index}`;
}

let counter = 0;
it('a dry run of restore counts exactly what the restore then does', async () => {
  await fc.assert(fc.asyncProperty(rows, async (generated) => {
    const coll = db.collection<Document>(`r${++counter}`);
    const archiveCollection = `${coll.collectionName}_archive`;
    const originals = generated.map((row, index) => ({ _id: idOf(row.id, index), name: `n${index}`, a: row.a, b: row.b, schemaVersion: 1 }));
    await coll.insertMany(originals.map((doc) => ({ ...doc }) as Document));
    await sweep(coll, Item, { ratePerSecond: Infinity, pauseMs: 0, mode: 'client', archive: true, archiveCollection });
    for (const [index, row] of generated.entries()) {
      const _id = originals[index]?._id as never;
      if (row.then === 'change') await coll.updateOne({ _id }, { $set: { b: 'changed' } });
      if (row.then === 'delete') await coll.deleteOne({ _id });
      if (row.then === 'restoredByHand') await coll.replaceOne({ _id }, originals[index] as Document);
      // A write that stores what is there: nothing changed.
      if (row.then === 'sameValue') await coll.updateOne({ _id }, { $set: { title: `n${index}` } });
    }
    const dry = await restore(coll, { archiveCollection, dryRun: true });
    const real = await restore(coll, { archiveCollection });
    expect({ ...dry, dryRun: false }).toEqual(real);
    expect(real.restored + real.skipped + real.missing + real.alreadyRestored).toBe(originals.length);
    const againDry = await restore(coll, { archiveCollection, dryRun: true });
    const again = await restore(coll, { archiveCollection });
    expect({ ...againDry, dryRun: false }).toEqual(again);
    expect(again.restored).toBe(0);
  }), { numRuns: RUNS });
}, 240_000);
