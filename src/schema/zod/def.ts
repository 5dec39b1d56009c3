/**
 * How the library reads a zod schema: its `def` (zod 4's description of a schema), through one
 * type. Every question asked of a schema (see the other files of this folder) reads defs through
 * this, and handles each def type it knows explicitly: what it does not know, it refuses or sends
 * to the client path (default-deny).
 */
import type { z } from 'zod';

/** A zod schema of any kind. */
export type ZodType = z.core.$ZodType;

/** One check of a schema (`.min()`, `.int()`, `.refine()`, `.trim()`…), as zod describes it. */
export interface ZodCheckDef {
  readonly check: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly length?: number;
  readonly value?: number;
  readonly inclusive?: boolean;
  readonly format?: string;
}

/** A schema's def: its type and, depending on the type, what it is made of. */
export interface ZodDef {
  readonly type: string;
  readonly shape?: Readonly<Record<string, ZodType>>;
  readonly innerType?: ZodType;
  readonly element?: ZodType;
  readonly catchall?: ZodType;
  readonly keyType?: ZodType;
  readonly valueType?: ZodType;
  readonly in?: ZodType;
  readonly options?: readonly ZodType[];
  readonly entries?: Readonly<Record<string, unknown>>;
  readonly values?: readonly unknown[];
  readonly checks?: readonly { readonly _zod: { readonly def: ZodCheckDef } }[];
  /** A format or check carried by the schema itself (`z.email()`, `z.int()`). */
  readonly format?: string;
  readonly check?: string;
  readonly coerce?: boolean;
  readonly transform?: unknown;
  readonly getter?: () => ZodType;
  readonly [child: string]: unknown;
}

export function defOf(schema: ZodType): ZodDef {
  return (schema as unknown as { _zod: { def: ZodDef } })._zod.def;
}

export function isSchema(value: unknown): value is ZodType {
  return typeof value === 'object' && value !== null && '_zod' in value;
}

/** Wrappers that keep the shape of what they wrap (optional, nullable, default…). */
const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'nonoptional', 'readonly', 'catch']);

/** The schema inside its shape-keeping wrappers (and a pipe's input). */
export function unwrap(schema: ZodType): ZodType {
  let current = schema;
  for (;;) {
    const def = defOf(current);
    if (WRAPPERS.has(def.type) && def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in) current = def.in;
    else return current;
  }
}
