import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineSchema, versioned } from 'mongo-molt';
import { useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('shadow');

const V1 = z.object({ _id: z.string(), name: z.string() });
const V2 = z.object({ _id: z.string(), name: z.string(), tags: z.array(z.string()) });
const V3 = z.object({ _id: z.string(), first: z.string(), last: z.string().min(1) });
// This release: versions 1 and 2.
const Current = defineSchema('person').version(1, V1).version(2, V2, (v1) => ({ ...v1, tags: [] }));
// The next release, with a broken v3: it throws on one-word names and its down drops the tags.
const Next = Current.version(3, V3, {
  up: ({ _id, name }) => {
    const [first, ...rest] = name.split(' ');
    if (first === 'Crash') throw new Error('cannot split');
    return { _id, first: first ?? '', last: rest.join(' ') };
  },
  down: ({ _id, first, last }) => ({ _id, name: `${first} ${last}`, tags: [] }),
});

describe('shadow reads', () => {
  it('rehearse the next release on every read, count passed, failed and lossy, and never touch the reads or the store', async () => {
    const people = db.collection<Record<string, unknown> & { _id: string }>('people');
    await people.insertMany([
      { _id: 'a', name: 'Ada Lovelace', tags: ['x'], schemaVersion: 2 },   // migrates, but down drops the tags: lossy
      { _id: 'd', name: 'Grace Hopper', tags: [], schemaVersion: 2 },      // migrates and comes back unchanged
      { _id: 'b', name: 'Plato', schemaVersion: 1 },                         // v3 validation fails (last is empty)
      { _id: 'c', name: 'Crash Test', tags: ['x'], schemaVersion: 2 },       // the upcaster throws
    ]);
    const before = await people.find({}).sort({ _id: 1 }).toArray();
    const logs: unknown[] = [];
    const logger = { info: (o: unknown) => logs.push(o), warn: (o: unknown) => logs.push(o), error: () => undefined, debug: () => undefined, isLevelEnabled: () => false, child: () => logger } as never;
    const live = versioned(people, Current, { shadow: Next, logger });
    const read = await live.find({}).sort({ _id: 1 }).toArray();
    expect(read.map((doc) => doc._id)).toEqual(['a', 'b', 'c', 'd']);
    await live.flush();
    expect(live.stats.shadow).toEqual({ passed: 1, failed: 2, lossy: 1, dropped: 0 });
    expect(await people.find({}).sort({ _id: 1 }).toArray()).toEqual(before);
    expect(JSON.stringify(logs)).not.toContain('Lovelace');
    expect(logs).toContainEqual(expect.objectContaining({ _id: 'c' }));
  });

  it('sample at shadowRate, and drop (counting) when the queue is full', async () => {
    const people = db.collection<Record<string, unknown> & { _id: string }>('many');
    await people.insertMany(Array.from({ length: 200 }, (_, i) => ({ _id: `p${i}`, name: `P ${i}`, tags: [], schemaVersion: 2 })));
    const none = versioned(people, Current, { shadow: Next, shadowRate: 0 });
    await none.find({}).toArray();
    await none.flush();
    expect(none.stats.shadow).toEqual({ passed: 0, failed: 0, lossy: 0, dropped: 0 });
    const small = versioned(people, Current, { shadow: Next, shadowQueueSize: 10 });
    await small.find({}).toArray();
    await small.flush();
    const { passed, failed, lossy, dropped } = small.stats.shadow ?? { passed: 0, failed: 0, lossy: 0, dropped: 0 };
    expect(passed + failed + lossy + dropped).toBe(200);
    expect(dropped).toBeGreaterThan(0);
  });
});
