/**
 * A document whose top-level field names no compare-and-swap replace can carry (a name starting
 * with `$` on every server; a name containing `.` on mongo-java-server, whose filters read it as a
 * path) is a typed failure naming the document and what to do: recorded by a sweep (not skipped
 * silently at every run, nor recorded with the server's raw error), thrown by an update (not
 * retried until an `UpdateContentionError`), and nothing is written.
 */
import { expect, inject, it } from 'vitest';
import { z } from 'zod';
import { defineSchema, listFailures, step, sweep, versioned } from 'mongo-molt';
import { useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('field_names');
const fast = { ratePerSecond: Infinity, pauseMs: 0, mode: 'client' } as const;
const User = defineSchema('user')
  .version(1, z.object({ _id: z.string(), full_name: z.string() }).passthrough())
  .version(2, z.object({ _id: z.string(), display_name: z.string() }).passthrough(), [step.rename('full_name', 'display_name')]);
// mongo-java-server compares field by field: a dotted name is a path there. MongoDB and FerretDB compare the whole document.
const dottedRefused = inject('serverFeatures').kind === 'mongo-java-server';
if (!dottedRefused) process.stderr.write(`[field-names] ${inject('serverFeatures').kind} compares whole documents: a dotted top-level name migrates there\n`);

const seed = [
  { _id: 'plain', full_name: 'Ada' },
  { _id: 'dotted', full_name: 'Bob', 'x.y': 1 },
  { _id: 'dollar', full_name: 'Cy', $d: 2 },
];

it('a sweep records a typed failure for each such document, migrates the rest, and says what is left', async () => {
  const coll = db.collection<{ _id: string; schemaVersion?: number }>('sweep');
  await coll.insertMany(seed.map((doc) => ({ ...doc })) as never[]);
  const report = await sweep(coll, User, { ...fast, failuresCollection: 'sweep_failures' });
  const refused = dottedRefused ? ['dollar', 'dotted'] : ['dollar'];
  expect(report).toMatchObject({ status: 'complete', failed: refused.length, skipped: 0, remaining: refused.length, staleFailures: refused.length });
  const failures = await listFailures(coll, { failuresCollection: 'sweep_failures' });
  expect(failures.map((failure) => [failure.documentId, failure.error.name]).sort()).toEqual(refused.map((id) => [id, 'UnsupportedFieldNameError']));
  for (const failure of failures) expect(failure.error.message).toMatch(/has top-level field names ".*" that .* Nothing was written; store the document under other field names/);
  const stored = await coll.find({}).sort({ _id: 1 }).toArray();
  expect(stored.filter((doc) => doc.schemaVersion === 2).map((doc) => doc._id).sort()).toEqual(['dollar', 'dotted', 'plain'].filter((id) => !refused.includes(id)));
  expect(stored.find((doc) => doc._id === 'dollar')).toEqual(seed[2]);
});

it('an update that would migrate such a document first throws the typed error at once, and writes nothing', async () => {
  const coll = db.collection<{ _id: string }>('update');
  await coll.insertMany(seed.map((doc) => ({ ...doc })) as never[]);
  const users = versioned(coll, User);
  await expect(users.updateOne({ _id: 'dollar' }, { $set: { display_name: 'Z' } })).rejects.toMatchObject({ name: 'UnsupportedFieldNameError', _id: 'dollar', fields: ['$d'] });
  if (dottedRefused) await expect(users.updateOne({ _id: 'dotted' }, { $set: { display_name: 'Z' } })).rejects.toMatchObject({ name: 'UnsupportedFieldNameError', _id: 'dotted', fields: ['x.y'] });
  else expect(await users.updateOne({ _id: 'dotted' }, { $set: { display_name: 'Z' } })).toMatchObject({ modifiedCount: 1 });
  expect(await coll.findOne({ _id: 'dollar' })).toEqual(seed[2]);
});

it('a write-back on read counts such a document as a write-back error (logged with the reason), not as a lost race', async () => {
  const coll = db.collection<{ _id: string }>('write_back');
  await coll.insertMany(seed.map((doc) => ({ ...doc })) as never[]);
  const users = versioned(coll, User, { writeBackOnRead: true });
  expect(await users.find({}).toArray()).toHaveLength(3);
  await users.close();
  expect(users.stats).toMatchObject({ writeBackErrors: dottedRefused ? 2 : 1, lostRaces: 0, writtenBack: dottedRefused ? 1 : 2 });
});
