import { z } from 'zod';
import { ValidationError } from '../errors.js';
import type { AnyZodSchema, MaybePromise, SchemaDefinition } from '../schema/types.js';
import { schemaWithoutId, withDefaults } from '../schema/zod/index.js';

/**
 * Checks `value` against the zod schema of `version` and returns it with the schema's defaults
 * filled in where missing. zod is a check here, not a transform: nothing of `value` is stripped or
 * converted (schemas that would convert are refused when registered), so fields zod would strip
 * are never lost and the document type (`z.output`) is what is stored. Schemas with async
 * refinements fall back to zod's async parse.
 */
export function validateVersion<T>(
  definition: SchemaDefinition,
  version: number,
  value: T,
  id: unknown,
  action: string,
  idMayBeMissing = false,
): MaybePromise<T> {
  const entry = definition.entries[version - definition.first];
  if (entry === undefined) return value;
  return parse(entry.schema, value, (result) => {
    if (!result.success) throwUnlessOnlyMissingId(definition, version, result.error, value, id, action, idMayBeMissing);
    // A replacement without `_id` fails only on `_id`: its other defaults are still filled in.
    return entry.fillsDefaults ? withDefaults(value, result.success ? result.data : parsedWithoutId(entry.schema, value)) : value;
  });
}

/**
 * `value` with the defaults of `version` filled in where they parse, without a check: for the
 * versions a chain passes through (the next upcaster is typed with them present) and for
 * `validate: 'never'`. A value the schema refuses is returned as it is.
 */
export function completeDefaults<T>(definition: SchemaDefinition, version: number, value: T): MaybePromise<T> {
  const entry = definition.entries[version - definition.first];
  if (entry === undefined || !entry.fillsDefaults) return value;
  return parse(entry.schema, value, (result) => (result.success ? withDefaults(value, result.data) : value));
}

/** zod's parse of `value`, handed to `then`: synchronous, or zod's async parse for schemas with async refinements. */
function parse<R>(schema: AnyZodSchema, value: unknown, then: (result: z.ZodSafeParseResult<unknown>) => R): MaybePromise<R> {
  try {
    return then(z.safeParse(schema, value));
  } catch (error) {
    if (!(error instanceof z.core.$ZodAsyncError)) throw error;
    return z.safeParseAsync(schema, value).then(then);
  }
}

/** The parse output of a replacement that left `_id` out (its only issue), by the schema without `_id`: for its defaults. */
function parsedWithoutId(schema: AnyZodSchema, value: unknown): unknown {
  const lenient = schemaWithoutId(schema);
  if (lenient === undefined) return undefined;
  const result = z.safeParse(lenient, value);
  return result.success ? result.data : undefined;
}

/**
 * A replacement may leave `_id` out (the server keeps the stored one): a missing `_id` is no
 * issue then, neither alone nor in the list of an otherwise invalid replacement.
 */
function throwUnlessOnlyMissingId(
  definition: SchemaDefinition,
  version: number,
  error: z.ZodError,
  value: unknown,
  id: unknown,
  action: string,
  idMayBeMissing: boolean,
): void {
  if (!idMayBeMissing || (value as { _id?: unknown })._id !== undefined) throw toValidationError(definition, version, error.issues, error, id, action);
  const issues = error.issues.filter((issue) => !(issue.path.length === 1 && issue.path[0] === '_id'));
  if (issues.length > 0) throw toValidationError(definition, version, issues, error, id, action);
}

function toValidationError(
  definition: SchemaDefinition,
  version: number,
  issues: z.core.$ZodIssue[],
  error: z.ZodError,
  id: unknown,
  action: string,
): ValidationError {
  return new ValidationError(
    { schemaName: definition.name, _id: id, version, issues, action },
    { cause: error },
  );
}
