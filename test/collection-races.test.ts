import { describe, expect } from 'vitest';
import type { Document } from 'mongodb';
import { versioned, type VersionedCollection } from 'mongo-molt';
import { itWithAtomicUpdates, useTestDatabase } from './support/database.js';
import { User } from './fixtures/user-schema.js';

const t = useTestDatabase('races');

describe('concurrent writers and readers on the same stale documents', () => {
  itWithAtomicUpdates('loses no increment, migrates every document once, and counts lost compare-and-swaps', async () => {
    const raw = t.db.collection('race_users');
    const DOCS = 20;
    const WRITERS = 6;
    const INCREMENTS_PER_WRITER = 10;
    const READERS = 4;
    await raw.insertMany(
      Array.from({ length: DOCS }, (_, index): Document => ({ _id: `r${index}`, full_name: `User ${index}`, logins: 0, schemaVersion: 1 })),
    );
    const ids = Array.from({ length: DOCS }, (_, index) => `r${index}`);

    // Every writer and reader is its own wrapper, as separate app processes would be.
    const writers = Array.from({ length: WRITERS }, () => versioned(raw, User));
    const readers = Array.from({ length: READERS }, () => versioned(raw, User, { writeBackOnRead: true, writeBackBatchSize: 3 }));

    const writing = writers.map(async (users, writer) => {
      for (let round = 0; round < INCREMENTS_PER_WRITER; round++) {
        // Each writer walks the documents in its own order, so writers collide on different ones.
        const order = writer % 2 === 0 ? ids : [...ids].reverse();
        await Promise.all(order.map((_id) => users.updateOne({ _id }, { $inc: { logins: 1 } })));
      }
    });
    const reading = readers.map(async (users) => {
      for (let round = 0; round < 5; round++) {
        const docs = await users.find({}).toArray();
        for (const doc of docs) expect(doc).toHaveProperty('display_name');
      }
    });
    await Promise.all([...writing, ...reading]);
    await Promise.all(readers.map((users) => users.flush()));

    const stored = await raw.find({}).sort({ _id: 1 }).toArray();
    expect(stored).toHaveLength(DOCS);
    for (const doc of stored) {
      expect(doc.schemaVersion).toBe(3);
      expect(doc.logins).toBe(WRITERS * INCREMENTS_PER_WRITER);
      expect(doc.display_name).toMatch(/^User \d+$/);
      expect(doc).not.toHaveProperty('full_name');
    }
    const all: VersionedCollection<Document>[] = [...writers, ...readers] as never;
    const total = (key: 'writtenBack' | 'migratedBeforeUpdate' | 'lostRaces' | 'writeBackErrors') => all.reduce((sum, users) => sum + users.stats[key], 0);
    // Exactly one compare-and-swap wins per document; every other attempt is a counted lost race.
    expect(total('writtenBack') + total('migratedBeforeUpdate')).toBe(DOCS);
    expect(total('writeBackErrors')).toBe(0);
    // Every document a reader upcast was queued once (or found already queued): it was either written back or lost its race.
    for (const users of readers) {
      expect(users.stats.writtenBack + users.stats.lostRaces + users.stats.alreadyQueued).toBe(users.stats.migratedOnRead);
    }
  }, 60_000);
});
