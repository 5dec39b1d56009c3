/**
 * The server path of `sweep` against the client path, differentially. Random stale documents of a
 * three-version declarative chain (rename, add, remove, convert with upExpr/downExpr, a nested
 * rename), in odd stored forms (missing, null and stray fields, every numeric BSON type incl. -0
 * and NaN, versions stored as Int32, Double or Long, no version field, `_id`s of several BSON
 * types, values zod refuses), are inserted into several collections and swept with mode 'client'
 * and with 'server' / 'auto' / 'server' with two workers. The stored documents must be the same
 * BSON, byte for byte (field order included: both paths lay out a migrated document as the steps
 * move its fields, so order is part of what they store), the failure records the same, and the
 * report counts the same. Reverse sweeps (`to: 2`, `allowLoss`) likewise, except `lossy`, which a
 * server batch does not count (documented). `MOLT_DIFF_RUNS` sets the number of runs (default 25).
 */
import fc from 'fast-check';
import { BSON, Binary, Decimal128, Double, Int32, Long, ObjectId, type Document } from 'mongodb';
import { expect, inject, it } from 'vitest';
import { z } from 'zod';
import { defineSchema, listFailures, step, sweep, type SweepOptions } from 'mongo-molt';
import { useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('sweeper_server_diff');
const { updatePipelines, kind } = inject('serverFeatures');
const RUNS = Number(process.env.MOLT_DIFF_RUNS ?? 25);
if (!updatePipelines) process.stderr.write(`[skipped] server sweeps against client sweeps: ${kind} has no update pipelines, so every mode runs on the client there\n`);

// The functions leave what is not a number as it is, as their server forms do (`$add` of null is null, of a date a date;
// JS would make -1 of `null - 1`): a server form must compute what its function computes, or a server sweep stops.
// (A Long beyond 2^53 reaches a function as a Long object; `$divide` would make a double of it that zod takes.)
const Meta = z.object({ b: z.number().optional() }).optional();
/** Takes any value at y: what a nested step writes there is stored, whatever it is. */
const Info = z.object({ y: z.unknown().optional() }).optional();
const Item = defineSchema('item')
  .version(1, z.object({ _id: z.any(), name: z.string(), price: z.number(), legacy: z.any().optional(), meta: z.object({ a: z.number().optional() }).optional(), info: z.object({ x: z.unknown().optional() }).optional(), qty: z.number().optional() }))
  .version(2, z.object({ _id: z.any(), title: z.string().max(8), cents: z.number().int().min(0), tags: z.array(z.string()), meta: Meta, info: Info, qty: z.number().optional() }), [
    step.rename('name', 'title'),
    step.convert('price', 'cents', { up: (p: number) => (typeof p === 'number' ? p * 2 : p), down: (c: number) => (typeof c === 'number' ? c / 2 : c), upExpr: { $multiply: ['$price', 2] }, downExpr: { $divide: ['$cents', 2] } }),
    step.remove('legacy'),
    step.add('tags', []),
    step.rename('meta.a', 'meta.b'),
    step.rename('info.x', 'info.y'),
  ])
  .version(3, z.object({ _id: z.any(), label: z.string().max(8), cents: z.number().int().min(0), tags: z.array(z.string()), flag: z.boolean(), meta: z.object({ b: z.number().optional(), seen: z.boolean() }), info: Info, qty: z.number().optional() }), [
    step.rename('title', 'label'),
    step.add('flag', false),
    step.add('meta.seen', false),
    step.convert('meta.b', 'meta.b', { up: (b: number) => (typeof b === 'number' ? b + 10 : b), down: (b: number) => (typeof b === 'number' ? b - 10 : b), upExpr: { $add: ['$meta.b', 10] }, downExpr: { $subtract: ['$meta.b', 10] } }),
    step.convert('qty', 'qty', { up: (q: number) => (typeof q === 'number' ? q + 1 : q), down: (q: number) => (typeof q === 'number' ? q - 1 : q), upExpr: { $add: ['$qty', 1] }, downExpr: { $subtract: ['$qty', 1] } }),
  ]);

const number = fc.constantFrom<unknown>(new Int32(3), new Int32(-4), 7, new Double(2.5), new Double(4), new Double(-0), new Double(Number.NaN), Long.fromNumber(6), Long.fromString('9007199254740993'), Decimal128.fromString('4'), 1e20, 2 ** 31 - 1);
const odd = fc.constantFrom<unknown>(null, 'x', true, [1], {}, new Date(0));
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 3 });
const text = fc.constantFrom<unknown>('Ada', '', 'far-too-long-name', null, 5);
const version = fc.constantFrom<unknown>(undefined, null, new Int32(1), new Double(1), Long.fromNumber(1), new Int32(2), new Double(2), Decimal128.fromString('2'), new Int32(3), Long.fromNumber(3), new Double(1.5));

/** A field's value: mostly one its version takes, sometimes an odd one (missing, null, another BSON type, a wrong type). */
const field = (good: fc.Arbitrary<unknown>, bad: fc.Arbitrary<unknown> = fc.oneof(number, odd)) =>
  fc.oneof({ arbitrary: good, weight: 8 }, { arbitrary: fc.constant(undefined), weight: 1 }, { arbitrary: bad, weight: 1 });
const goodNumber = fc.constantFrom<unknown>(new Int32(3), 7, new Double(4), new Double(-0), Long.fromNumber(6), 0);
const goodName = fc.constantFrom<unknown>('Ada', 'Bob', 'x');

const doc = fc.record({
  idKind: fc.nat(6),
  version,
  name: field(goodName, text),
  title: field(goodName, text),
  label: field(goodName, text),
  price: field(goodNumber),
  cents: field(goodNumber),
  legacy: maybe(fc.oneof(number, odd)),
  tags: field(fc.constantFrom<unknown>([], ['a']), fc.constantFrom<unknown>([1], null)),
  flag: field(fc.boolean(), fc.constantFrom<unknown>(null, 0)),
  meta: maybe(fc.oneof(fc.record({ a: maybe(number), b: maybe(fc.oneof(goodNumber, number)), c: maybe(number), seen: maybe(fc.constantFrom<unknown>(true, false, null)) }), odd, fc.constant([{ a: 1 }]))),
  info: maybe(fc.oneof(fc.record({ x: maybe(number), y: maybe(number) }), odd, fc.constantFrom<unknown>([{ x: 1 }], [], [{ y: 2 }], { x: { x: 1 } }))),
  qty: maybe(fc.oneof(goodNumber, number, odd)),
  stray: maybe(fc.oneof(number, odd)),
}, { requiredKeys: ['idKind'] }).map((d) => {
  // A document holds the fields of its own version (and, now and then, a stray one of another).
  const v = d.version === undefined || d.version === null ? 1 : Number(String(d.version));
  const keep = (key: string) => v === 1 ? ['name', 'price', 'legacy'].includes(key) : v === 2 ? ['title', 'cents', 'tags'].includes(key) : ['label', 'cents', 'tags', 'flag'].includes(key);
  const own = Object.fromEntries(Object.entries(d).map(([key, value]) => [key, ['name', 'title', 'label', 'price', 'cents', 'legacy', 'tags', 'flag'].includes(key) && !keep(key) && d.idKind !== 6 ? undefined : value]));
  return own as typeof d;
});
type Generated = typeof doc extends fc.Arbitrary<infer T> ? T : never;

/** `_id`s of several BSON types, unique by index. */
function idOf(kindOf: number, index: number): unknown {
  switch (kindOf) {
    case 0: return new Int32(index);
    case 1: return `s${index}`;
    case 2: return Long.fromNumber(1_000_000 + index);
    case 3: return new Double(index + 0.5);
    case 4: return new ObjectId(index.toString(16).padStart(24, '0'));
    case 5: return Decimal128.fromString(`${index}.25`);
    default: return new Binary(Buffer.from([index % 256, index >> 8]));
  }
}

/**
 * Random locally; fixed in CI (MOLT_DIFF_SEED overrides), so that a rare input found here is
 * investigated from its printed seed rather than failing an unrelated change's CI run.
 */
const SEED = process.env.MOLT_DIFF_SEED !== undefined || process.env.CI !== undefined ? { seed: Number(process.env.MOLT_DIFF_SEED ?? 20_261_204) } : {};

function seedOf(docs: Generated[]): Document[] {
  return docs.map(({ idKind, version: stored, ...fields }, index) => {
    const body: Document = { _id: idOf(idKind, index) };
    if (stored !== undefined) body.schemaVersion = stored; // null: a version field holding null
    for (const [key, value] of Object.entries(fields)) if (value !== undefined) body[key] = (key === 'meta' || key === 'info') && typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date) ? Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) : value;
    return body;
  });
}

/** Canonical extended JSON keeps field order and every BSON type (an Int32 4 and a Double 4 differ). */
const show = (value: unknown) => BSON.EJSON.stringify(value as Document, { relaxed: false });

let counter = 0;
async function run(seed: readonly Document[], options: SweepOptions) {
  const name = `c${++counter}`;
  const collection = db.collection(name);
  // Copied through BSON so that each collection gets its own objects.
  await collection.insertMany(seed.map((d) => BSON.deserialize(BSON.serialize(d), { promoteValues: false })));
  const report = await sweep(collection, Item, { ratePerSecond: Infinity, pauseMs: 0, batchSize: 7, failuresCollection: `${name}_failures`, stateCollection: `${name}_state`, ...options });
  const raw = (await collection.find({}, { raw: true }).sort({ _id: 1 }).toArray()) as unknown as Buffer[];
  const stored = raw.map((bytes) => show(BSON.deserialize(bytes, { promoteValues: false })));
  const bytes = raw.map((b) => b.toString('hex'));
  const failures = (await listFailures(collection, { failuresCollection: `${name}_failures` })).map((f) => `${show({ id: f.documentId })} ${f.error.name}`).sort();
  const { status, migrated, skipped, failed, remaining, staleFailures, lossy } = report;
  return { counts: { status, migrated, skipped, failed, remaining, staleFailures }, lossy, serverVersions: report.serverVersions, stored, bytes, failures };
}

function same(actual: Awaited<ReturnType<typeof run>>, expected: Awaited<ReturnType<typeof run>>) {
  expect(actual.stored).toEqual(expected.stored);
  expect(actual.bytes).toEqual(expected.bytes);
  expect(actual.failures).toEqual(expected.failures);
  expect(actual.counts).toEqual(expected.counts);
}

const docs = fc.array(doc, { minLength: 1, maxLength: 25 });
/** Runs whose server sweep migrated documents on the server: a property whose server path never ran proves nothing. */
const onServer = { up: 0, down: 0 };

it.skipIf(!updatePipelines)('server, auto and two server workers store the same bytes, failures and counts as client', async () => {
  await fc.assert(fc.asyncProperty(docs, async (generated) => {
    const seed = seedOf(generated);
    const client = await run(seed, { mode: 'client' });
    const server = await run(seed, { mode: 'server' });
    same(server, client);
    if (server.serverVersions.length > 0) onServer.up++;
    const auto = await run(seed, { mode: 'auto' });
    same(auto, client);
    expect(auto.serverVersions).toEqual(server.serverVersions);
    const workers = await run(seed, { mode: 'server', workers: 2 });
    // Not its serverVersions: one document a server form cannot convert fails its batch's update, and the
    // batch goes to the client path; two workers cut other batches, so other versions may run on the server.
    same(workers, client);
  }), { numRuns: RUNS, ...SEED });
  process.stderr.write(`server sweeps that ran on the server: ${onServer.up} of ${RUNS} runs\n`);
  expect(onServer.up).toBeGreaterThan(0);
}, 600_000);

it.skipIf(!updatePipelines)('a reverse sweep on the server (to 2, allowLoss) stores what the client stores', async () => {
  await fc.assert(fc.asyncProperty(docs, async (generated) => {
    const seed = seedOf(generated);
    const client = await run(seed, { mode: 'client', to: 2, allowLoss: true });
    const server = await run(seed, { mode: 'server', to: 2, allowLoss: true });
    same(server, client);
    if (server.serverVersions.length > 0) onServer.down++;
  }), { numRuns: RUNS, ...SEED });
  process.stderr.write(`reverse server sweeps that ran on the server: ${onServer.down} of ${RUNS} runs\n`);
  expect(onServer.down).toBeGreaterThan(0);
}, 600_000);
