/**
 * Server sweeps store the bytes client sweeps store: examples found by the property in
 * test/sweeper-server-differential.test.ts (DocumentDB quirks the update pipeline works around).
 */
import { BSON, Double, Int32, Long, type Document } from 'mongodb';
import { expect, inject, it } from 'vitest';
import { z } from 'zod';
import { defineSchema, listFailures, step, sweep } from 'mongo-molt';
import { useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('sweeper_server_bytes');
const { updatePipelines, kind } = inject('serverFeatures');
if (!updatePipelines) process.stderr.write(`[skipped] server sweeps store what client sweeps store: ${kind} has no update pipelines\n`);

const Item = defineSchema('item')
  .version(1, z.object({ _id: z.number(), name: z.string(), meta: z.object({ a: z.number().optional() }).optional() }))
  .version(2, z.object({ _id: z.number(), title: z.string(), meta: z.object({ b: z.unknown().optional() }).optional() }), [step.rename('name', 'title'), step.rename('meta.a', 'meta.b')]);

const Priced = defineSchema('priced')
  .version(1, z.object({ _id: z.number(), price: z.number() }))
  .version(2, z.object({ _id: z.number(), cents: z.number() }), [
    step.convert('price', 'cents', { up: (p: number) => p * 100, upExpr: { $multiply: ['$price', 100] } }),
  ]);

let counter = 0;
async function stored(mode: 'client' | 'server', seed: readonly Document[], schema: typeof Item | typeof Priced = Item): Promise<string[]> {
  const collection = db.collection(`items_${++counter}`);
  await collection.insertMany(seed.map((d) => ({ ...d })));
  const report = await sweep(collection, schema as typeof Item, { mode, ratePerSecond: Infinity, pauseMs: 0, failuresCollection: `items_${counter}_failures` });
  expect(report.status).toBe('complete');
  const failures = await listFailures(collection, { failuresCollection: `items_${counter}_failures` });
  expect(failures.map((f) => `${String(f.documentId)} ${f.error.name}`)).toEqual(schema === Item ? ['3 ValidationError', '5 ValidationError'] : ['8 ValidationError']);
  const raw = (await collection.find({}, { raw: true }).sort({ _id: 1 }).toArray()) as unknown as Buffer[];
  return raw.map((bytes) => Buffer.from(bytes).toString('hex'));
}

const seed = [
  { _id: new Int32(1), schemaVersion: 1, name: 'Ada' }, // no meta: the nested rename must not leave meta: {}
  { _id: new Int32(2), schemaVersion: 1, name: 'Bob', meta: { a: 1, c: 2 } },
  { _id: new Int32(3), schemaVersion: 1, name: 5 }, // will not validate: put back as it was, one _id
  { _id: new Int32(4), name: 'Cy' }, // no version field: written last, as the client path does
  { _id: new Int32(5), schemaVersion: 1, name: 'Dee', meta: [{ a: 1 }] }, // meta.a is behind an array: absent, meta stays an array (a failure)
];

it.skipIf(!updatePipelines)('a server sweep stores one _id, no empty parent of a nested rename, no rename through an array, and the version field last, byte for byte as a client sweep', async () => {
  const client = await stored('client', seed);
  const server = await stored('server', seed);
  expect(server.map((hex) => BSON.EJSON.stringify(BSON.deserialize(Buffer.from(hex, 'hex'), { promoteValues: false }), { relaxed: false }))).toEqual(client.map((hex) => BSON.EJSON.stringify(BSON.deserialize(Buffer.from(hex, 'hex'), { promoteValues: false }), { relaxed: false })));
  expect(server).toEqual(client);
});

const asStored = (hex: string) => BSON.EJSON.stringify(BSON.deserialize(Buffer.from(hex, 'hex'), { promoteValues: false }), { relaxed: false });

it.skipIf(!updatePipelines)("a server form's number is stored as the driver stores the number its function returns", async () => {
  const prices = [new Int32(3), Long.fromNumber(6), Long.fromNumber(2 ** 40), new Double(2.5), new Double(4), new Double(-0), new Double(0.015), new Double(2 ** 31), new Double(Number.NaN)];
  const seed = prices.map((price, index) => ({ _id: new Int32(index), schemaVersion: 1, price }));
  const client = await stored('client', seed, Priced);
  const server = await stored('server', seed, Priced);
  expect(server.map(asStored)).toEqual(client.map(asStored));
  expect(server).toEqual(client);
});

it.skipIf(!updatePipelines)("a server sweep stopped by a server form that disagrees with up names the documents without a version field in words", async () => {
  const Rounded = defineSchema('rounded')
    .version(1, z.object({ _id: z.number(), price: z.number() }))
    .version(2, z.object({ _id: z.number(), cents: z.number() }), [
      step.convert('price', 'cents', { up: (p: number) => Math.round(p), upExpr: { $round: ['$price', 0] } }), // 12.5: 13 against 12
    ]);
  const collection = db.collection<{ _id: number; price: number }>(`rounded_${++counter}`);
  await collection.insertOne({ _id: 1, price: 12.5 });
  const report = await sweep(collection, Rounded, { mode: 'server', ratePerSecond: Infinity, pauseMs: 0, failuresCollection: `rounded_${counter}_failures` });
  expect(report.status).toBe('aborted');
  expect(report.error?.message).toContain('the server form of the steps from documents without a version field gives a different document');
});
