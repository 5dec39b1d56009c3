/**
 * No lost update, exact storage (issue 16): each scenario of the issue, through the public API
 * only. Races are forced where it matters (an async step that waits, at one document, until the
 * test has made its write), so that the assertions hold whatever the timing; the random writers
 * around them only add load, and are checked by invariants (every acknowledged `$inc` is in the
 * stored document), never by how often they raced.
 */
import { BSON, Decimal128, Double, Int32, Long, type Collection, type Document } from 'mongodb';
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { defineSchema, restore, step, sweep, UpdateContentionError, versioned, type SweepOptions } from 'mongo-molt';
import { FIXTURE_CONFIG, runMolt } from './fixtures/run-molt.js';
import { User } from './fixtures/schemas.js';
import { itWithAtomicUpdates, useTestDatabase } from './support/database.js';

const t = useTestDatabase('no_lost_update');
const { updatePipelines, kind } = inject('serverFeatures');
/**
 * A document's BSON, as hex. mongo-java-server keeps the field order of the document a replacement
 * replaces (MongoDB and FerretDB store the replacement as sent): there, fields sorted by name.
 */
const reordersReplacements = kind === 'mongo-java-server';
if (reordersReplacements) process.stderr.write('[no-lost-update] mongo-java-server reorders replaced documents: restored originals compared field by field, not in stored order\n');
function asBytes(doc: Document): string {
  const ordered = reordersReplacements ? Object.fromEntries(Object.entries(doc).sort(([a], [b]) => a.localeCompare(b))) : doc;
  return Buffer.from(BSON.serialize(ordered)).toString('hex');
}
const fast = { ratePerSecond: Infinity, pauseMs: 0 } as const;
let counter = 0;
let name = '';
beforeEach(() => {
  name = `c${++counter}`;
});

/**
 * A gate in a step: the first time the step runs on document `id`, it waits until the test has
 * made its own write (`release`). The read the step works on was made before that write.
 */
class Gate {
  #id: unknown;
  #reached: () => void = () => undefined;
  #release: () => void = () => undefined;
  reached: Promise<void> = Promise.resolve();
  #released: Promise<void> = Promise.resolve();

  /** Arms the gate for `id`. */
  arm(id: unknown): void {
    this.#id = id;
    this.reached = new Promise((resolve) => (this.#reached = resolve));
    this.#released = new Promise((resolve) => (this.#release = resolve));
  }

  /** Lets the waiting step go on. */
  release(): void {
    this.#id = undefined;
    this.#release();
  }

  /** Called by the step: waits at the armed document, once. */
  async pass(id: unknown): Promise<void> {
    if (this.#id === undefined || id !== this.#id) return;
    this.#reached();
    await this.#released;
  }
}

const upGate = new Gate();
const downGate = new Gate();

// A rename with both directions, each an async function that may wait at a gate. `n` is the counter every writer increments.
const Counter = defineSchema('counter')
  .version(1, z.object({ _id: z.string(), full_name: z.string(), n: z.number() }))
  .version(2, z.object({ _id: z.string(), display_name: z.string(), n: z.number() }), {
    up: async ({ full_name, ...rest }) => {
      await upGate.pass(rest._id);
      return { ...rest, display_name: full_name };
    },
    down: async ({ display_name, ...rest }) => {
      await downGate.pass(rest._id);
      return { ...rest, full_name: display_name };
    },
  });

const DOCS = 1_500;
const idOf = (i: number) => `d${String(i).padStart(5, '0')}`;
const GATED = idOf(777);

/** Sum of `n` per document as the read path sees it. */
async function storedCounts(raw: Collection<Document>): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const doc of await raw.find({}).toArray()) {
    const { value } = await Counter.migrate(doc, { validate: 'always' });
    counts.set(value._id, value.n);
  }
  return counts;
}

/** Every acknowledged increment is in the stored document: per document, and nothing deleted. */
async function expectNoLostIncrement(raw: Collection<Document>, acknowledged: Map<string, number>): Promise<void> {
  const stored = await storedCounts(raw);
  expect(stored.size).toBe(DOCS);
  const lost: string[] = [];
  let lostIncrements = 0;
  for (const [id, n] of stored) {
    const want = acknowledged.get(id) ?? 0;
    if (n !== want) {
      lost.push(`${id}: stored ${n}, acknowledged ${want}`);
      lostIncrements += want - n;
    }
  }
  const total = [...acknowledged.values()].reduce((a, b) => a + b, 0);
  expect({ lostIncrements, of: total, documents: lost.slice(0, 5) }).toEqual({ lostIncrements: 0, of: total, documents: [] });
}

/**
 * Four writers doing `$inc: { n: 1 }` through `updateOne` on random documents until `until`
 * settles; counts what was acknowledged. A document that kept being migrated under the update
 * (`UpdateContentionError`) was not incremented, and is not counted.
 */
async function writers(update: (id: string) => Promise<{ matchedCount: number }>, until: Promise<unknown>, acknowledged: Map<string, number>): Promise<void> {
  let done = false;
  void until.finally(() => (done = true));
  let seed = 7;
  const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648);
  const writer = async () => {
    while (!done) {
      const id = idOf(next() % DOCS);
      try {
        const result = await update(id);
        expect(result.matchedCount).toBe(1);
        acknowledged.set(id, (acknowledged.get(id) ?? 0) + 1);
      } catch (error) {
        if (!(error instanceof UpdateContentionError)) throw error;
      }
    }
  };
  await Promise.all([writer(), writer(), writer(), writer()]);
}

async function seedCounters(raw: Collection<Document>, version: 1 | 2): Promise<void> {
  await raw.insertMany(Array.from({ length: DOCS }, (_, i): Document => version === 1
    ? { _id: idOf(i), full_name: `N${i}`, n: 0, ...(i % 2 ? { schemaVersion: 1 } : {}) }
    : { _id: idOf(i), display_name: `N${i}`, n: 0, schemaVersion: 2 }));
}

describe('no acknowledged update is lost', () => {
  itWithAtomicUpdates('a pinned app (writeVersion: 1) racing a forward client-mode sweep, 4 $inc writers on 1,500 documents', async () => {
    const raw = t.db.collection<Document>(name);
    await seedCounters(raw, 1);
    const pinned = versioned(raw, Counter, { writeVersion: 1 });
    const acknowledged = new Map<string, number>();
    upGate.arm(GATED);
    const swept = sweep(raw, Counter, { ...fast, mode: 'client', batchSize: 100 });
    const load = writers((id) => pinned.updateOne({ _id: id }, { $inc: { n: 1 } }), swept, acknowledged);
    // The forced race: the sweep has read the gated document; the pinned app increments it (in
    // place, at version 1, the version the sweep read); then the sweep writes its migration.
    await upGate.reached;
    expect((await pinned.updateOne({ _id: GATED }, { $inc: { n: 1 } })).matchedCount).toBe(1);
    acknowledged.set(GATED, (acknowledged.get(GATED) ?? 0) + 1);
    upGate.release();
    const report = await swept;
    await load;
    expect(report.failed).toBe(0);
    await expectNoLostIncrement(raw, acknowledged);
  }, 60_000);

  itWithAtomicUpdates('an app at the latest version racing a reverse client-mode sweep (to: 1), 4 $inc writers on 1,500 documents', async () => {
    const raw = t.db.collection<Document>(name);
    await seedCounters(raw, 2);
    const latest = versioned(raw, Counter);
    const acknowledged = new Map<string, number>();
    downGate.arm(GATED);
    const swept = sweep(raw, Counter, { ...fast, mode: 'client', batchSize: 100, to: 1 });
    const load = writers((id) => latest.updateOne({ _id: id }, { $inc: { n: 1 } }), swept, acknowledged);
    // The sweep has read the gated document at version 2; the app increments it in place at version 2.
    await downGate.reached;
    expect((await latest.updateOne({ _id: GATED }, { $inc: { n: 1 } })).matchedCount).toBe(1);
    acknowledged.set(GATED, (acknowledged.get(GATED) ?? 0) + 1);
    downGate.release();
    const report = await swept;
    await load;
    expect(report.failed).toBe(0);
    await expectNoLostIncrement(raw, acknowledged);
  }, 60_000);

  itWithAtomicUpdates('write-back on read racing a pinned writer', async () => {
    const raw = t.db.collection<Document>(name);
    await seedCounters(raw, 1);
    const reader = versioned(raw, Counter, { writeBackOnRead: true });
    const pinned = versioned(raw, Counter, { writeVersion: 1 });
    const acknowledged = new Map<string, number>();
    // The forced race: the read has the gated document (at version 1) and is upcasting it; the
    // pinned app increments it; then the read's write-back goes out.
    upGate.arm(GATED);
    const read = reader.findOne({ _id: GATED });
    await upGate.reached;
    expect((await pinned.updateOne({ _id: GATED }, { $inc: { n: 1 } })).matchedCount).toBe(1);
    acknowledged.set(GATED, 1);
    upGate.release();
    expect(await read).toMatchObject({ _id: GATED, n: 0 });
    await reader.flush();

    // Then the same, unforced: readers with write-back over every document while 4 pinned writers run.
    const reads = (async () => {
      for (let i = 0; i < DOCS; i += 100) {
        await reader.find({ _id: { $in: Array.from({ length: 100 }, (_, k) => idOf(i + k)) } }).toArray();
        await reader.flush();
      }
    })();
    await writers((id) => pinned.updateOne({ _id: id }, { $inc: { n: 1 } }), reads, acknowledged);
    await reads;
    await reader.flush();
    expect(reader.stats.writeBackErrors).toBe(0);
    await expectNoLostIncrement(raw, acknowledged);
  }, 60_000);
});

describe('restore never overwrites a later change', () => {
  // Two releases: version 2 renames, version 3 adds a field. The cron job sweeps with archive on each time.
  const V1 = z.object({ _id: z.string(), name: z.string(), n: z.number() });
  const V2 = z.object({ _id: z.string(), title: z.string(), n: z.number() });
  const V3 = z.object({ _id: z.string(), title: z.string(), n: z.number(), tags: z.array(z.string()) });
  const Release2 = defineSchema('item').version(1, V1).version(2, V2, [step.rename('name', 'title')]);
  const Release3 = defineSchema('item').version(1, V1).version(2, V2, [step.rename('name', 'title')]).version(3, V3, [step.add('tags', [])]);
  const originals: Document[] = [
    { _id: 'a', name: 'A', n: 1, schemaVersion: 1 },
    { _id: 'b', name: 'B', n: 2, schemaVersion: 1 },
    { _id: 'c', name: 'C', n: 3, schemaVersion: 1 },
  ];

  it('after two archived migrations with an app change between, restore skips the changed document, names it, and the change survives', async () => {
    const raw = t.db.collection<Document>(name);
    await raw.insertMany(originals.map((doc) => ({ ...doc })));
    expect(await sweep(raw, Release2, { ...fast, mode: 'client', archive: true })).toMatchObject({ status: 'complete', migrated: 3 });
    // The app changes one document between the two migrations.
    expect((await versioned(raw, Release2).updateOne({ _id: 'b' }, { $inc: { n: 40 } })).modifiedCount).toBe(1);
    expect(await sweep(raw, Release3, { ...fast, mode: 'client', archive: true })).toMatchObject({ status: 'complete', migrated: 3 });

    const report = await restore(raw);
    expect(report.skippedIds).toContain('b');
    expect(report.skipped).toBeGreaterThanOrEqual(1);
    // The app's change is still there.
    const b = await raw.findOne({ _id: 'b' as never });
    expect((await Release3.migrate(b as Document)).value).toMatchObject({ _id: 'b', n: 42 });
    // The documents nobody changed are back as they were first stored.
    expect(await raw.findOne({ _id: 'a' as never })).toEqual(originals[0]);
    expect(await raw.findOne({ _id: 'c' as never })).toEqual(originals[2]);
  });

  it('a second restore restores nothing and reports nothing changed', async () => {
    const raw = t.db.collection<Document>(name);
    await raw.insertMany(originals.map((doc) => ({ ...doc })));
    expect(await sweep(raw, Release3, { ...fast, mode: 'client', archive: true })).toMatchObject({ status: 'complete', migrated: 3 });
    expect(await restore(raw)).toMatchObject({ restored: 3, skipped: 0, missing: 0 });
    expect(await raw.find({}).sort({ _id: 1 }).toArray()).toEqual(originals);
    expect(await restore(raw)).toMatchObject({ restored: 0, skipped: 0, missing: 0, skippedIds: [] });
    expect(await raw.find({}).sort({ _id: 1 }).toArray()).toEqual(originals);
  });

  it('molt restore run twice: the second restores nothing, reports nothing skipped, and exits 0', async () => {
    const env = { MONGODB_URI: t.uri, MOLT_TEST_DB: t.db.databaseName };
    const users = t.db.collection<Document>('users');
    await users.insertMany([{ _id: 'r1', full_name: 'Ada' }, { _id: 'r2', full_name: 'Bob', schemaVersion: 1 }] as Document[]);
    expect(await sweep(users, User, { ...fast, archive: true })).toMatchObject({ status: 'complete', migrated: 2 });
    const first = await runMolt(['restore', 'users', '--config', FIXTURE_CONFIG, '--json'], { env });
    expect({ code: first.code, report: JSON.parse(first.stdout) as unknown }).toMatchObject({ code: 0, report: [{ restored: 2, skipped: 0, missing: 0 }] });
    const second = await runMolt(['restore', 'users', '--config', FIXTURE_CONFIG, '--json'], { env });
    expect({ code: second.code, report: JSON.parse(second.stdout) as unknown }).toMatchObject({ code: 0, report: [{ restored: 0, skipped: 0, missing: 0 }] });
    expect(await users.find({}).sort({ _id: 1 }).toArray()).toEqual([{ _id: 'r1', full_name: 'Ada' }, { _id: 'r2', full_name: 'Bob', schemaVersion: 1 }]);
  }, 60_000);
});

describe('stored bytes change only where a step changes them', () => {
  // Fields no step touches, in BSON types the driver would not give back on a plain read.
  const untouched = () => ({
    d: new Double(5),
    l: Long.fromNumber(5),
    big: Long.fromNumber(3e9),
    int32: new Int32(7),
    negZero: new Double(-0),
    nested: { d: new Double(5), l: Long.fromNumber(5), deeper: { big: Long.fromNumber(3e9) } },
    arr: [new Double(5), Long.fromNumber(5), Long.fromNumber(3e9), new Int32(1)],
    dec: Decimal128.fromString('5.0'),
  });
  const Untouched = {
    d: z.number(), l: z.number(), big: z.number(), int32: z.number(), negZero: z.number(),
    nested: z.object({ d: z.number(), l: z.number(), deeper: z.object({ big: z.number() }) }),
    arr: z.array(z.number()),
    dec: z.unknown(),
  };
  const UV1 = z.object({ _id: z.string(), name: z.string(), n: z.number(), ...Untouched });
  const UV2 = z.object({ _id: z.string(), title: z.string(), n: z.number(), ...Untouched });
  const schemas = {
    declarative: defineSchema('bytes').version(1, UV1).version(2, UV2, [step.rename('name', 'title')]),
    function: defineSchema('bytes').version(1, UV1).version(2, UV2, {
      up: ({ name: title, ...rest }) => ({ ...rest, title }),
      down: ({ title, ...rest }) => ({ ...rest, name: title }),
    }),
  };
  const FIELDS = Object.keys(untouched());
  const v1Doc = (id: string): Document => ({ _id: id, name: 'N', n: new Int32(0), ...untouched(), schemaVersion: 1 });
  const v2Doc = (id: string): Document => ({ _id: id, title: 'N', n: new Int32(0), ...untouched(), schemaVersion: 2 });
  const bytes = (value: unknown) => Buffer.from(BSON.serialize({ value })).toString('hex');

  /** Each untouched field of the stored document, as BSON, against what was inserted. */
  async function expectUntouched(raw: Collection<Document>, id: string, expectedVersion: number): Promise<void> {
    const stored = await raw.findOne({ _id: id as never }, { promoteValues: false });
    expect(stored).not.toBeNull();
    const stamped = (stored as Document).schemaVersion as unknown;
    expect(Number(stamped)).toBe(expectedVersion);
    const want = untouched() as Record<string, unknown>;
    const changed = FIELDS.filter((field) => bytes((stored as Document)[field]) !== bytes(want[field]));
    expect(changed.map((field) => `${field}: ${BSON.EJSON.stringify((stored as Document)[field], { relaxed: false })} instead of ${BSON.EJSON.stringify(want[field], { relaxed: false })}`)).toEqual([]);
  }

  for (const [kindOfStep, Bytes] of Object.entries(schemas)) {
    describe(`through a ${kindOfStep} step`, () => {
      it('a client-mode sweep', async () => {
        const raw = t.db.collection<Document>(name);
        await raw.insertOne(v1Doc('x'));
        expect(await sweep(raw, Bytes, { ...fast, mode: 'client' })).toMatchObject({ status: 'complete', migrated: 1 });
        await expectUntouched(raw, 'x', 2);
      });

      it('a write-back on read', async () => {
        const raw = t.db.collection<Document>(name);
        await raw.insertOne(v1Doc('x'));
        const reader = versioned(raw, Bytes, { writeBackOnRead: true });
        expect(await reader.findOne({ _id: 'x' })).toMatchObject({ title: 'N', d: 5, big: 3e9 });
        await reader.flush();
        expect(reader.stats.writtenBack).toBe(1);
        await expectUntouched(raw, 'x', 2);
      });

      it('a migration before an update', async () => {
        const raw = t.db.collection<Document>(name);
        await raw.insertOne(v1Doc('x'));
        expect((await versioned(raw, Bytes).updateOne({ _id: 'x' }, { $inc: { n: 1 } })).modifiedCount).toBe(1);
        await expectUntouched(raw, 'x', 2);
      });

      it('a pinned update that converts a newer document down', async () => {
        const raw = t.db.collection<Document>(name);
        await raw.insertOne(v2Doc('x'));
        expect((await versioned(raw, Bytes, { writeVersion: 1 }).updateOne({ _id: 'x' }, { $inc: { n: 1 } })).modifiedCount).toBe(1);
        await expectUntouched(raw, 'x', 1);
      });

      it('a reverse client-mode sweep', async () => {
        const raw = t.db.collection<Document>(name);
        await raw.insertOne(v2Doc('x'));
        expect(await sweep(raw, Bytes, { ...fast, mode: 'client', to: 1 })).toMatchObject({ status: 'complete', migrated: 1 });
        await expectUntouched(raw, 'x', 1);
      });

      it('restore puts back the archived original byte for byte (after a sweep and after a write-back)', async () => {
        const raw = t.db.collection<Document>(name);
        const originals = [v1Doc('x'), { ...v1Doc('y'), stray: new Double(2), strayLong: Long.fromNumber(9) }];
        await raw.insertMany(originals.map((doc) => ({ ...doc })));
        expect(await sweep(raw, Bytes, { ...fast, mode: 'client', archive: true, batchSize: 1, maxDurationMs: 60_000 })).toMatchObject({ status: 'complete', migrated: 2 });
        expect(await restore(raw)).toMatchObject({ restored: 2, skipped: 0 });
        for (const original of originals) {
          const stored = await raw.findOne({ _id: original._id as never }, { promoteValues: false });
          expect(asBytes(stored as Document)).toBe(asBytes(original));
        }
        const lazy = versioned(raw, Bytes, { writeBackOnRead: true, archiveOnWriteBack: true });
        await lazy.find({}).toArray();
        await lazy.flush();
        expect(await raw.countDocuments({ schemaVersion: 2 })).toBe(2);
        expect(await restore(raw)).toMatchObject({ restored: 2, skipped: 0 });
        for (const original of originals) {
          const stored = await raw.findOne({ _id: original._id as never }, { promoteValues: false });
          expect(asBytes(stored as Document)).toBe(asBytes(original));
        }
      });
    });
  }

  if (!updatePipelines) process.stderr.write(`[skipped] "a server-mode sweep stores the same bytes as a client-mode sweep": ${kind} has no update pipelines\n`);
  it.skipIf(!updatePipelines)('a server-mode sweep keeps them too, and stores the same document as a client-mode sweep', async () => {
    const client = t.db.collection<Document>(`${name}_client`);
    const server = t.db.collection<Document>(`${name}_server`);
    await client.insertOne(v1Doc('x'));
    await server.insertOne(v1Doc('x'));
    expect(await sweep(client, schemas.declarative, { ...fast, mode: 'client' })).toMatchObject({ status: 'complete', migrated: 1 });
    expect(await sweep(server, schemas.declarative, { ...fast, mode: 'server' })).toMatchObject({ status: 'complete', migrated: 1, mode: 'server' });
    await expectUntouched(server, 'x', 2);
    await expectUntouched(client, 'x', 2);
    const [a, b] = await Promise.all([client, server].map((c) => c.findOne({ _id: 'x' as never }, { promoteValues: false })));
    const fields = (doc: Document | null | undefined) => Object.fromEntries(Object.entries(doc ?? {}).map(([key, value]) => [key, bytes(value)]));
    expect(fields(a)).toEqual(fields(b));
  });
});

describe('a function step that edits its input in place', () => {
  // The step multiplies in place: a step run twice on one document, or on the compare-and-swap's own copy, shows.
  const MoneyV2 = z.object({ _id: z.string(), total: z.object({ amount: z.number() }), unit: z.literal('cents'), n: z.number() });
  const Money = defineSchema('money')
    .version(1, z.object({ _id: z.string(), total: z.object({ amount: z.number() }), n: z.number() }))
    .version(2, MoneyV2, {
      up: (v1) => {
        v1.total.amount *= 100;
        return { ...v1, unit: 'cents' as const };
      },
      down: ({ unit: _unit, ...v2 }) => ({ ...v2, total: { amount: v2.total.amount / 100 } }),
    })
    .version(3, MoneyV2.extend({ note: z.string().nullable() }), [step.add('note', null)]);
  const stored: Document = { _id: 'm', total: { amount: 5 }, n: 0, schemaVersion: 1 };
  const amountRead = async (raw: Collection<Document>) => {
    const doc = await raw.findOne({ _id: 'm' as never });
    return { stored: doc, latest: ((await Money.migrate(doc as Document, { validate: 'always' })).value as { total: { amount: number } }).total.amount };
  };

  for (const writeVersion of [1, 2] as const) {
    it(`a pinned app (writeVersion: ${writeVersion}) with write-back reads 500, and stores it once converted`, async () => {
      const raw = t.db.collection<Document>(name);
      await raw.insertOne({ ...stored });
      const pinned = versioned(raw, Money, { writeVersion, writeBackOnRead: true });
      expect(await pinned.findOne({ _id: 'm' })).toMatchObject({ total: { amount: 500 } });
      await pinned.flush();
      expect(await pinned.findOne({ _id: 'm' })).toMatchObject({ total: { amount: 500 } });
      await pinned.flush();
      expect(await amountRead(raw)).toMatchObject({ latest: 500, stored: { total: { amount: writeVersion === 1 ? 5 : 500 }, schemaVersion: writeVersion } });
      expect((await pinned.updateOne({ _id: 'm' }, { $inc: { n: 1 } })).modifiedCount).toBe(1);
      expect(await amountRead(raw)).toMatchObject({ latest: 500, stored: { n: 1, schemaVersion: writeVersion } });
    });
  }

  it('a write-back and an update at the latest version store 500', async () => {
    const raw = t.db.collection<Document>(name);
    await raw.insertMany([{ ...stored }, { ...stored, _id: 'u' } as Document]);
    const latest = versioned(raw, Money, { writeBackOnRead: true });
    expect(await latest.findOne({ _id: 'm' })).toMatchObject({ total: { amount: 500 } });
    await latest.flush();
    expect(await amountRead(raw)).toMatchObject({ latest: 500, stored: { total: { amount: 500 }, schemaVersion: 3 } });
    expect((await latest.updateOne({ _id: 'u' }, { $inc: { n: 1 } })).modifiedCount).toBe(1);
    expect(await raw.findOne({ _id: 'u' as never })).toMatchObject({ total: { amount: 500 }, n: 1, schemaVersion: 3 });
  });

  for (const compareOn of ['document'] as const) {
    it(`a client-mode sweep with compareOn '${compareOn}' migrates it once (500), and reports complete only when it did`, async () => {
      const raw = t.db.collection<Document>(name);
      await raw.insertOne({ ...stored });
      const options: SweepOptions = { ...fast, mode: 'client', compareOn };
      const first = await sweep(raw, Money, options);
      expect(first).toMatchObject({ status: 'complete', migrated: 1, skipped: 0, remaining: 0 });
      expect(await amountRead(raw)).toMatchObject({ latest: 500, stored: { total: { amount: 500 }, schemaVersion: 3 } });
    });
  }

  it('archived by a sweep, restore puts back 5', async () => {
    const raw = t.db.collection<Document>(name);
    await raw.insertOne({ ...stored });
    expect(await sweep(raw, Money, { ...fast, mode: 'client', archive: true })).toMatchObject({ status: 'complete', migrated: 1 });
    expect(await restore(raw)).toMatchObject({ restored: 1, skipped: 0 });
    expect(await raw.findOne({ _id: 'm' as never })).toEqual(stored);
  });

  it('a reverse sweep of a stored version 3 gives 5 at version 1', async () => {
    const raw = t.db.collection<Document>(name);
    await raw.insertOne({ _id: 'm', total: { amount: 500 }, unit: 'cents', n: 0, note: null, schemaVersion: 3 } as Document);
    expect(await sweep(raw, Money, { ...fast, mode: 'client', to: 1, compareOn: 'document' })).toMatchObject({ status: 'complete', migrated: 1 });
    expect(await raw.findOne({ _id: 'm' as never })).toEqual(stored);
  });
});
