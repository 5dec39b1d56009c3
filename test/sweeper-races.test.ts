import { expect } from 'vitest';
import { sweep, versioned } from 'mongo-molt';
import { mixedUsers, User, type RawUser } from './fixtures/schemas.js';
import { itWithAtomicUpdates, useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('sweeper_races');

const DOCUMENTS = 300;
const WRITERS = 4;
const UPDATES_PER_WRITER = 60;

/** A small deterministic generator, so a failure replays the same interleaving of targets. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

itWithAtomicUpdates('app writers through the wrapper during a sweep lose no update', async () => {
  const raw = db.collection<RawUser>('users');
  await raw.insertMany(mixedUsers(DOCUMENTS));
  const users = versioned(raw, User);
  const ids = (await raw.find({}, { projection: { _id: 1 } }).toArray()).map((doc) => doc._id);

  const written = new Map<string, string[]>();
  const writer = async (index: number): Promise<void> => {
    const random = lcg(index + 1);
    for (let update = 0; update < UPDATES_PER_WRITER; update++) {
      const id = ids[Math.floor(random() * ids.length)] as string;
      const tag = `w${index}-${update}`;
      const result = await users.updateOne({ _id: id }, { $push: { tags: tag } });
      expect(result.matchedCount).toBe(1);
      written.set(id, [...(written.get(id) ?? []), tag]);
    }
  };

  const [report] = await Promise.all([
    sweep(raw, User, { batchSize: 10, ratePerSecond: Infinity, pauseMs: 1 }),
    ...Array.from({ length: WRITERS }, (_, index) => writer(index)),
  ]);

  expect(report.status).toBe('complete');
  expect(report.failed).toBe(0);
  expect(report.migrated + report.skipped).toBe(report.scanned);
  const documents = await raw.find().toArray();
  expect(documents).toHaveLength(DOCUMENTS);
  let tags = 0;
  for (const doc of documents) {
    expect(doc.schemaVersion).toBe(3);
    expect(User.schema.safeParse(doc).success).toBe(true);
    const expected = written.get(doc._id) ?? [];
    expect([...(doc.tags as string[])].sort()).toEqual([...expected].sort()); // every update is there, once
    tags += (doc.tags as string[]).length;
  }
  expect(tags).toBe(WRITERS * UPDATES_PER_WRITER);
}, 60_000);
