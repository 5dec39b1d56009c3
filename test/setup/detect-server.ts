import { MongoClient } from 'mongodb';

/** What the test suite needs to know about the server it runs against. */
export interface ServerFeatures {
  readonly kind: 'mongod' | 'mongo-java-server' | 'ferretdb';
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
    const kind = 'ferretdbVersion' in buildInfo || 'ferretdb' in buildInfo ? 'ferretdb' : 'gitVersion' in buildInfo ? 'mongod' : 'mongo-java-server';
    const sessions = typeof hello.logicalSessionTimeoutMinutes === 'number' && kind !== 'ferretdb';
    return {
      kind,
      atomicUpdates: kind !== 'ferretdb',
      sessions,
      transactions: sessions && typeof hello.setName === 'string',
    };
  } finally {
    await client.close();
  }
}
