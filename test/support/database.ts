import { randomBytes } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, inject, it } from 'vitest';
import type { ServerFeatures } from '../setup/detect-server.js';

/** A database of the test file's own, dropped after the file: files run in parallel safely. */
export interface TestDatabase {
  readonly client: MongoClient;
  readonly db: Db;
  readonly uri: string;
  readonly features: ServerFeatures;
}

/** Connects once per test file to the suite's server and gives the file a fresh database. */
export function useTestDatabase(label: string): TestDatabase {
  const uri = inject('mongoUri');
  const features = inject('serverFeatures');
  const client = new MongoClient(uri);
  const name = `molt_${label.replace(/[^a-z0-9]/gi, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const handle = { client, db: client.db(name), uri, features };
  beforeAll(async () => {
    await client.connect();
  });
  afterAll(async () => {
    await handle.db.dropDatabase().catch(() => undefined);
    await client.close();
  });
  return handle;
}

/**
 * A test that needs atomic single-document updates (compare-and-swap under races). On a server
 * without them it is skipped, and the reason is printed.
 */
export function itWithAtomicUpdates(name: string, fn: () => Promise<void>, timeout?: number): void {
  const features = inject('serverFeatures');
  if (!features.atomicUpdates) {
    process.stderr.write(`[skipped] "${name}": ${features.kind} does not apply single-document updates atomically, so compare-and-swap races cannot be tested on it\n`);
  }
  it.skipIf(!features.atomicUpdates)(name, fn, timeout);
}
