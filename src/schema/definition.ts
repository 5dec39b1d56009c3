import { InvalidOptionError } from '../errors.js';
import type { SchemaDefinition } from './types.js';

/**
 * Where a `VersionedSchema` keeps its definition: a registered symbol, so that a schema made by
 * another copy of the library (a config file loaded beside the CLI) is still recognised.
 */
const DEFINITION = Symbol.for('mongo-molt.definition');

/** Attaches the engine's definition to a schema object (not enumerable, not part of its type). */
export function attachDefinition(schema: object, definition: SchemaDefinition): void {
  Object.defineProperty(schema, DEFINITION, { value: definition, enumerable: false, writable: false, configurable: false });
}

/** The engine's view of a schema, checked: callers (and config files) may hand over anything. */
export function definitionOf(schema: unknown): SchemaDefinition {
  const definition = (typeof schema === 'object' && schema !== null ? (schema as Record<symbol, unknown>)[DEFINITION] : undefined) as
    | Partial<SchemaDefinition>
    | undefined;
  if (
    typeof definition !== 'object' || definition === null || typeof definition.name !== 'string' ||
    typeof definition.versionField !== 'string' || typeof definition.latest !== 'number' || !Array.isArray(definition.entries)
  ) {
    throw new InvalidOptionError('schema', 'must be a versioned schema made with defineSchema(name).version(1, zodSchema)...');
  }
  return definition as SchemaDefinition;
}
