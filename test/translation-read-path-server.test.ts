/**
 * The read-path differential test of query translation, on the server: random stored documents in
 * odd forms (numbers stored as Int32, Double or Long), random latest-shape filters; the server,
 * given what the wrapper sends, finds exactly the documents whose read the filter matches, and
 * the wrapper's countDocuments and deleteMany agree (>= 100 runs).
 */
import fc from 'fast-check';
import { Double, Int32, Long } from 'mongodb';
import { expect, it } from 'vitest';
import { versioned } from 'mongo-molt';
import { filterArb, oracle, Person, planner, storedDoc } from './fixtures/translation-read-path.js';
import { useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('translation_read_path');

/** A number in one of the BSON forms it may be stored in. */
function bsonNumber(value: number, form: number): unknown {
  if (Object.is(value, -0) || !Number.isInteger(value)) return new Double(value);
  return [new Int32(value), new Double(value), Long.fromNumber(value)][form % 3];
}

it('the server, given the translated filter, finds exactly the documents whose read matches it; countDocuments and deleteMany agree (100 runs)', async () => {
  const collection = db.collection<{ _id: number; [field: string]: unknown }>('people');
  const people = versioned(collection, Person);
  await fc.assert(fc.asyncProperty(fc.uniqueArray(storedDoc, { minLength: 1, maxLength: 25, selector: (doc) => doc._id }), filterArb, fc.nat(), async (docs, filter, form) => {
    await collection.deleteMany({});
    await collection.insertMany(docs.map((doc, index) => (typeof doc.age === 'number' ? { ...doc, age: bsonNumber(doc.age, form + index) } : { ...doc })) as never[]);
    // The oracle reads what the driver reads back.
    const read = await collection.find({}).toArray();
    const expected = read.filter((doc) => oracle(filter, doc)).map((doc) => doc._id as number).sort((a, b) => a - b);
    const sent = planner.filter(filter).stored;
    const found = (await collection.find(sent as never).project({ _id: 1 }).toArray()).map((doc) => doc._id as number).sort((a, b) => a - b);
    expect(found, JSON.stringify({ filter, sent })).toEqual(expected);
    expect(await people.countDocuments(filter as never)).toBe(expected.length);
    expect((await people.deleteMany(filter as never)).deletedCount).toBe(expected.length);
    const left = (await collection.find({}).project({ _id: 1 }).toArray()).map((doc) => doc._id as number);
    expect(left.filter((id) => expected.includes(id))).toEqual([]);
  }), { numRuns: 100 });
}, 300_000);
