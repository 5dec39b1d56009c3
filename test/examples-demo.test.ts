import { expect } from 'vitest';
import { run } from '../examples/support/process.js';
import { itWithLargeBulkWrites } from '../examples/support/server.js';
import { useTestDatabase } from './support/database.js';

const database = useTestDatabase('demo');

itWithLargeBulkWrites('npm run demo: seeds, reads v1 users as v3, shows status, sweeps, verifies, and exits 0', async () => {
  const demo = await run(['scripts/demo.ts'], { MONGODB_URI: database.uri, DEMO_DB: database.db.databaseName, DEMO_USERS: '3000' }, 120_000);
  expect(demo.stderr).toBe('');
  expect(demo.code).toBe(0);
  const out = demo.stdout;
  expect(out).toContain('MONGODB_URI at');
  expect(out).toContain('inserted 3,000 documents');
  expect(out).toContain('stored  {"_id":"user-000000","full_name":"Ada Lovelace"');
  expect(out).toContain('read as {"_id":"user-000000","created_at":"2019-01-01T00:00:00.000Z","email":null,"name":{"given":"Ada","family":"Lovelace"}}');
  expect(out).toContain('read as {"_id":"user-000010","created_at":"2019-01-01T00:10:00.000Z","email":null,"name":{"given":"Plato","family":null}}');
  expect(out).toMatch(/documents\s+3,000, stale 3,000 \(100\.0%\)/);
  expect(out).toMatch(/migrated 3,000, skipped 0 \(changed meanwhile\), failed 0/);
  expect(out).toMatch(/versions\s+v3: 3,000/);
  expect(out).toContain('users: ok, every document is at v3 or above');
  expect(out).toMatch(/Done in \d+\.\d s/);
  // The demo cleans up after itself.
  expect(await database.db.collection('users').countDocuments()).toBe(0);
}, 120_000);
