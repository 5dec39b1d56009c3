import { expect, it } from 'vitest';
import { z } from 'zod';
import { checkMigration, defineSchema, step, sweep } from 'mongo-molt';
import { useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('undeclared');

const V1 = z.object({ _id: z.string(), full_name: z.string() });
const V2 = z.object({ _id: z.string(), name: z.string() });
// A spread keeps full_name, and a typo adds nmae: both would be stored as returned. Such a step does
// not compile as written inline; typed as the next version's input (or written in JavaScript), it does.
const leak = (v1: z.output<typeof V1>): z.input<typeof V2> => ({ ...v1, name: v1.full_name, ...{ nmae: 'x' } });
const Leaky = defineSchema('leaky').version(1, V1).version(2, V2, leak);

it('molt check and the sweep report list the keys a step keeps that the target schema does not declare', async () => {
  const users = db.collection<{ _id: string; full_name: string }>('users');
  await users.insertMany([{ _id: 'a', full_name: 'Ada' }, { _id: 'b', full_name: 'Bob' }]);
  const check = await checkMigration(users, Leaky);
  expect(check).toMatchObject({ checked: 2, failed: 0, undeclaredKeys: ['full_name', 'nmae'] });
  expect(check.serverSide).toEqual({ versions: [], clientOnly: [{ version: null, reason: expect.stringMatching(/is a function/) }, { version: 1, reason: expect.stringMatching(/is a function/) }], compared: 0, differing: 0, examples: [] });
  const report = await sweep(users, Leaky, { ratePerSecond: Infinity, pauseMs: 0 });
  expect(report.undeclaredKeys).toEqual(['full_name', 'nmae']);
});

it('molt check says which versions a sweep can run on the server', async () => {
  const Clean = defineSchema('clean').version(1, V1).version(2, V2, [step.rename('full_name', 'name')]);
  const users = db.collection<{ _id: string; full_name: string }>('clean');
  await users.insertOne({ _id: 'a', full_name: 'Ada' });
  const check = await checkMigration(users, Clean);
  expect(check).toMatchObject({ undeclaredKeys: [], serverSide: { versions: [null, 1], clientOnly: [] } });
});

it('molt check --round-trip reports documents that do not come back the same, and chains with no way down', async () => {
  // v2 keeps the name but drops the nickname going up; its down cannot bring it back.
  const Lossy = defineSchema('lossy')
    .version(1, z.object({ _id: z.string(), full_name: z.string(), nick: z.string().optional() }))
    .version(2, V2, { up: ({ _id, full_name }) => ({ _id, name: full_name }), down: ({ _id, name }) => ({ _id, full_name: name }) });
  const users = db.collection<{ _id: string; full_name: string; nick?: string }>('lossy');
  await users.insertMany([{ _id: 'a', full_name: 'Ada' }, { _id: 'b', full_name: 'Bob', nick: 'B' }]);
  const check = await checkMigration(users, Lossy, { roundTrip: true });
  expect(check.roundTrip).toEqual({ checked: 2, lossy: 1, noDown: 0, examples: ['b'], down: { checked: 0, lossy: 0, noDown: 0, examples: [] } });
  const noDown = await checkMigration(users, Leaky, { roundTrip: true });
  expect(noDown.roundTrip).toMatchObject({ checked: 2, lossy: 0, noDown: 2 });
  expect(await users.countDocuments({ schemaVersion: { $exists: true } })).toBe(0); // nothing written
});

it('molt check --round-trip counts a field gained on the way (a default the down keeps) as no loss', async () => {
  const Gains = defineSchema('gains')
    .version(1, V1)
    .version(2, z.object({ _id: z.string(), full_name: z.string(), email: z.string().nullable(), plan: z.string().default('free'), prefs: z.object({ theme: z.string().default('light') }).default({ theme: 'light' }) }), [step.add('email', null)])
    .version(3, z.object({ _id: z.string(), name: z.string(), email: z.string().nullable(), plan: z.string(), prefs: z.object({ theme: z.string() }) }), [step.rename('full_name', 'name')]);
  const users = db.collection<{ _id: string; full_name: string; prefs?: object }>('gains');
  await users.insertMany([{ _id: 'a', full_name: 'Ada' }, { _id: 'b', full_name: 'Bob', prefs: {} }]);
  const check = await checkMigration(users, Gains, { roundTrip: true });
  expect(check.roundTrip).toEqual({ checked: 2, lossy: 0, noDown: 0, examples: [], down: { checked: 0, lossy: 0, noDown: 0, examples: [] } });
});
