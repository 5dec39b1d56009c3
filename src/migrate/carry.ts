import type { SchemaDefinition } from '../schema/types.js';
import { carryValues } from '../steps/apply.js';
import type { PlainObject } from '../steps/paths.js';

/**
 * `doc` (a document at version `from`) laid out at version `to`'s paths, its values as they are:
 * each declarative step's renames and converts move values, removes drop them (see
 * `carryValues`); a function step keeps every path (what it moves, it produced). Storage compares
 * a migrated document with this layout to keep the stored BSON type of every value no step changed.
 */
export function carryToVersion(definition: SchemaDefinition, from: number, to: number, doc: PlainObject): PlainObject {
  if (from > definition.latest || to > definition.latest || from < definition.first || to < definition.first) return doc;
  let current = doc;
  for (let version = from; version !== to; ) {
    const next = version < to ? version + 1 : version - 1;
    const entry = next > version ? definition.entries[next - definition.first] : definition.entries[version - definition.first];
    const step = next > version ? entry?.up : entry?.down;
    if (step?.kind === 'declarative') current = carryValues(step.steps, step.direction, current);
    version = next;
  }
  return current;
}
