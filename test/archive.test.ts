import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineSchema, pruneArchive, restore, step, sweep, versioned, type ArchiveEntry } from 'mongo-molt';
import { useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('archive');
const fast = { ratePerSecond: Infinity, pauseMs: 0 } as const;

// A lossy release: version 2 drops `legacy` (and renames), so a reverse sweep could not bring it back.
const Item = defineSchema('item')
  .version(1, z.object({ _id: z.string(), name: z.string(), legacy: z.string() }))
  .version(2, z.object({ _id: z.string(), title: z.string() }), [step.remove('legacy'), step.rename('name', 'title')]);

describe('the archive of originals', () => {
  it('keeps originals before the migration, and restore puts them back, never over a document changed since', async () => {
    const items = db.collection<{ _id: string; [field: string]: unknown }>('items');
    const originals = Array.from({ length: 30 }, (_, i) => ({ _id: `i${String(i).padStart(2, '0')}`, name: `N${i}`, legacy: `kept ${i}`, ...(i % 2 ? { schemaVersion: 1 } : {}) }));
    await items.insertMany(originals.map((doc) => ({ ...doc })));
    const report = await sweep(items, Item, { ...fast, batchSize: 7, archive: true, mode: 'auto' });
    expect(report).toMatchObject({ status: 'complete', migrated: 30, mode: 'client' });
    expect(await items.countDocuments({ legacy: { $exists: true } })).toBe(0);
    const archive = db.collection<ArchiveEntry>('molt_archive');
    expect(await archive.countDocuments({ collection: 'items' })).toBe(30);
    expect((await archive.findOne({ documentId: 'i03' }))?.original).toEqual(originals[3]);

    // The app changes one migrated document; another is deleted.
    await versioned(items, Item).updateOne({ _id: 'i04' }, { $set: { title: 'changed' } });
    await items.deleteOne({ _id: 'i05' });

    expect(await restore(items, { dryRun: true })).toMatchObject({ restored: 28, skipped: 1, missing: 1, dryRun: true });
    expect(await items.countDocuments({ schemaVersion: 2 })).toBe(29);
    const restored = await restore(items);
    expect(restored).toMatchObject({ collection: 'items', restored: 28, skipped: 1, missing: 1, skippedIds: ['i04'] });
    expect(await items.findOne({ _id: 'i03' })).toEqual(originals[3]);
    expect(await items.findOne({ _id: 'i06' })).toEqual(originals[6]);
    expect(await items.findOne({ _id: 'i04' })).toEqual({ _id: 'i04', title: 'changed', schemaVersion: 2 });
    // A second restore finds nothing more to restore: restored entries left the archive; the
    // document changed since is still named, and the deleted one still missing.
    expect(await restore(items)).toMatchObject({ restored: 0, skipped: 1, missing: 1, alreadyRestored: 0, skippedIds: ['i04'] });
    expect(await archive.countDocuments({ collection: 'items' })).toBe(2);
  });

  it('prune deletes expired originals', async () => {
    const archive = db.collection<ArchiveEntry>('pruned_archive');
    const items = db.collection<{ _id: string; [field: string]: unknown }>('pruned');
    await items.insertMany([{ _id: 'a', name: 'A', legacy: 'x' }]);
    await sweep(items, Item, { ...fast, archive: true, archiveCollection: 'pruned_archive', archiveTtlMs: 1000 });
    expect(await pruneArchive(db, { archiveCollection: 'pruned_archive', now: new Date(Date.now() + 500) })).toBe(0);
    expect(await pruneArchive(db, { archiveCollection: 'pruned_archive', now: new Date(Date.now() + 60_000) })).toBe(1);
    expect(await archive.countDocuments({})).toBe(0);
  });
});

describe('archiveOnWriteBack', () => {
  it('keeps the original of every document written back on read; restore brings it back', async () => {
    const items = db.collection<{ _id: string; [field: string]: unknown }>('lazy');
    const originals = [{ _id: 'a', name: 'A', legacy: 'x' }, { _id: 'b', name: 'B', legacy: 'y', schemaVersion: 1 }];
    await items.insertMany(originals.map((doc) => ({ ...doc })));
    const lazy = versioned(items, Item, { writeBackOnRead: true, archiveOnWriteBack: true, archiveCollection: 'lazy_archive' });
    expect(await lazy.find({}).sort({ _id: 1 }).toArray()).toEqual([{ _id: 'a', title: 'A' }, { _id: 'b', title: 'B' }]);
    await lazy.flush();
    expect(await items.countDocuments({ schemaVersion: 2 })).toBe(2);
    expect(await db.collection('lazy_archive').countDocuments({})).toBe(2);
    expect(await restore(items, { archiveCollection: 'lazy_archive' })).toMatchObject({ restored: 2, skipped: 0, missing: 0 });
    expect(await items.find({}).sort({ _id: 1 }).toArray()).toEqual(originals);
  });

  it('needs writeBackOnRead', () => {
    expect(() => versioned(db.collection('lazy'), Item, { archiveOnWriteBack: true })).toThrow(/needs writeBackOnRead/);
  });
});
