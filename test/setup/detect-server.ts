import { MongoClient } from 'mongodb';
import { serverCapabilities } from '../../src/server/index.js';

/** What the test suite needs to know about the server it runs against (the library's own detection). */
export interface ServerFeatures {
  readonly kind: 'mongod' | 'mongo-java-server' | 'ferretdb';
  /** The version the server reports (FerretDB: its own). */
  readonly version: string;
  /** Single-document updates evaluate the filter and write atomically (compare-and-swap holds). */
  readonly atomicUpdates: boolean;
  readonly updatePipelines: boolean;
  /** Bulk writes of 100 statements or more are answered (FerretDB 1.x never answers them). */
  readonly largeBulkWrites: boolean;
  readonly sessions: boolean;
  readonly transactions: boolean;
}

/** Asks the server what it is, through the same detection the library uses. */
export async function detectServer(uri: string): Promise<ServerFeatures> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    await client.connect();
    const capabilities = await serverCapabilities(client.db('admin'));
    return {
      kind: capabilities.kind,
      version: capabilities.version,
      atomicUpdates: capabilities.atomicUpdates,
      updatePipelines: capabilities.updatePipelines,
      largeBulkWrites: capabilities.maxBulkStatements >= 100,
      sessions: capabilities.sessions,
      transactions: capabilities.transactions,
    };
  } finally {
    await client.close();
  }
}
