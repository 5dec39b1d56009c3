/**
 * A step's server form is a second implementation of `up`: before a sweep stores anything from it,
 * it is compared with `up` (and zod) on the collection's own documents. Here `upExpr` rounds half
 * to even (`$round`) where `up` rounds half up (`Math.round`): `price: '0.125'` reads as 13.
 */
import { expect, inject, it } from 'vitest';
import { z } from 'zod';
import { checkMigration, defineSchema, step, sweep, versioned } from 'mongo-molt';
import { useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('server_form_check');
const { updatePipelines, kind } = inject('serverFeatures');
if (!updatePipelines) process.stderr.write(`[skipped] server forms against up: ${kind} has no update pipelines, so sweeps run on the client there\n`);
const fast = { ratePerSecond: Infinity, pauseMs: 0 } as const;

const V1 = z.object({ _id: z.string(), price: z.string() });
const V2 = z.object({ _id: z.string(), priceCents: z.number().int() });
const productWith = (up: (s: string) => number, upExpr: Record<string, unknown>) => defineSchema('product').version(1, V1).version(2, V2, [
  step.convert('price', 'priceCents', { up, upExpr }),
]);
const HalfToEven = productWith((s) => Math.round(Number(s) * 100), { $toInt: { $round: [{ $multiply: [{ $toDouble: '$price' }, 100] }, 0] } });
// The README's form: both round half up, with the same double arithmetic.
const HalfUp = productWith((s) => Math.floor(Number(s) * 100 + 0.5), { $toInt: { $floor: { $add: [{ $multiply: [{ $toDouble: '$price' }, 100] }, 0.5] } } });

const seed = () => [
  { _id: 'a', price: '0.125' }, // 12.5 cents: Math.round gives 13, $round gives 12
  ...Array.from({ length: 20 }, (_, i) => ({ _id: `p${String(i).padStart(2, '0')}`, price: `${i}.${i % 10}` })),
];

async function swept(name: string, schema: typeof HalfUp, mode: 'auto' | 'client' | 'server') {
  const collection = db.collection<{ _id: string }>(name);
  await collection.insertMany(seed() as never[]);
  const report = await sweep(collection, schema, { ...fast, mode, failuresCollection: `${name}_failures` });
  return { report, stored: await collection.find({}).sort({ _id: 1 }).toArray() };
}

it.skipIf(!updatePipelines)("a server form that disagrees with up: auto stores what the client stores, server mode stops before any write, molt check names the documents", async () => {
  const client = await swept('even_client', HalfToEven, 'client');
  const auto = await swept('even_auto', HalfToEven, 'auto');
  expect(client.stored.find((doc) => doc._id === 'a')).toMatchObject({ priceCents: 13 });
  expect(auto.stored).toEqual(client.stored);
  expect(auto.report).toMatchObject({ status: 'complete', migrated: 21, failed: 0 });

  const server = await swept('even_server', HalfToEven, 'server');
  expect(server.report).toMatchObject({ status: 'aborted', error: { name: 'InvalidOptionError', message: expect.stringMatching(/server form .* different document than up .* e\.g\. _id="a"/) } });
  expect(server.stored.filter((doc) => 'priceCents' in doc)).toEqual([]);

  const unswept = db.collection<{ _id: string }>('even_check');
  await unswept.insertMany(seed() as never[]);
  const check = await checkMigration(unswept, HalfToEven);
  expect(check.serverSide).toMatchObject({ versions: [null, 1], compared: 21, differing: 1, examples: ['a'] });
});

it.skipIf(!updatePipelines)('a server form that agrees with up (the README\'s form) runs on the server and stores what the client stores', async () => {
  const client = await swept('up_client', HalfUp, 'client');
  const server = await swept('up_server', HalfUp, 'server');
  expect(server.report).toMatchObject({ status: 'complete', mode: 'server', migrated: 21 });
  expect(server.stored).toEqual(client.stored);
  const check = await checkMigration(db.collection('up_client'), HalfUp);
  expect(check.serverSide).toMatchObject({ differing: 0 });
});

it('a translated filter on the converted value finds what a read returns', async () => {
  const collection = db.collection<{ _id: string }>('find_half_up');
  await collection.insertMany(seed() as never[]);
  const products = versioned(collection, HalfUp);
  expect((await products.findOne({ _id: 'a' }))?.priceCents).toBe(13);
  expect((await products.find({ priceCents: 13 }).toArray()).map((doc) => doc._id)).toEqual(['a']);
});

it('a translated filter through an upExpr that disagrees with up on this collection is refused, naming the document; other filters still run', async () => {
  const collection = db.collection<{ _id: string; price?: string }>('find_half_to_even');
  await collection.insertMany(seed() as never[]);
  const products = versioned(collection, HalfToEven);
  expect((await products.findOne({ _id: 'a' }))?.priceCents).toBe(13);
  // Before: the server computed 12 for 'a', so a filter on 13 found nothing, and deleteMany({ priceCents: 12 }) deleted 'a'.
  // mongo-java-server has no $round: there the filter failed with the server's raw error; now it is refused the same way.
  const reason = updatePipelines ? /upExpr computes another value than up on 1 of the 21 stored documents checked \(_id "a": up gives 13, upExpr 12\)/ : /this server cannot evaluate that upExpr/;
  const refused = { name: 'QueryTranslationError', field: 'priceCents', message: expect.stringMatching(reason) };
  await expect(products.find({ priceCents: 13 }).toArray()).rejects.toMatchObject(refused);
  await expect(products.countDocuments({ priceCents: 12 })).rejects.toMatchObject(refused);
  await expect(products.deleteMany({ priceCents: 12 })).rejects.toMatchObject(refused);
  await expect(products.updateMany({ priceCents: 12 }, { $set: { priceCents: 0 } })).rejects.toMatchObject(refused);
  expect(await collection.countDocuments({ price: { $exists: true } })).toBe(21);
  // Filters that do not compare through the server form are not concerned.
  expect(await products.countDocuments({ _id: 'a' })).toBe(1);
  if (!updatePipelines) return;
  // Once the collection holds nothing the step still converts, the check finds nothing to disagree on, and the filter is exact.
  await sweep(collection, HalfToEven, { ...fast, mode: 'client' });
  const fresh = versioned(collection, HalfToEven);
  expect((await fresh.find({ priceCents: 13 }).toArray()).map((doc) => doc._id)).toEqual(['a']);
});
