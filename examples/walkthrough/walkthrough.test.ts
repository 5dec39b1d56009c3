import { expect } from 'vitest';
import { useTestDatabase } from '../../test/support/database.js';
import { run } from '../support/process.js';
import { itWithLargeBulkWrites } from '../support/server.js';

const database = useTestDatabase('examples_walkthrough');

itWithLargeBulkWrites('walks expand -> switch -> migrate -> roll back and forward -> contract and prints each step', async () => {
  const walk = await run(['examples/walkthrough/walkthrough.ts'], { MONGODB_URI: database.uri, MOLT_DB: database.db.databaseName }, 90_000);
  expect(walk.stderr).toBe('');
  expect(walk.code).toBe(0);
  const out = walk.stdout;
  expect(out.match(/── Step \d/g)).toHaveLength(6);
  // Expand: release 3 writes v2 (the downcaster joins the name), release 2 reads it.
  expect(out).toMatch(/release 3 inserts new-1, stored as\s+\{.*"display_name":"Barbara Liskov","schemaVersion":2\}/);
  expect(out).toMatch(/release 2 reads new-1 as\s+\{.*"display_name":"Barbara Liskov"\}/);
  expect(out).toMatch(/release 3 reads r2-0001 as\s+\{"_id":"r2-0001","email":"grace@example.org".*"name":\{"given":"Grace","family":"Hopper1"\}\}/);
  expect(out).toContain('release 2 would read NewerVersionError');
  // Switch: v3 writes.
  expect(out).toMatch(/release 3 inserts new-2, stored as\s+\{.*"schemaVersion":3\}/);
  expect(out).toContain('stored: unversioned: 999, v2: 1001, v3: 2');
  // Migrate: the gate, the dry run, the sweep, the gate again.
  expect(out).toMatch(/users: 2,000 documents below v3.*\n\s+2,000 a sweep migrates: molt sweep users\n\s+\(exit 1\)/);
  expect(out).toContain('checked 2,000 stale documents against v3: 2,000 pass, 0 fail');
  expect(out).toContain('migrated 2,000, skipped 0 (changed meanwhile), failed 0');
  expect(out).toMatch(/users: ok, every document is at v3 or above\n\s+\(exit 0\)/);
  expect(out).toContain('stored: v3: 2002');
  // The escape hatch: down to v2 (release 2 reads everything again), then forward again.
  expect(out).toMatch(/molt sweep users --to 2\n[\s\S]*?target v2[\s\S]*?\(exit 0\)/);
  expect(out).toContain('stored: v2: 2002');
  // The cron job's plain sweep keeps the rollback; unpinned, the next sweep goes forward.
  expect(out).toMatch(/\$ molt sweep users\n[\s\S]*?target v2[\s\S]*?pinned at v2 by molt sweep --to 2 on [^;]+; molt unpin users to resume the latest\n\s+\(exit 0\)\n\s*stored: v2: 2002/);
  expect(out).toMatch(/\$ molt unpin users\n[\s\S]*?\$ molt sweep users\n[\s\S]*?target v3[\s\S]*?\(exit 0\)\n\s*stored: v3: 2002/);
  expect(out).toMatch(/release 2 reads new-2 as\s+\{.*"email":"edsger@example.org".*"display_name":"Edsger Dijkstra"/);
  // Contract: no upcasters left; the gate catches a straggler.
  expect(out).toContain('release 4 reads all 2002 users without an upcaster');
  expect(out).toContain('release 4 would read InvalidVersionError');
  expect(out).toMatch(/1 document below v3, e\.g\. "straggler".*\n\s+1 a sweep migrates: molt sweep users\n\s+\(exit 1\)/);

  const stored = await database.db.collection('users').aggregate<{ _id: number; count: number }>([{ $group: { _id: '$schemaVersion', count: { $sum: 1 } } }]).toArray();
  expect(stored).toEqual([{ _id: 3, count: 2002 }]);
}, 90_000);
