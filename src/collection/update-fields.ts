import type { Document } from 'mongodb';
import { InvalidOptionError } from '../errors.js';
import type { SchemaDefinition } from '../schema/types.js';
import { shapeKeys } from '../schema/zod/index.js';

/** The top-level fields an update writes, and the first stage (if any) whose fields cannot be named. */
export interface UpdatedFields {
  readonly fields: ReadonlySet<string>;
  /** A pipeline stage (`$replaceWith`, `$project`, an unknown stage) that may write any field. */
  readonly opaqueStage: string | undefined;
}

/**
 * The top-level fields an update writes (`{ $set: { 'a.b': 1 } }` writes `a`), for operator updates
 * and for pipelines (`$set`/`$addFields` keys, `$unset` paths); stages that can write anything are
 * reported as opaque.
 */
export function updatedFields(update: Document | Document[]): UpdatedFields {
  const fields = new Set<string>();
  const top = (path: string): void => void fields.add(path.split('.')[0] as string);
  if (!Array.isArray(update)) {
    for (const [operator, argument] of Object.entries(update)) {
      if (!operator.startsWith('$') || typeof argument !== 'object' || argument === null) continue;
      for (const [path, value] of Object.entries(argument as Document)) {
        top(path);
        // $rename writes its target too.
        if (operator === '$rename' && typeof value === 'string') top(value);
      }
    }
    return { fields, opaqueStage: undefined };
  }
  for (const stage of update) {
    const [name, argument] = Object.entries((stage ?? {}) as Document)[0] ?? ['(empty stage)', undefined];
    if (name === '$set' || name === '$addFields') {
      for (const path of Object.keys((argument ?? {}) as Document)) top(path);
    } else if (name === '$unset') {
      for (const path of Array.isArray(argument) ? argument : [argument]) if (typeof path === 'string') top(path);
    } else {
      // $replaceWith, $replaceRoot, $project (and any other stage) may write any field.
      return { fields, opaqueStage: name };
    }
  }
  return { fields, opaqueStage: undefined };
}

/** The top-level keys of a version's object schema, or `undefined` for any other kind of schema. */
export function objectKeys(definition: SchemaDefinition, version: number): ReadonlySet<string> | undefined {
  const schema = definition.entries[version - definition.first]?.schema;
  return schema === undefined ? undefined : shapeKeys(schema);
}

/**
 * Refuses, before anything is written, an update that would leave a document its schema cannot
 * read: one that writes the version field (the library manages it), or, while the write version is
 * pinned below the latest, one that writes a field the write version's schema does not have (the
 * operators run on the stored shape, so a field of the latest shape would be lost or misplaced),
 * or a pipeline stage whose fields cannot be named. Pipelines and operator updates alike.
 */
export function checkUpdate(definition: SchemaDefinition, writeVersion: number, update: Document | Document[]): void {
  const { fields, opaqueStage } = updatedFields(update);
  if (fields.has(definition.versionField)) {
    throw new InvalidOptionError(
      'update',
      `writes "${definition.versionField}", the version field mongo-molt manages: remove it from the update (documents are stamped with the write version).`,
    );
  }
  if (writeVersion === definition.latest) return;
  const known = objectKeys(definition, writeVersion);
  if (known === undefined) return;
  if (opaqueStage !== undefined) {
    throw new InvalidOptionError(
      'update',
      `has a pipeline stage ${opaqueStage}, which may write any field, while the write version is pinned at ${writeVersion} (below the latest) for schema "${definition.name}": ` +
        'pinned updates may only write fields both shapes share, named with $set, $addFields or $unset. Use replaceOne, or update after unpinning.',
    );
  }
  const unknown = [...fields].filter((field) => field !== '_id' && !known.has(field));
  if (unknown.length > 0) {
    throw new InvalidOptionError(
      'update',
      `writes ${unknown.map((field) => `"${field}"`).join(', ')}, which version ${writeVersion} (the pinned writeVersion) of schema "${definition.name}" does not have: ` +
        'while the write version is pinned, updates run on the stored shape and may only write the fields both shapes share. Use replaceOne, or update after unpinning.',
    );
  }
}

/**
 * The update as sent: a pipeline gets a last stage that stamps the write version, so that a stage
 * replacing the whole document (`$replaceWith`, `$project`) cannot leave it without its version.
 * Operator updates never touch the version field (checked above) and are sent as they are.
 */
export function stampedUpdate(update: Document | Document[], versionField: string, writeVersion: number): Document | Document[] {
  return Array.isArray(update) ? [...update, { $set: { [versionField]: writeVersion } }] : update;
}
