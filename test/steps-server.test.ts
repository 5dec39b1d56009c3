import fc from 'fast-check';
import { inject, it } from 'vitest';
import { expect } from 'vitest';
import { applyDown, applyUp, downPipeline, step, upPipeline, type DeclarativeStep } from '../src/steps/index.js';
import { useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('steps_server');
const { updatePipelines, kind } = inject('serverFeatures');
if (!updatePipelines) process.stderr.write(`[skipped] declarative steps on the server: ${kind} does not run update pipelines\n`);

const steps: DeclarativeStep[] = [
  step.rename('full_name', 'display_name'),
  step.add('email', null),
  step.add('prefs', { theme: 'dark', $weird: '$notAPath' }),
  step.convert('price', 'priceCents', {
    up: (s: string) => Math.floor(Number(s) * 100 + 0.5), // half up, as upExpr computes it
    down: (c: number) => (c / 100).toFixed(2),
    upExpr: { $toInt: { $floor: { $add: [{ $multiply: [{ $toDouble: '$price' }, 100] }, 0.5] } } },
    downExpr: { $toString: { $divide: ['$priceCents', 100] } },
  }),
  step.rename('address.zip', 'address.postcode'),
] as DeclarativeStep[];

const v1Doc = fc.record({
  full_name: fc.option(fc.string({ maxLength: 5 }), { nil: undefined }),
  email: fc.option(fc.constantFrom(null, 'a@x'), { nil: undefined }),
  price: fc.option(fc.integer({ min: 0, max: 99_999 }).map((cents) => (cents / 100).toFixed(2)), { nil: undefined }),
  address: fc.option(fc.record({ zip: fc.constantFrom('N1', 'E2'), city: fc.constant('L') }, { requiredKeys: ['city'] }), { nil: undefined }),
}, { requiredKeys: [] }).map((doc) => Object.fromEntries(Object.entries(doc).filter(([, value]) => value !== undefined)));

it.skipIf(!updatePipelines)('the server form of each step gives what the step gives in memory, fields present or absent', async () => {
  const pipeline = upPipeline(steps);
  expect(pipeline).toBeDefined();
  await fc.assert(fc.asyncProperty(fc.array(v1Doc, { minLength: 1, maxLength: 30 }), async (docs) => {
    const collection = db.collection<Record<string, unknown>>('up');
    await collection.deleteMany({});
    const stored = docs.map((doc, index) => ({ _id: index, ...doc }));
    await collection.insertMany(stored.map((doc) => ({ ...doc })) as never[]);
    await collection.updateMany({}, pipeline as never);
    const onServer = await collection.find({}, { sort: { _id: 1 } }).toArray();
    expect(onServer).toEqual(stored.map((doc) => applyUp(steps, doc)));
  }), { numRuns: 15 });
}, 120_000);

it.skipIf(!updatePipelines)('down on the server undoes up for invertible steps', async () => {
  const invertible = [steps[0], steps[1], steps[4]] as DeclarativeStep[];
  const collection = db.collection<Record<string, unknown>>('down');
  const docs = [{ _id: 1, full_name: 'Ada', address: { zip: 'N1' } }, { _id: 2, address: { city: 'L' } }, { _id: 3 }];
  await collection.insertMany(docs.map((doc) => applyUp(invertible, doc)));
  await collection.updateMany({}, downPipeline(invertible) as never);
  const back = await collection.find({}, { sort: { _id: 1 } }).toArray();
  expect(back).toEqual(docs);
  expect(docs.map((doc) => applyDown(invertible, applyUp(invertible, doc)))).toEqual(docs);
});
