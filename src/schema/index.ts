export { defineSchema, SchemaBuilder, VersionedSchema, type Infer, type AnyVersionedSchema } from './versioned-schema.js';
export {
  DEFAULT_UNVERSIONED,
  DEFAULT_VERSION_FIELD,
  type AnyZodSchema,
  type Downcaster,
  type MaybePromise,
  type SchemaOptions,
  type Upcaster,
  type VersionStep,
} from './types.js';
export type { VersionOf } from './version-types.js';
