/** The sweep benchmark's schema: a rename (`full_name` -> `display_name`), the playbook's first migration. */
import type { Document } from 'mongodb';
import { z } from 'zod';
import { defineSchema } from '../src/index.js';

const common = { _id: z.number(), email: z.string(), age: z.number(), city: z.string(), tags: z.array(z.string()) };

export const BenchUser = defineSchema('bench-user')
  .version(1, z.object({ ...common, full_name: z.string() }))
  .version(2, z.object({ ...common, display_name: z.string() }), ({ full_name, ...rest }) => ({ ...rest, display_name: full_name }));

/** A version-1 document (about 150 bytes of BSON). */
export function benchUser(index: number): Document {
  return { _id: index, full_name: `Person Number ${index}`, email: `person${index}@example.org`, age: 20 + (index % 50), city: `City ${index % 100}`, tags: ['a', 'b', `t${index % 7}`], schemaVersion: 1 };
}
