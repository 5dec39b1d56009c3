/**
 * A reverse sweep never drops data silently: each document brought down is brought back up and
 * compared with what is stored; what would not come back makes it lossy. The dry run and the run
 * report `lossy`; without `allowLoss` a lossy document is not written (a `LossyDowncastError`
 * failure), with it it is.
 */
import { expect, it } from 'vitest';
import { z } from 'zod';
import { checkMigration, defineSchema, listFailures, step, sweep, SweepStatus, verifyVersion } from '../src/index.js';
import { useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('sweeper_lossy');
const fast = { ratePerSecond: Infinity, pauseMs: 0 } as const;

const Person = defineSchema('person')
  .version(1, z.object({ _id: z.string(), name: z.string() }))
  .version(2, z.object({ _id: z.string(), name: z.string(), email: z.string().nullable() }), [step.add('email', null)]);

it('a reverse sweep reports lossy documents, writes them only with allowLoss, and leaves the others recorded', async () => {
  const people = db.collection<{ _id: string; name: string; email: string | null; schemaVersion: number }>('people');
  await people.insertMany(Array.from({ length: 20 }, (_, i) => ({ _id: `p${String(i).padStart(2, '0')}`, name: `P${i}`, email: i % 2 ? `p${i}@example.com` : null, schemaVersion: 2 })));

  const dry = await sweep(people, Person, { ...fast, to: 1, dryRun: true });
  expect(dry).toMatchObject({ status: SweepStatus.COMPLETE, migrated: 10, lossy: 10, failed: 10 });

  const run = await sweep(people, Person, { ...fast, to: 1 });
  expect(run).toMatchObject({ status: SweepStatus.COMPLETE, migrated: 10, lossy: 10, failed: 10, remaining: 10, staleFailures: 10 });
  expect(await people.countDocuments({ schemaVersion: 2, email: { $type: 'string' } })).toBe(10); // every email kept
  const failures = await listFailures(people);
  expect(failures).toHaveLength(10);
  expect(failures.every((failure) => failure.error.name === 'LossyDowncastError' && failure.error.message.includes('"email"'))).toBe(true);

  const allowed = await sweep(people, Person, { ...fast, to: 1, allowLoss: true, retryFailed: true });
  expect(allowed).toMatchObject({ status: SweepStatus.COMPLETE, migrated: 10, lossy: 10, failed: 0, remaining: 0, staleFailures: 0 });
  expect(await people.countDocuments({ schemaVersion: 1, email: { $exists: false } })).toBe(20);
});

it('a document a reverse sweep refused as lossy is not a failure of the way up: the next sweep to the latest migrates it and clears its record', async () => {
  const Tagged = defineSchema('person')
    .version(1, z.object({ _id: z.string(), name: z.string() }))
    .version(2, z.object({ _id: z.string(), name: z.string(), email: z.string().nullable() }), [step.add('email', null)])
    .version(3, z.object({ _id: z.string(), name: z.string(), email: z.string().nullable(), tags: z.array(z.string()) }), [step.add('tags', [])]);
  const people = db.collection<{ _id: string; name: string; email: string | null; schemaVersion: number }>('refused');
  await people.insertMany(Array.from({ length: 12 }, (_, i) => ({ _id: `p${String(i).padStart(2, '0')}`, name: `P${i}`, email: i % 2 ? `p${i}@example.com` : null, schemaVersion: 2 })));

  const down = await sweep(people, Tagged, { ...fast, to: 1 });
  expect(down).toMatchObject({ status: SweepStatus.COMPLETE, migrated: 6, lossy: 6, failed: 6, staleFailures: 6 });
  // The records say the documents failed to reach version 1; going up to 3 none of them fails.
  expect(await verifyVersion(people, Tagged, 3)).toMatchObject({ below: 12, fix: { sweepable: 12, failures: 0 } });

  const up = await sweep(people, Tagged, { ...fast, to: 3 });
  expect(up).toMatchObject({ status: SweepStatus.COMPLETE, migrated: 12, failed: 0, remaining: 0, staleFailures: 0 });
  for (const person of await people.find().toArray()) {
    const email = Number(person._id.slice(1)) % 2 ? `p${Number(person._id.slice(1))}@example.com` : null;
    expect(person).toEqual({ _id: person._id, name: person.name, email, tags: [], schemaVersion: 3 });
  }
  expect(await listFailures(people)).toHaveLength(0);
});

it('molt check --round-trip also brings the documents at the latest version down and back up', async () => {
  const people = db.collection<{ _id: string; name: string; email?: string | null; schemaVersion?: number }>('checked');
  await people.insertMany([
    ...Array.from({ length: 6 }, (_, i) => ({ _id: `p${i}`, name: `P${i}`, email: i % 3 ? null : `p${i}@example.com`, schemaVersion: 2 })),
    { _id: 'old', name: 'Old' },
  ]);
  const report = await checkMigration(people, Person, { roundTrip: true });
  expect(report.roundTrip).toMatchObject({ checked: 1, lossy: 0, down: { checked: 6, lossy: 2, noDown: 0, examples: ['p0', 'p3'] } });
});
