import fc from 'fast-check';
import { BSON } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineSchema, ValidationError } from '../src/index.js';
import { describeId } from '../src/errors.js';

const { Binary, Decimal128, Double, Int32, Long, ObjectId, UUID } = BSON;

/** `_id`s of several BSON types, short enough that no description is cut. */
const ids: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer({ min: -1000, max: 1000 }),
  fc.double({ min: -1000, max: 1000, noNaN: true }),
  fc.integer({ min: -1000, max: 1000 }).map((n) => new Int32(n)),
  fc.integer({ min: -1000, max: 1000 }).map((n) => new Double(n)),
  fc.integer({ min: -1000, max: 1000 }).map((n) => Long.fromNumber(n)),
  fc.integer({ min: -1000, max: 1000 }).map((n) => Decimal128.fromString(`${n}.5`)),
  fc.integer({ min: 0, max: 2e12 }).map((ms) => new Date(ms)),
  fc.uint8Array({ minLength: 12, maxLength: 12 }).map((bytes) => new ObjectId(bytes)),
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map((bytes) => new UUID(bytes)),
  fc.uint8Array({ minLength: 1, maxLength: 6 }).map((bytes) => new Binary(bytes, 0)),
  fc.record({ k: fc.integer({ min: 0, max: 99 }), t: fc.string({ maxLength: 4 }) }),
);

/** The `_id` as the server tells documents apart: its canonical extended JSON. */
function identity(id: unknown): string {
  return BSON.EJSON.stringify({ _id: id }, { relaxed: false });
}

describe('describeId', () => {
  it('gives different documents different names, whatever the BSON type of their _id', () => {
    fc.assert(fc.property(ids, ids, (a, b) => {
      fc.pre(identity(a) !== identity(b));
      expect(describeId(a)).not.toBe(describeId(b));
    }), { numRuns: 2000, examples: [['CAEC', new Binary(Uint8Array.from([8, 1, 2]), 0)], ['1970-01-01T00:00:00.000Z', new Date(0)], [5, Long.fromNumber(5)], [0, -0]] });
  });

  it('keeps the forms messages already use for strings and numbers, and never calls a UUID an ObjectId', () => {
    expect(describeId('b1')).toBe('_id="b1"');
    expect(describeId(7)).toBe('_id=7');
    expect(describeId(undefined)).toBe('(without _id)');
    const uuid = new UUID('9348428e-8745-4fc0-a92a-23635fe1fe1b');
    expect(describeId(uuid)).toContain('9348428e-8745-4fc0-a92a-23635fe1fe1b');
    expect(describeId(uuid)).not.toContain('ObjectId');
    expect(describeId({ deep: 'x'.repeat(500) }).length).toBeLessThanOrEqual(84);
  });

  it('names a binary _id in the error a read raises, not as the string of its base64', () => {
    const Doc = defineSchema('doc').version(1, z.object({ _id: z.unknown(), name: z.string() }));
    const binary = new Binary(Uint8Array.from([8, 1, 2]), 0);
    const error = (() => {
      try {
        Doc.migrateSync({ _id: binary, name: 7 }, { validate: 'always' });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).not.toContain('_id="CAEC"');
    expect((error as Error).message).toContain('CAEC');
  });
});
