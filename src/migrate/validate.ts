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
      if (!asyncResult.success) throwUnlessOnlyMissingId(definition, version, asyncResult.error, value, id, action, idMayBeMissing);
    });
  }
  if (!result.success) throwUnlessOnlyMissingId(definition, version, result.error, value, id, action, idMayBeMissing);
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
