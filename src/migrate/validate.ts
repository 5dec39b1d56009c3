import { z } from 'zod';
import { ValidationError } from '../errors.js';
import type { SchemaDefinition } from '../schema/types.js';
import type { MaybePromise } from '../schema/types.js';

/**
 * Checks `value` against the zod schema of `version`. zod is a check here, not a transform: the
 * caller keeps its own value, so fields zod would strip are never lost. Schemas with async
 * refinements fall back to zod's async parse.
 */
export function validateVersion(
  definition: SchemaDefinition,
  version: number,
  value: unknown,
  id: unknown,
  action: string,
  idMayBeMissing = false,
): MaybePromise<void> {
  const schema = definition.entries[version - definition.first]?.schema;
  if (schema === undefined) return;
  let result: z.ZodSafeParseResult<unknown>;
  try {
    result = z.safeParse(schema, value);
  } catch (error) {
    if (!(error instanceof z.core.$ZodAsyncError)) throw error;
    return z.safeParseAsync(schema, value).then((asyncResult) => {
      if (!asyncResult.success && !onlyMissingId(asyncResult.error, value, idMayBeMissing)) {
        throw toValidationError(definition, version, asyncResult.error, id, action);
      }
    });
  }
  if (!result.success && !onlyMissingId(result.error, value, idMayBeMissing)) {
    throw toValidationError(definition, version, result.error, id, action);
  }
}

/** A replacement may leave `_id` out (the server keeps the stored one): that alone is no error. */
function onlyMissingId(error: z.ZodError, value: unknown, idMayBeMissing: boolean): boolean {
  if (!idMayBeMissing || (value as { _id?: unknown })._id !== undefined) return false;
  return error.issues.every((issue) => issue.path.length === 1 && issue.path[0] === '_id');
}

function toValidationError(definition: SchemaDefinition, version: number, error: z.ZodError, id: unknown, action: string): ValidationError {
  return new ValidationError(
    { schemaName: definition.name, _id: id, version, issues: error.issues, action },
    { cause: error },
  );
}
