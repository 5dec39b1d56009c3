import { expect, it } from 'vitest';
import type { Document } from 'mongodb';
import { createStats, WriteBackQueue } from '../src/collection/write-back.js';
import { serverCapabilities } from '../src/server/index.js';
import { BulkWriter, snapshotOfStored } from '../src/storage/index.js';
import { useTestDatabase } from './support/database.js';

const t = useTestDatabase('write_back_counts');

it('a stale document read twice before its write-back is written back once, with no lost race counted', async () => {
  const raw = t.db.collection<Document>('users');
  await raw.insertOne({ _id: 'u1', full_name: 'Ada', schemaVersion: 1 } as Document);
  const stats = createStats();
  const queue = new WriteBackQueue(new BulkWriter(raw, { capabilities: () => serverCapabilities(t.db) }), 64, undefined, stats);
  const read = { _id: 'u1', full_name: 'Ada', schemaVersion: 1 } as Document;
  const write = () => ({ id: 'u1', snapshot: snapshotOfStored(read), replacement: { _id: 'u1', display_name: 'Ada', email: null, tags: [], schemaVersion: 3 }, fromVersion: 1 });
  // Two reads of the same stored version in one process queue the same compare-and-swap.
  queue.enqueue(write());
  queue.enqueue(write());
  await queue.flush();
  expect(stats).toMatchObject({ writtenBack: 1, lostRaces: 0, alreadyQueued: 1 });
  expect(await raw.findOne({ _id: 'u1' as never })).toMatchObject({ display_name: 'Ada', schemaVersion: 3 });

  // Once the first write is answered, a read of a document that is stale again is a new write.
  await raw.replaceOne({ _id: 'u1' as never }, read);
  queue.enqueue(write());
  await queue.flush();
  expect(stats).toMatchObject({ writtenBack: 2, lostRaces: 0, alreadyQueued: 1 });
});
