/**
 * The top-level keys of a migrated document that its schema does not declare: leftovers of a
 * spread (`{ ...v1, name: v1.full_name }` keeps `full_name`) or misspelled keys. zod strips them
 * from its parse output, but mongo-molt stores what the step returned, so they would be written for
 * good: `molt check` and the sweep report list them before (or as) they are.
 */
import type { z } from 'zod';

interface Def {
  readonly type: string;
  readonly shape?: Readonly<Record<string, unknown>>;
  readonly catchall?: { readonly _zod: { readonly def: { readonly type: string } } };
  readonly innerType?: z.core.$ZodType;
}

/** `undefined` when the schema takes any key (not an object, or a loose/catch-all object). */
export function declaredKeys(schema: z.core.$ZodType): ReadonlySet<string> | undefined {
  let def = (schema as unknown as { _zod: { def: Def } })._zod.def;
  while (def.innerType && ['optional', 'nullable', 'readonly', 'default'].includes(def.type)) def = (def.innerType as unknown as { _zod: { def: Def } })._zod.def;
  if (def.type !== 'object' || def.shape === undefined) return undefined;
  const catchall = def.catchall?._zod.def.type;
  if (catchall !== undefined && catchall !== 'never') return undefined;
  return new Set(Object.keys(def.shape));
}

/** The keys of `value` that `declared` lacks (the version field aside). */
export function undeclaredKeys(declared: ReadonlySet<string> | undefined, value: Readonly<Record<string, unknown>>, versionField: string): string[] {
  if (declared === undefined) return [];
  return Object.keys(value).filter((key) => key !== versionField && !declared.has(key));
}
