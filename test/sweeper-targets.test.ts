import { beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Collection } from 'mongodb';
import { defineSchema, migrationStatus, step, sweep, verifyVersion } from 'mongo-molt';
import { useTestDatabase } from './support/database.js';

const t = useTestDatabase('sweeper_targets');
const fast = { ratePerSecond: Infinity, pauseMs: 0 } as const;
interface Raw { _id: string; [field: string]: unknown }
let raw: Collection<Raw>;
let counter = 0;

beforeEach(() => {
  raw = t.db.collection<Raw>(`items_${++counter}`);
});

const ItemV1 = z.object({ _id: z.string(), name: z.string(), n: z.number() });

describe('documents without a version field, at the target version', () => {
  it('are stamped by the sweep, after which status counts none stale', async () => {
    await raw.insertMany([{ _id: 'a', name: 'A', n: 0 }, { _id: 'b', name: 'B', n: 0, schemaVersion: 1 }]);
    const Item = defineSchema('item').version(1, ItemV1);
    expect((await migrationStatus(raw, Item)).stale).toBe(1);
    const report = await sweep(raw, Item, fast);
    expect(report).toMatchObject({ status: 'complete', scanned: 1, migrated: 1, skipped: 0, remaining: 0 });
    expect(await raw.findOne({ _id: 'a' })).toEqual({ _id: 'a', name: 'A', n: 0, schemaVersion: 1 });
    expect((await migrationStatus(raw, Item)).stale).toBe(0);
    expect((await verifyVersion(raw, Item, 1)).ok).toBe(true);
  });

  it('after retiring old versions with { unversioned: 3 }', async () => {
    await raw.insertMany([{ _id: 'a', name: 'A', n: 0 }, { _id: 'b', name: 'B', n: 0, schemaVersion: 3 }]);
    const Retired = defineSchema('item', { unversioned: 3 }).version(3, ItemV1);
    const report = await sweep(raw, Retired, fast);
    expect(report).toMatchObject({ status: 'complete', migrated: 1, remaining: 0 });
    expect(await raw.countDocuments({ schemaVersion: 3 })).toBe(2);
  });
});

describe('compareOn in the sweeper', () => {
  it("with compareOn: 'document', a sweep never overwrites a document changed in place since it was read", async () => {
    await raw.insertMany([{ _id: 'a', name: 'A', n: 0, schemaVersion: 1 }, { _id: 'b', name: 'B', n: 0, schemaVersion: 1 }]);
    // The upcaster of "a" is where another writer (code that does not bump versions) changes "a" in place.
    const Item = defineSchema('item')
      .version(1, ItemV1)
      .version(2, ItemV1.extend({ label: z.string() }), async (v1) => {
        if (v1._id === 'a') await raw.updateOne({ _id: 'a' }, { $set: { n: 42 } });
        return { ...v1, label: v1.name.toLowerCase() };
      });
    const report = await sweep(raw, Item, { ...fast, compareOn: 'document' });
    // The first write of "a" lost its race: "a" was read again, with the change, and migrated in the same pass.
    expect(report).toMatchObject({ status: 'complete', scanned: 2, migrated: 2, skipped: 0, remaining: 0 });
    expect(await raw.findOne({ _id: 'a' })).toEqual({ _id: 'a', name: 'A', n: 42, label: 'a', schemaVersion: 2 });
    expect(await raw.findOne({ _id: 'b' })).toEqual({ _id: 'b', name: 'B', n: 0, label: 'b', schemaVersion: 2 });
  });
});

describe('a checkpoint belongs to its target', () => {
  const Person = defineSchema('person')
    .version(1, z.object({ _id: z.string(), full_name: z.string() }))
    .version(2, z.object({ _id: z.string(), display_name: z.string(), email: z.string().nullable() }), [step.rename('full_name', 'display_name'), step.add('email', null)]);

  it('a forward pass interrupted, then a reverse sweep that moves documents behind it: the next forward run starts a new pass and completes', async () => {
    await raw.insertMany(Array.from({ length: 400 }, (_, i): Raw => ({ _id: `p${String(i).padStart(3, '0')}`, full_name: `P${i}` })));
    const stop = new AbortController();
    let batches = 0;
    const interrupted = await sweep(raw, Person, { ...fast, batchSize: 50, mode: 'client', signal: stop.signal, onProgress: () => (++batches === 3 ? stop.abort() : undefined) });
    expect(interrupted.status).toBe('partial');
    expect(interrupted.migrated).toBeGreaterThan(0);
    const down = await sweep(raw, Person, { ...fast, batchSize: 50, mode: 'client', to: 1 });
    expect(down).toMatchObject({ status: 'complete', remaining: 0 });
    const forward = await sweep(raw, Person, { ...fast, batchSize: 50, mode: 'client', to: Person.latest }); // the sweep down pinned v1: name the latest to go forward
    expect(forward).toMatchObject({ status: 'complete', migrated: 400, remaining: 0, pass: down.pass + 1 });
    expect(await raw.countDocuments({ schemaVersion: 2 })).toBe(400);
  });
});
