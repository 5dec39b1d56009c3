import { MongoClient, type CommandStartedEvent } from 'mongodb';
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { defineSchema, InvalidOptionError, listFailures, step, sweep, type SweepOptions } from 'mongo-molt';
import { User as FunctionUser } from './fixtures/schemas.js';
import { useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('sweeper_modes');
const { updatePipelines, kind } = inject('serverFeatures');
const fast = { ratePerSecond: Infinity, pauseMs: 0 } as const;
if (!updatePipelines) process.stderr.write(`[skipped] "store exactly what a client-side sweep stores": ${kind} has no update pipelines, so sweeps run on the client there\n`);
if (updatePipelines) process.stderr.write(`[skipped] "mode server stops with a clear error where the server has no update pipelines": ${kind} runs update pipelines\n`);

const V1 = z.object({ _id: z.string(), full_name: z.string(), price: z.string() });
const V2 = z.object({ _id: z.string(), display_name: z.string().min(1), email: z.string().nullable(), priceCents: z.number().int() });
const Product = defineSchema('product')
  .version(1, V1)
  .version(2, V2, [
    step.rename('full_name', 'display_name'),
    step.add('email', null),
    step.convert('price', 'priceCents', {
      up: (s: string) => Math.floor(Number(s) * 100 + 0.5), // half up, as upExpr computes it
      down: (c: number) => String(c / 100),
      upExpr: { $toInt: { $floor: { $add: [{ $multiply: [{ $toDouble: '$price' }, 100] }, 0.5] } } },
      downExpr: { $toString: { $divide: ['$priceCents', 100] } },
    }),
  ]);

type Raw = Record<string, unknown> & { _id: string };
let counter = 0;
let name = '';
beforeEach(() => {
  name = `products_${++counter}`;
});

/** 200 version-1 products (half without a version field), 3 that will not validate, 2 already at version 2. */
function seed(): Raw[] {
  return [
    ...Array.from({ length: 200 }, (_, i): Raw => ({ _id: `p${String(i).padStart(3, '0')}`, full_name: `P${i}`, price: `${i}.${(i % 9) + 1}`, ...(i % 2 ? { schemaVersion: 1 } : {}) })),
    { _id: 'bad-empty', full_name: '', price: '1.5', schemaVersion: 1 },
    { _id: 'bad-missing', price: '1.5' },
    { _id: 'bad-price', full_name: 'X', price: 'n/a', schemaVersion: 1 },
    { _id: 'v2-a', display_name: 'A', email: 'a@x', priceCents: 150, schemaVersion: 2 },
    { _id: 'v2-b', display_name: 'B', email: null, priceCents: 5, schemaVersion: 2 },
  ];
}

async function sweptWith(collectionName: string, options: SweepOptions) {
  const collection = db.collection<Raw>(collectionName);
  await collection.insertMany(seed());
  const report = await sweep(collection, Product, { ...fast, batchSize: 64, failuresCollection: `${collectionName}_failures`, ...options });
  const stored = await collection.find({}).sort({ _id: 1 }).toArray();
  const failures = (await listFailures(collection, { failuresCollection: `${collectionName}_failures` })).map((failure) => [failure.documentId, failure.error.name]).sort();
  return { report, stored, failures };
}

describe('server-side sweeps', () => {
  it.skipIf(!updatePipelines)("mode 'server' migrates on the server: every migrated document by an update pipeline, none sent as a replacement", async () => {
    // What the report claims is checked against what went over the wire: a page read as stored
    // holds its versions as Int32 objects, and a lookup keyed by numbers once sent every document
    // down the client path while the report said 'server'.
    const monitored = new MongoClient(inject('mongoUri'), { monitorCommands: true });
    const statements: { pipeline: boolean; replacement: boolean }[] = [];
    monitored.on('commandStarted', (event: CommandStartedEvent) => {
      if (event.commandName !== 'update' || event.command.update !== `${name}_wire`) return;
      for (const { u } of event.command.updates as { u: unknown }[]) statements.push({ pipeline: Array.isArray(u), replacement: !Array.isArray(u) && !Object.keys(u as object).some((key) => key.startsWith('$')) });
    });
    try {
      await monitored.connect();
      const collection = monitored.db(db.databaseName).collection<Raw>(`${name}_wire`);
      await collection.insertMany(seed().filter((doc) => !doc._id.startsWith('bad')));
      const report = await sweep(collection, Product, { ...fast, batchSize: 64, mode: 'server' });
      expect(report).toMatchObject({ status: 'complete', mode: 'server', migrated: 200, failed: 0, remaining: 0 });
      expect(statements.filter((statement) => statement.pipeline).length).toBeGreaterThanOrEqual(Math.ceil(202 / 64));
      expect(statements.filter((statement) => statement.replacement)).toEqual([]);
    } finally {
      await monitored.close();
    }
  }, 60_000);

  it.skipIf(!updatePipelines)('store exactly what a client-side sweep stores, and record the same failures', async () => {
    const client = await sweptWith(`${name}_client`, { mode: 'client' });
    const server = await sweptWith(`${name}_server`, { mode: 'auto' });
    expect(client.report).toMatchObject({ status: 'complete', mode: 'client', migrated: 200, failed: 3 });
    expect(server.report.error).toBeUndefined();
    expect(server.report).toMatchObject({ status: 'complete', mode: 'server', migrated: 200, failed: 3, remaining: 3 });
    expect(server.report.serverVersions).toEqual([null, 1]);
    expect(server.stored).toEqual(client.stored);
    expect(server.failures).toEqual(client.failures);
    expect(server.failures.map(([id]) => id)).toEqual(['bad-empty', 'bad-missing', 'bad-price']);
    // Documents that would not validate are left exactly as they were.
    expect(server.stored.find((doc) => doc._id === 'bad-price')).toEqual({ _id: 'bad-price', full_name: 'X', price: 'n/a', schemaVersion: 1 });
  }, 60_000);

  it.skipIf(updatePipelines)('mode server stops with a clear error where the server has no update pipelines', async () => {
    process.stderr.write(`[note] ${kind} has no update pipelines: checking that mode 'server' refuses\n`);
    const { report, stored } = await sweptWith(name, { mode: 'server' });
    expect(report).toMatchObject({ status: 'aborted', error: { name: 'ServerModeUnavailable' } });
    expect(stored.filter((doc) => doc.schemaVersion === 2)).toHaveLength(2);
  });

  it('auto falls back to the client where the server or the chain cannot, and says so', async () => {
    const { report } = await sweptWith(name, { mode: updatePipelines ? 'client' : 'auto' });
    expect(report).toMatchObject({ status: 'complete', mode: 'client', migrated: 200, failed: 3 });
  });

  it('mode server on a chain with a function step is refused before any I/O', async () => {
    await expect(sweep(db.collection(name), FunctionUser, { mode: 'server' })).rejects.toThrow(InvalidOptionError);
    await expect(sweep(db.collection(name), FunctionUser, { mode: 'server' })).rejects.toThrow(/is a function/);
    expect((await db.listCollections().toArray()).map((collection) => collection.name)).not.toContain(name);
  });
});

describe('reverse sweeps', () => {
  it('bring every document above the target down to it, and forward again', async () => {
    const collection = db.collection<Raw>(name);
    await collection.insertMany(seed().filter((doc) => !doc._id.startsWith('bad')));
    expect(await sweep(collection, Product, fast)).toMatchObject({ status: 'complete', migrated: 200 });
    // v2-a's email would not come back up: lossy, left as it is without allowLoss.
    const down = await sweep(collection, Product, { ...fast, to: 1, failuresCollection: `${name}_failures` });
    expect(down).toMatchObject({ status: 'complete', targetVersion: 1, migrated: 201, failed: 1, lossy: 1, staleFailures: 1 });
    expect(await collection.findOne({ _id: 'v2-a' })).toMatchObject({ email: 'a@x', schemaVersion: 2 });
    const allowed = await sweep(collection, Product, { ...fast, to: 1, allowLoss: true, retryFailed: true, failuresCollection: `${name}_failures` });
    expect(allowed).toMatchObject({ status: 'complete', migrated: 1, failed: 0, lossy: 1, remaining: 0 });
    expect(await collection.findOne({ _id: 'v2-a' })).toEqual({ _id: 'v2-a', full_name: 'A', price: '1.5', schemaVersion: 1 });
    expect(await collection.findOne({ _id: 'p012' })).toEqual({ _id: 'p012', full_name: 'P12', price: '12.4', schemaVersion: 1 });
    // A forward run after the reverse one does not resume the reverse run's checkpoint. The
    // reverse sweep pinned the collection at v1: going forward names the latest (which unpins).
    expect(await sweep(collection, Product, fast)).toMatchObject({ status: 'complete', migrated: 0, targetVersion: 1, pinned: { version: 1 } });
    expect(await sweep(collection, Product, { ...fast, to: 2 })).toMatchObject({ status: 'complete', migrated: 202, targetVersion: 2 });
    expect(await collection.countDocuments({ schemaVersion: 2 })).toBe(202);
  }, 60_000);

  it('are refused before any write when a downcaster is missing, naming the step', async () => {
    await expect(sweep(db.collection(name), FunctionUser, { to: 1 })).rejects.toThrow(/has none from version 3 to 2/);
    await expect(sweep(db.collection(name), FunctionUser, { to: 7 })).rejects.toThrow(InvalidOptionError);
  });
});

describe('a sweep that runs on the client says why', () => {
  const Person = defineSchema('person')
    .version(1, z.object({ _id: z.string(), full_name: z.string() }))
    .version(2, z.object({ _id: z.string(), display_name: z.string(), email: z.string().nullable() }), [step.rename('full_name', 'display_name'), step.add('email', null)]);
  const seedAt2 = async () => {
    const people = db.collection<Raw>(name);
    await people.insertMany(Array.from({ length: 20 }, (_, i): Raw => ({ _id: `q${i}`, display_name: `Q${i}`, email: null, schemaVersion: 2 })));
    return people;
  };

  it("mode 'server' going down without allowLoss is refused before anything is read or written", async () => {
    const people = await seedAt2();
    const before = await people.find({}).sort({ _id: 1 }).toArray();
    const attempt = sweep(people, Person, { ...fast, to: 1, mode: 'server' });
    await expect(attempt).rejects.toThrow(InvalidOptionError);
    await expect(sweep(people, Person, { ...fast, to: 1, mode: 'server' })).rejects.toThrow(/allowLoss/);
    expect(await people.find({}).sort({ _id: 1 }).toArray()).toEqual(before);
  });

  it("mode 'auto' going down without allowLoss runs on the client and the report says why", async () => {
    const people = await seedAt2();
    const report = await sweep(people, Person, { ...fast, to: 1, mode: 'auto' });
    expect(report).toMatchObject({ status: 'complete', mode: 'client', migrated: 20 });
    expect(report.clientReason).toMatch(/allowLoss/);
    expect(await people.countDocuments({ schemaVersion: 1, full_name: { $exists: true } })).toBe(20);
  });

  it("mode 'auto' on a dry run, or where the server lacks update pipelines, says so; mode 'client' gives no reason", async () => {
    const people = await seedAt2();
    const dry = await sweep(people, Person, { ...fast, to: 1, mode: 'auto', allowLoss: true, dryRun: true });
    expect(dry.clientReason).toMatch(/dry run/);
    const forward = db.collection<Raw>(`${name}_up`);
    await forward.insertMany([{ _id: 'u1', full_name: 'U' }]);
    const up = await sweep(forward, Person, { ...fast, mode: 'auto' });
    if (updatePipelines) expect([up.mode, 'clientReason' in up]).toEqual(['server', false]);
    else expect(up.clientReason).toMatch(/update pipelines/);
    const client = await sweep(people, Person, { ...fast, to: 1, mode: 'client' });
    expect(client.clientReason).toBeUndefined();
  });
});

describe('why an auto sweep ran on the client', () => {
  it('names each stale version\'s reason, as molt check does, when none can run on the server', async () => {
    // Declarative steps throughout, but the latest version fills in a default: only the client applies it.
    const Item = defineSchema('item')
      .version(1, z.object({ _id: z.string(), title: z.string() }))
      .version(2, z.object({ _id: z.string(), name: z.string(), state: z.enum(['new', 'old']).default('new') }), [step.rename('title', 'name')]);
    const items = db.collection<{ _id: string; title: string }>('items_client_reason');
    await items.insertMany([{ _id: 'i1', title: 'One' }]);
    const report = await sweep(items, Item, { ...fast, mode: 'auto' });
    expect(report).toMatchObject({ status: 'complete', mode: 'client', migrated: 1 });
    expect(report.clientReason).toMatch(/unversioned: version 2's zod schema fills in defaults/);
  });
});
