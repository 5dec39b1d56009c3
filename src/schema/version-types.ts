import type { z } from 'zod';
import type { AnyZodSchema } from './types.js';

/** The zod schema of each registered version, by version number: `{ 1: UserV1, 2: UserV2 }`. */
export type VersionMap = { readonly [version: number]: AnyZodSchema };

/** The version numbers a schema has, as a union of literals (`1 | 2 | 3`). @public */
export type VersionOf<S> = S extends { readonly __versions?: infer V } ? keyof V & number : number;

/**
 * `To` when the schema has that version (or `To` is a plain `number`, known only at run time),
 * `never` otherwise: `{ to: 7 }` on a schema with versions 1..3 does not compile.
 */
export type KnownVersion<Versions extends VersionMap, To extends number> = number extends To ? number : To extends keyof Versions ? To : never;

/** The document type of version `To` (the union of all versions' types when `To` is a plain `number`). */
export type OutputAt<Versions extends VersionMap, To extends number> = number extends To
  ? z.output<Versions[keyof Versions]>
  : To extends keyof Versions
    ? z.output<Versions[To]>
    : never;

/** The zod schema of version `V` (any zod schema when `V` is a plain `number`). */
export type SchemaAt<Versions extends VersionMap, V extends number> = number extends V ? AnyZodSchema : V extends keyof Versions ? Versions[V] : never;

/** `V` when it is a positive integer literal (or a plain `number`), `never` for `0`, `-1`, `1.5`. */
export type PositiveInteger<V extends number> = number extends V
  ? V
  : `${V}` extends `-${string}` | '0' | `${string}.${string}` | `${string}e${string}`
    ? never
    : V;

/** `N` when its output is a document (an object, not an array or a primitive), `never` otherwise. */
export type DocumentSchema<N extends AnyZodSchema> = z.output<N> extends object ? (z.output<N> extends readonly unknown[] ? never : N) : never;
