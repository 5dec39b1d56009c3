import fc from 'fast-check';
import { expect, it } from 'vitest';
import { translateFilter } from '../src/translate/index.js';
import { chain, filterArb, matches, storedDoc } from './fixtures/translation-chain.js';
import { useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('translate_server');

it('the translated filter, run by the server over documents of every version, finds exactly those whose migrated form matches', async () => {
  const collection = db.collection<Record<string, unknown>>('users');
  await fc.assert(fc.asyncProperty(fc.uniqueArray(storedDoc, { minLength: 1, maxLength: 25, selector: (doc) => doc.stored._id }), filterArb, async (docs, filter) => {
    await collection.deleteMany({});
    await collection.insertMany(docs.map(({ stored }) => ({ ...stored })));
    const expected = docs.filter(({ migrated }) => matches(filter, migrated)).map(({ stored }) => stored._id).sort();
    const found = (await collection.find(translateFilter(chain, filter)).project({ _id: 1 }).toArray()).map((doc) => doc._id).sort();
    expect(found, JSON.stringify({ filter, translated: translateFilter(chain, filter) })).toEqual(expected);
  }), { numRuns: 60 });
}, 120_000);
