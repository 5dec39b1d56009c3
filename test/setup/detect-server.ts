import { MongoClient } from 'mongodb';

/** What the test suite needs to know about the server it runs against. */
export interface ServerFeatures {
  /** `ferretdb` is FerretDB 2 on PostgreSQL with DocumentDB; `ferretdb1` the superseded 1.x on SQLite. */
  readonly kind: 'mongod' | 'mongo-java-server' | 'ferretdb' | 'ferretdb1';
  /** Update commands accept an aggregation pipeline (`updateOne(filter, [ … ])`). */
  readonly pipelineUpdates: boolean;
  /** Single-document updates evaluate the filter and write atomically (compare-and-swap holds). */
  readonly atomicUpdates: boolean;
  readonly sessions: boolean;
  readonly transactions: boolean;
}

/** Asks the server what it is: FerretDB and mongo-java-server answer buildInfo differently from mongod. */
export async function detectServer(uri: string): Promise<ServerFeatures> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    await client.connect();
    const admin = client.db('admin');
    const buildInfo = await admin.command({ buildInfo: 1 });
    const hello = await admin.command({ isMaster: 1 });
    // FerretDB 1.x says `ferretdbVersion`, FerretDB 2 a `ferretdb` document; only mongod has a real gitVersion.
    const kind: ServerFeatures['kind'] = 'ferretdbVersion' in buildInfo ? 'ferretdb1'
      : 'ferretdb' in buildInfo ? 'ferretdb'
        : 'gitVersion' in buildInfo ? 'mongod' : 'mongo-java-server';
    const sessions = typeof hello.logicalSessionTimeoutMinutes === 'number' && kind !== 'ferretdb1';
    return {
      kind,
      atomicUpdates: kind !== 'ferretdb1',
      pipelineUpdates: await acceptsPipelineUpdates(client),
      sessions,
      // FerretDB 2 answers hello like a standalone and has no transactions; a replica set's mongod has them.
      transactions: sessions && kind === 'mongod' && typeof hello.setName === 'string',
    };
  } finally {
    await client.close();
  }
}

/** Tries a pipeline update on a scratch collection: detected, not assumed from the server's name. */
async function acceptsPipelineUpdates(client: MongoClient): Promise<boolean> {
  const collection = client.db('molt_detect').collection<{ _id: number; a?: number; b?: number }>('pipeline');
  try {
    await collection.insertOne({ _id: 1, a: 1 });
    await collection.updateOne({ _id: 1 }, [{ $set: { b: '$a' } }]);
    return (await collection.findOne({ _id: 1 }))?.b === 1;
  } catch {
    return false;
  } finally {
    await client.db('molt_detect').dropDatabase().catch(() => undefined);
  }
}
