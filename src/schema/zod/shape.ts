/**
 * The shape questions asked of a zod schema: the schema of the field at a path (for the
 * definition-time checks of steps, the filter checks of the wrapper and query translation), and
 * the keys an object schema declares (for the keys a migrated document keeps that it does not
 * declare: leftovers of a spread, `{ ...v1, name: v1.full_name }` keeps `full_name`, which zod
 * strips from its output but mongo-molt stores as the step returned it; and for pinned updates).
 * Schemas that are not objects all the way down (a record, a union, a loose object) answer
 * `'unknown'` / `undefined`: the caller skips or refuses.
 */
import { defOf, unwrap, type ZodType } from './def.js';

/**
 * The schema of the field at `path`: a zod type, `'absent'` when the object shape on the way does
 * not declare it, `'unknown'` when the path leaves a checkable shape.
 */
export function fieldSchema(schema: ZodType, path: string): ZodType | 'absent' | 'unknown' {
  let current: ZodType = schema;
  for (const key of path.split('.')) {
    const def = defOf(unwrap(current));
    if (def.type !== 'object' || def.shape === undefined) return 'unknown';
    const next = def.shape[key];
    if (next === undefined) return 'absent';
    current = next;
  }
  return current;
}

/** Whether `schema` declares `path` for sure (not absent, not behind a union or a record). */
export function declares(schema: ZodType, path: string): boolean {
  const found = fieldSchema(schema, path);
  return found !== 'absent' && found !== 'unknown';
}

/** The top-level keys of an object schema (through its wrappers); `undefined` for any other kind. */
export function shapeKeys(schema: ZodType): ReadonlySet<string> | undefined {
  const def = defOf(unwrap(schema));
  return def.type === 'object' && def.shape !== undefined ? new Set(Object.keys(def.shape)) : undefined;
}

/** The keys a document of `schema` may have: `undefined` when it takes any key (not an object, or a loose/catch-all object). */
export function declaredKeys(schema: ZodType): ReadonlySet<string> | undefined {
  const def = defOf(unwrap(schema));
  if (def.type !== 'object' || def.shape === undefined) return undefined;
  const catchall = def.catchall === undefined ? undefined : defOf(def.catchall).type;
  if (catchall !== undefined && catchall !== 'never') return undefined;
  return new Set(Object.keys(def.shape));
}

/** The keys of `value` that `declared` lacks (the version field aside). */
export function undeclaredKeys(declared: ReadonlySet<string> | undefined, value: Readonly<Record<string, unknown>>, versionField: string): string[] {
  if (declared === undefined) return [];
  return Object.keys(value).filter((key) => key !== versionField && !declared.has(key));
}
