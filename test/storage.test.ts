import { MongoClient, type Collection, type CommandStartedEvent, type Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineSchema } from 'mongo-molt';
import { resolveOptions } from '../src/collection/options.js';
import { StaleMatchMigrator } from '../src/collection/stale-matches.js';
import { createStats } from '../src/collection/write-back.js';
import { migrationTarget } from '../src/migrate/index.js';
import { definitionOf } from '../src/schema/definition.js';
import { capabilitiesFrom, serverCapabilities, type ServerCapabilities } from '../src/server/index.js';
import { BulkWriter, readState, snapshotOfStored, storedWrite } from '../src/storage/index.js';
import { useTestDatabase } from './support/database.js';

const t = useTestDatabase('storage');
interface Raw { _id: string; [field: string]: unknown }

const Item = defineSchema('item')
  .version(1, z.object({ _id: z.string(), name: z.string() }))
  .version(2, z.object({ _id: z.string(), name: z.string(), label: z.string() }), (v1) => ({ ...v1, label: v1.name.toLowerCase() }));
const definition = definitionOf(Item);
const target = migrationTarget(definition, 2, 'up');

describe('the bulk writer', () => {
  const updates: CommandStartedEvent[] = [];
  const client = new MongoClient(t.uri, { monitorCommands: true });
  client.on('commandStarted', (event) => {
    if (event.commandName === 'update') updates.push(event);
  });
  beforeAll(() => client.connect());
  afterAll(() => client.close());

  it("splits writes into bulks of the server's limit and reports per-document failures", async () => {
    const collection = client.db(t.db.databaseName).collection<Raw>('bulks');
    await collection.createIndex({ label: 1 }, { unique: true, sparse: true });
    await collection.insertMany(['A', 'B', 'C', 'D', 'b'].map((name, index) => ({ _id: `i${index}`, name, schemaVersion: 1 })));
    const small: ServerCapabilities = { ...(await serverCapabilities(t.db)), maxBulkStatements: 2 };
    const writer = new BulkWriter(collection as unknown as Collection<Document>, { capabilities: () => Promise.resolve(small) });
    const raws = await collection.find().sort({ _id: 1 }).toArray();
    const writes = raws.map((raw) => storedWrite(readState(snapshotOfStored(raw), target), { ...raw, label: String(raw.name).toLowerCase() }, target));
    updates.length = 0;
    const outcome = await writer.write(writes);
    expect(updates.length).toBeGreaterThanOrEqual(3); // 5 writes in bulks of at most 2
    expect(updates.every((event) => (event.command.updates as unknown[]).length <= 2)).toBe(true);
    expect(outcome.matched).toBe(4);
    expect(outcome.failures.map((failure) => failure.write.id)).toEqual(['i4']); // "b" collides with "B" on the unique label
  });
});

describe('update-time migration', () => {
  it('returns every document it found stale, also those whose race another writer won', async () => {
    const raw = t.db.collection<Raw>('late_rounds');
    await raw.insertMany([{ _id: 'a', name: 'A', schemaVersion: 1 }, { _id: 'b', name: 'B', schemaVersion: 1 }]);
    // While "a" is being migrated here, another writer stores it at version 2 first: this call loses the race for it.
    const Racing = defineSchema('item')
      .version(1, z.object({ _id: z.string(), name: z.string() }))
      .version(2, z.object({ _id: z.string(), name: z.string(), label: z.string() }), async (v1) => {
        if (v1._id === 'a') await raw.replaceOne({ _id: 'a' }, { name: 'A', label: 'other writer', schemaVersion: 2 });
        return { ...v1, label: v1.name.toLowerCase() };
      });
    const racing = definitionOf(Racing);
    const stats = createStats();
    const writer = new BulkWriter(raw as unknown as Collection<Document>, { capabilities: () => serverCapabilities(t.db) });
    const migrator = new StaleMatchMigrator(raw as unknown as Collection<Document>, racing, resolveOptions(racing, {}), stats, writer);
    const { found, ids } = await migrator.migrate({}, {});
    expect(found).toBe(2);
    expect([...ids].sort()).toEqual(['a', 'b']); // "a" is at the write version: the caller's update must reach it
    expect(stats).toMatchObject({ migratedBeforeUpdate: 1, lostRaces: 1 });
    expect(await raw.findOne({ _id: 'a' })).toMatchObject({ label: 'other writer' });
  });
});

describe('server capabilities', () => {
  it('are read off buildInfo and hello: the stale index is unique only on mongo-java-server', () => {
    const now = Date.now();
    const java = capabilitiesFrom({ version: '4.4.0' }, { maxWriteBatchSize: 100_000, localTime: new Date(now + 5000) }, now);
    expect(java).toMatchObject({ kind: 'mongo-java-server', uniqueStaleIndex: true, updatePipelines: false, bucketAuto: false, maxBulkStatements: 100_000 });
    expect(java.clockOffsetMs).toBe(5000);
    const mongod = capabilitiesFrom({ version: '8.0.4', gitVersion: 'abc' }, { maxWriteBatchSize: 100_000, logicalSessionTimeoutMinutes: 30, setName: 'rs0' }, now);
    expect(mongod).toMatchObject({ kind: 'mongod', uniqueStaleIndex: false, updatePipelines: true, sessions: true, transactions: true, atomicUpdates: true });
    const ferret2 = capabilitiesFrom({ version: '7.0.77', ferretdbVersion: 'v2.5.0' }, { maxWriteBatchSize: 100_000, logicalSessionTimeoutMinutes: 30 }, now);
    expect(ferret2).toMatchObject({ kind: 'ferretdb', uniqueStaleIndex: false, updatePipelines: true, atomicUpdates: true, transactions: false, maxBulkStatements: 100_000 });
    const ferret1 = capabilitiesFrom({ version: '7.0.42', ferretdbVersion: 'v1.24.0' }, { maxWriteBatchSize: 100_000 }, now);
    expect(ferret1).toMatchObject({ atomicUpdates: false, updatePipelines: false, maxBulkStatements: 64 });
  });

  it('are detected once per client', async () => {
    const first = serverCapabilities(t.db);
    expect(serverCapabilities(t.client.db('another'))).toBe(first);
    expect((await first).kind).toBe(t.features.kind);
  });
});
