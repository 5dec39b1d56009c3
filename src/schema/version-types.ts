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

/** Every key of every member of a union (`keyof` of a union keeps only the shared ones). */
type KeysOfAny<T> = T extends unknown ? keyof T : never;

/**
 * The top-level keys of `R` (a step's result) that no member of `In` (the next version's input)
 * has. `_id` is never extra: it is the document's identity, kept whatever the schema says. A
 * result typed `any`, or with an index signature (a spread of a loose object), has no keys to check.
 */
export type ExtraKeys<R, In> = 0 extends 1 & R ? never : R extends unknown ? (string extends keyof R ? never : Exclude<keyof R, KeysOfAny<In> | '_id'>) : never;

/** The result of a step function, settled (an upcaster may be async). */
type ResultOf<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;

/** `unknown` when `Keys` is empty, otherwise a type whose one required key is the message. */
type Refuse<Keys, Message extends string> = [Keys] extends [never] ? unknown : { readonly [M in Message]: Keys };

/**
 * What the step argument of `.version(v, schema, step)` must also be: `unknown` when the upcaster
 * (and the downcaster, if any) return only keys the version they produce has; otherwise an object
 * whose key names the stray keys and what to do, which is what the compiler reports. Excess-property
 * checks do not reach a spread (`{ ...v1, name }` keeps `full_name`): the stray key would be stored
 * with every document. A function declared with the exact return type (a named helper) has no
 * stray key to report.
 */
export type ExactStep<F, From, To, V extends number> = F extends (...args: never[]) => unknown
  ? Refuse<ExtraKeys<ResultOf<F>, To>, `the upcaster returns keys version ${V} does not have (a spread keeps the old fields: take them out)`>
  : (F extends { readonly up: infer Up } ? Refuse<ExtraKeys<ResultOf<Up>, To>, `the upcaster returns keys version ${V} does not have (a spread keeps the old fields: take them out)`> : unknown) &
    (F extends { readonly down?: infer Down } ? Refuse<ExtraKeys<ResultOf<Down>, From>, `the downcaster returns keys the previous version does not have (a spread keeps the newer fields: take them out)`> : unknown);
