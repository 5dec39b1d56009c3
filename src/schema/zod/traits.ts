/**
 * What a version's zod schema means for what is stored. mongo-molt uses zod as a check, not as a
 * transform (what is stored is the upcaster's result, never zod's stripped parse output), so the
 * document type `z.output` tells the truth only if parsing changes nothing but missing defaults:
 * - `.default()` / `.prefault()` values are filled in by mongo-molt (see `completeDefaults`), so a
 *   defaulted field is present on reads and in what is written, as its type says;
 * - transforms, codecs, `z.preprocess`, `z.coerce.*` and `.catch()` make zod's output differ from the
 *   stored value (a string typed as a Date, a length typed as a number): refused when the version is
 *   registered, with the field that has one.
 */
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { isPlainObject } from '../../steps/paths.js';
import type { AnyZodSchema } from '../types.js';
import { defOf, isSchema } from './def.js';

/** The traits of one version's schema, computed once when the version is registered. */
export interface ZodTraits {
  /** Some field (at any depth) has `.default()` or `.prefault()`: validation fills it in. */
  readonly fillsDefaults: boolean;
  /** The first place where parsing would change a stored value, e.g. `"born" (z.coerce)`; absent when none. */
  readonly changesValues?: string;
}

// Where a schema's def keeps the schemas it is made of.
const CHILD_KEYS = ['innerType', 'element', 'catchall', 'rest', 'keyType', 'valueType', 'in', 'out', 'left', 'right'] as const;
const CHILD_LISTS = ['items', 'options'] as const;

/** Walks a schema once (a lazy or recursive schema is visited once per node). */
export function zodTraits(root: AnyZodSchema): ZodTraits {
  let fillsDefaults = false;
  let changesValues: string | undefined;
  const seen = new Set<AnyZodSchema>();
  const visit = (schema: AnyZodSchema, path: string): void => {
    if (seen.has(schema) || changesValues !== undefined) return;
    seen.add(schema);
    const def = defOf(schema);
    const where = path === '' ? 'the document' : `"${path}"`;
    if (def.type === 'transform') changesValues = `${where} (a transform)`;
    else if (def.type === 'pipe' && typeof def.transform === 'function') changesValues = `${where} (a codec)`;
    else if (def.type === 'catch') changesValues = `${where} (.catch())`;
    else if (def.coerce === true) changesValues = `${where} (z.coerce)`;
    if (changesValues !== undefined) return;
    if (def.type === 'default' || def.type === 'prefault') fillsDefaults = true;
    if (def.type === 'lazy' && def.getter !== undefined) visit(def.getter(), path);
    for (const [key, child] of Object.entries(def.shape ?? {})) visit(child, path === '' ? key : `${path}.${key}`);
    for (const key of CHILD_KEYS) {
      const child = def[key];
      if (isSchema(child)) visit(child, def.type === 'array' ? `${path}[]` : path);
    }
    for (const key of CHILD_LISTS) {
      const list = def[key];
      if (Array.isArray(list)) for (const child of list) if (isSchema(child)) visit(child, path);
    }
  };
  visit(root, '');
  return changesValues === undefined ? { fillsDefaults } : { fillsDefaults, changesValues };
}

const withoutIdCache = new WeakMap<AnyZodSchema, AnyZodSchema | null>();

/**
 * The document schema with `_id` left out, for the defaults of a replacement without `_id`: an
 * object's shape (its refinements aside: the check itself ran on the whole schema), each option of
 * a union, through `.readonly()`; `undefined` for anything else. Built once per schema.
 */
export function schemaWithoutId(schema: AnyZodSchema): AnyZodSchema | undefined {
  let known = withoutIdCache.get(schema);
  if (known === undefined) {
    known = buildWithoutId(schema) ?? null;
    withoutIdCache.set(schema, known);
  }
  return known ?? undefined;
}

function buildWithoutId(schema: AnyZodSchema): AnyZodSchema | undefined {
  const def = defOf(schema);
  if (def.type === 'object' && def.shape !== undefined) {
    const { _id: _omitted, ...rest } = def.shape;
    return z.object(rest as Record<string, z.ZodType>);
  }
  if (def.type === 'readonly' && isSchema(def.innerType)) return buildWithoutId(def.innerType);
  if (def.type === 'union' && Array.isArray(def.options)) {
    const options = (def.options as readonly AnyZodSchema[]).map(buildWithoutId);
    return options.length > 0 && options.every((option) => option !== undefined) ? z.union(options as [z.ZodType, ...z.ZodType[]]) : undefined;
  }
  return undefined;
}

/**
 * `value` with the fields zod's `parsed` output has and `value` lacks (its defaults), at any
 * depth; nothing else of `parsed` is taken (so nothing is stripped or converted). Copies only the
 * objects it fills: `value` itself is not modified.
 */
export function withDefaults<T>(value: T, parsed: unknown): T {
  if (Array.isArray(value)) {
    if (!Array.isArray(parsed) || parsed.length !== value.length) return value;
    let copy: unknown[] | undefined;
    value.forEach((element: unknown, index) => {
      const filled = withDefaults(element, parsed[index]);
      if (filled !== element) (copy ??= [...(value as unknown[])])[index] = filled;
    });
    return (copy ?? value) as T;
  }
  if (!isPlainObject(value) || !isPlainObject(parsed)) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [key, parsedValue] of Object.entries(parsed)) {
    const current = value[key];
    const filled = current === undefined ? parsedValue : withDefaults(current, parsedValue);
    if (filled !== current) (copy ??= { ...value })[key] = filled;
  }
  return (copy ?? value) as T;
}

/** A default the read path fills in, as query translation models it. */
export interface DefaultFill {
  readonly kind: 'fill';
  /** Dotted path through object shapes. */
  readonly field: string;
  readonly value: unknown;
}

/** A place where defaults are filled that cannot be modelled as a path (inside an array, a union, a record…). */
export interface OpaqueDefaults {
  readonly kind: 'opaque';
  readonly field: string;
  readonly reason: string;
}

const PASS_THROUGH = new Set(['optional', 'nullable', 'readonly', 'nonoptional']);

/**
 * The defaults `withDefaults` fills into a document of this schema, deepest first (the order in
 * which they take effect: a field inside an object is filled only where the stored object is
 * present; an absent object gets its own default, as zod gives it). A default that is not one
 * constant value (a function), or one inside an array, a union, a record or a lazy schema, is
 * reported as opaque at the place it sits: translation refuses filters that touch it.
 */
export function defaultFills(root: AnyZodSchema): Array<DefaultFill | OpaqueDefaults> {
  const found: Array<DefaultFill | OpaqueDefaults> = [];
  const visit = (schema: AnyZodSchema, path: string, depth: number): void => {
    const def = defOf(schema);
    if (PASS_THROUGH.has(def.type) && isSchema(def.innerType)) return visit(def.innerType, path, depth);
    if (def.type === 'default' || def.type === 'prefault') {
      if (isSchema(def.innerType)) visit(def.innerType, path, depth);
      if (path === '') return;
      const value = constantDefault(schema);
      found.push(value === NOT_CONSTANT
        ? { kind: 'opaque', field: path, reason: `its default (${path}) is not one constant value, so which stored documents match it cannot be told` }
        : { kind: 'fill', field: path, value: value.value });
      return;
    }
    if (def.type === 'object' && def.shape !== undefined) {
      for (const [key, child] of Object.entries(def.shape)) {
        if (key.includes('.') || key.startsWith('$')) {
          if (zodTraits(child).fillsDefaults) found.push({ kind: 'opaque', field: path === '' ? key.split('.')[0] as string : path, reason: `defaults are filled under a key a path cannot name ("${key}")` });
          continue;
        }
        visit(child, path === '' ? key : `${path}.${key}`, depth + 1);
      }
      if (isSchema(def.catchall) && zodTraits(def.catchall).fillsDefaults) found.push({ kind: 'opaque', field: path, reason: 'defaults are filled in the values of undeclared keys' });
      return;
    }
    if (zodTraits(schema).fillsDefaults) {
      // Arrays, unions, records, lazy schemas…: defaults are filled inside, in places a path cannot model.
      found.push({ kind: 'opaque', field: path, reason: `defaults are filled inside "${path === '' ? 'the document' : path}" (a ${def.type}), where a filter cannot follow them` });
    }
  };
  visit(root, '', 0);
  // Deepest first: an inner default is filled only where the stored parent is an object.
  return found.sort((a, b) => b.field.split('.').length - a.field.split('.').length);
}

const NOT_CONSTANT = Symbol('not constant');

/** What zod gives for a missing value of `schema` (a `.default()`), if it is the same each time. */
function constantDefault(schema: AnyZodSchema): { value: unknown } | typeof NOT_CONSTANT {
  try {
    const first = z.safeParse(schema, undefined);
    const second = z.safeParse(schema, undefined);
    if (!first.success || !second.success || !isDeepStrictEqual(first.data, second.data)) return NOT_CONSTANT;
    if (typeof first.data === 'function' || typeof first.data === 'symbol') return NOT_CONSTANT;
    return { value: first.data };
  } catch {
    return NOT_CONSTANT;
  }
}
