/**
 * A migrated document over the server's limit for one document (hello's maxBsonObjectSize) is a
 * DocumentTooLargeError before any write, on every path: the sweep (recorded, the sweep goes on),
 * the write-back on read (counted, never sent) and the migration before an update (thrown). Sent
 * as is, mongo-java-server closed the connection and every sweep aborted at it.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineSchema, DocumentTooLargeError, listFailures, sweep, SweepStatus, versioned } from '../src/index.js';
import { capabilitiesFrom } from '../src/server/capabilities.js';
import { useTestDatabase } from './support/database.js';

const { db } = useTestDatabase('document_size');
const fast = { ratePerSecond: Infinity, pauseMs: 0 } as const;
const HUGE = 17 * 1024 * 1024;

/** Version 2 adds a blob: 17 MiB for the document named "huge". */
const Doc = defineSchema('doc')
  .version(1, z.object({ _id: z.string(), name: z.string() }))
  .version(2, z.object({ _id: z.string(), name: z.string(), blob: z.string() }), (v1) => ({ ...v1, blob: v1.name === 'huge' ? 'x'.repeat(HUGE) : '' }));

describe('documents over the size limit', () => {
  it("reads the limit off the server's hello", () => {
    expect(capabilitiesFrom({}, { maxBsonObjectSize: 1000 }, 0).maxBsonObjectSize).toBe(1000);
    expect(capabilitiesFrom({}, {}, 0).maxBsonObjectSize).toBe(16 * 1024 * 1024);
  });

  it('a sweep records a DocumentTooLargeError, writes the others and stays usable', async () => {
    const raw = db.collection<{ _id: string; name: string }>('sweep');
    await raw.insertMany([{ _id: 'a', name: 'A' }, { _id: 'b', name: 'huge' }, { _id: 'c', name: 'C' }]);
    const report = await sweep(raw, Doc, fast);
    expect(report).toMatchObject({ status: SweepStatus.COMPLETE, migrated: 2, failed: 1, remaining: 1, staleFailures: 1 });
    const [failure] = await listFailures(raw);
    expect(failure).toMatchObject({ documentId: 'b', error: { name: 'DocumentTooLargeError' } });
    expect(failure?.error.message).toMatch(/over the \d+-byte limit/);
    expect(await raw.findOne({ _id: 'b' })).toEqual({ _id: 'b', name: 'huge' });
    // The next run over it finds it recorded, again without a write.
    expect(await sweep(raw, Doc, fast)).toMatchObject({ status: SweepStatus.COMPLETE, staleFailures: 1 });
  });

  it('a write-back on read is never sent (counted as a write-back error); an update refuses with DocumentTooLargeError', async () => {
    const raw = db.collection<{ _id: string; name: string }>('collection');
    await raw.insertMany([{ _id: 'huge', name: 'huge' }, { _id: 'small', name: 'small' }]);
    const docs = versioned(raw, Doc, { writeBackOnRead: true });
    expect((await docs.findOne({ _id: 'huge' }))?.blob).toHaveLength(HUGE);
    await docs.flush();
    expect(docs.stats.writeBackErrors).toBe(1);
    const update = docs.updateOne({ _id: 'huge' }, { $set: { name: 'still huge' } });
    await expect(update).rejects.toBeInstanceOf(DocumentTooLargeError);
    await expect(update).rejects.toMatchObject({ _id: 'huge', maxSize: 16 * 1024 * 1024 });
    // Nothing was written, and the connection is fine.
    expect(await raw.findOne({ _id: 'huge' })).toEqual({ _id: 'huge', name: 'huge' });
    expect(await docs.updateOne({ _id: 'small' }, { $set: { name: 'tiny' } })).toMatchObject({ matchedCount: 1 });
  });
});
