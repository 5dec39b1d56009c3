/**
 * Differential tests of query translation whose oracle is the read path: for random stored
 * documents in odd forms (see the fixture) and random latest-shape filters, the filter the wrapper
 * sends matches a stored document exactly when the filter matches what a read returns for it.
 * In memory (mingo) here, on the server in translation-read-path-server.test.ts.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { z } from 'zod';
import { defineSchema, QueryTranslationError, step } from 'mongo-molt';
import { definitionOf } from '../src/schema/definition.js';
import { QueryPlanner } from '../src/collection/queries.js';
import { filterArb, matches, oracle, planner, storedDoc } from './fixtures/translation-read-path.js';

it('the translated filter matches a stored document exactly when the filter matches its read (500 runs, in memory)', () => {
  fc.assert(fc.property(fc.array(storedDoc, { minLength: 1, maxLength: 20 }), filterArb, (docs, filter) => {
    const sent = planner.filter(filter).stored as Record<string, unknown>;
    for (const stored of docs) {
      expect(matches(sent, stored), JSON.stringify({ stored, filter, sent })).toBe(oracle(filter, stored));
    }
  }), { numRuns: Number(process.env.MOLT_TRANSLATION_RUNS ?? 500) });
}, 300_000);

// A chain with a function step in the middle: v1 -(function: lower-cases email)-> v2 -(rename)-> v3.
const Account = defineSchema('account')
  .version(1, z.object({ _id: z.number(), email: z.string(), nick: z.string(), n: z.number() }))
  .version(2, z.object({ _id: z.number(), email: z.string(), nick: z.string(), n: z.number() }), (v1) => ({ ...v1, email: v1.email.toLowerCase() }))
  .version(3, z.object({ _id: z.number(), email: z.string(), handle: z.string(), n: z.number() }), [step.rename('nick', 'handle')]);
const accounts = new QueryPlanner(definitionOf(Account), { translate: true, strict: true, writeVersion: 3 });
const accountDoc = fc.record({
  _id: fc.integer({ min: 0, max: 1e6 }),
  version: fc.constantFrom(1, 2, 3),
  email: fc.constantFrom('ada@x', 'Ada@X', 'bob@x'),
  nick: fc.constantFrom('a', 'b'),
  n: fc.integer({ min: 0, max: 2 }),
}).map(({ _id, version, email, nick, n }) => (version === 3 ? { _id, email, handle: nick, n, schemaVersion: 3 } : { _id, email, nick, n, schemaVersion: version }));
const accountFilter = fc.oneof(
  fc.constantFrom('ada@x', 'Ada@X').map((email) => ({ email })),
  fc.constantFrom('a', 'b').map((handle) => ({ handle })),
  fc.integer({ min: 0, max: 2 }).map((n) => ({ n })),
  fc.constant({ _id: 1 }),
  fc.constant({ $or: [{ handle: 'a' }, { _id: 2 }] }),
);

it('through a function step, a filter is refused (QueryTranslationError) or answered exactly (500 runs)', () => {
  let refused = 0;
  fc.assert(fc.property(fc.array(accountDoc, { minLength: 1, maxLength: 10 }), accountFilter, (docs, filter) => {
    let sent: Record<string, unknown>;
    try {
      sent = accounts.filter(filter as Record<string, unknown>).stored as Record<string, unknown>;
    } catch (error) {
      expect(error).toBeInstanceOf(QueryTranslationError);
      refused++;
      return;
    }
    for (const stored of docs) expect(matches(sent, stored), JSON.stringify({ stored, filter, sent })).toBe(matches(filter, Account.migrateSync(stored).value));
  }), { numRuns: 500 });
  expect(refused).toBeGreaterThan(0);
});
