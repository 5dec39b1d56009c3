import type { Document } from 'mongodb';
import { InvalidOptionError } from '../errors.js';
import type { SchemaDefinition } from '../schema/types.js';

/**
 * The top-level fields an operator update writes (`{ $set: { 'a.b': 1 } }` writes `a`), or
 * `undefined` for a pipeline update, whose fields cannot be known without running it.
 */
export function updatedFields(update: Document | Document[]): Set<string> | undefined {
  if (Array.isArray(update)) return undefined;
  const fields = new Set<string>();
  for (const [operator, argument] of Object.entries(update)) {
    if (!operator.startsWith('$') || typeof argument !== 'object' || argument === null) continue;
    for (const [path, value] of Object.entries(argument as Document)) {
      fields.add(path.split('.')[0] as string);
      // $rename writes its target too.
      if (operator === '$rename' && typeof value === 'string') fields.add(value.split('.')[0] as string);
    }
  }
  return fields;
}

/** The top-level keys of an object schema, or `undefined` for any other kind of schema. */
export function objectKeys(definition: SchemaDefinition, version: number): Set<string> | undefined {
  const schema = definition.entries[version - definition.first]?.schema as { _zod?: { def?: { type?: string; shape?: Record<string, unknown> } } } | undefined;
  const def = schema?._zod?.def;
  return def?.type === 'object' && def.shape ? new Set(Object.keys(def.shape)) : undefined;
}

/**
 * Refuses, before anything is written, an update that would leave a document its schema cannot
 * read: one that writes the version field (the library manages it), or, while the write version is
 * pinned below the latest, one that writes a field the write version's schema does not have (the
 * operators run on the stored shape, so a field of the latest shape would be lost or misplaced).
 */
export function checkUpdate(definition: SchemaDefinition, writeVersion: number, update: Document | Document[]): void {
  const fields = updatedFields(update);
  if (fields === undefined) return;
  if (fields.has(definition.versionField)) {
    throw new InvalidOptionError(
      'update',
      `writes "${definition.versionField}", the version field mongo-molt manages: remove it from the update (documents are stamped with the write version).`,
    );
  }
  if (writeVersion === definition.latest) return;
  const known = objectKeys(definition, writeVersion);
  if (known === undefined) return;
  const unknown = [...fields].filter((field) => field !== '_id' && !known.has(field));
  if (unknown.length > 0) {
    throw new InvalidOptionError(
      'update',
      `writes ${unknown.map((field) => `"${field}"`).join(', ')}, which version ${writeVersion} (the pinned writeVersion) of schema "${definition.name}" does not have: ` +
        'while the write version is pinned, updates run on the stored shape and may only write the fields both shapes share. Use replaceOne, or update after unpinning.',
    );
  }
}
