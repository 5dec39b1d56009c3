import type { z } from 'zod';
import type { DeclarativeStep } from '../steps/step.js';

/** Any zod schema (classic or mini): the shape of one version of a document. */
export type AnyZodSchema = z.core.$ZodType;

/** A value or a promise of it: upcasters may be synchronous or asynchronous. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * Turns a document of the previous version (its schema's output) into the next version's
 * input. The same shape as a zod codec's `decode`.
 */
export type Upcaster<From extends AnyZodSchema, To extends AnyZodSchema> = (
  doc: z.output<From>,
) => MaybePromise<z.input<To>>;

/** Turns a document of the next version back into the previous one (for rollback sweeps). */
export type Downcaster<From extends AnyZodSchema, To extends AnyZodSchema> = (
  doc: z.output<To>,
) => MaybePromise<z.input<From>>;

/** The step from one version to the next: `up` always, `down` when the information allows. */
export interface VersionStep<From extends AnyZodSchema, To extends AnyZodSchema> {
  readonly up: Upcaster<From, To>;
  readonly down?: Downcaster<From, To> | undefined;
}

/** Options of `defineSchema`. */
export interface SchemaOptions {
  /** The field that stores each document's version. Default: `schemaVersion` ({@link DEFAULT_VERSION_FIELD}). */
  readonly versionField?: string | undefined;
  /**
   * The version of documents that have no version field (written before mongo-molt was adopted).
   * Default: `1` ({@link DEFAULT_UNVERSIONED}).
   */
  readonly unversioned?: number | undefined;
}

/** Default of `SchemaOptions.versionField`. */
export const DEFAULT_VERSION_FIELD = 'schemaVersion';
/** Default of `SchemaOptions.unversioned`. */
export const DEFAULT_UNVERSIONED = 1;

/** A function as the engine runs it: untyped, since the chain was type-checked when it was built. */
export type StepFunction = (doc: never) => unknown;

/**
 * One direction of a version's step, as data: a tagged union the engine compiles (`migrate/`).
 * Today a step is a function; declarative operations (rename, add, remove, convert) join as
 * further kinds, so that a step can also say how it reads a filter or runs on the server.
 */
export type Step =
  | { readonly kind: 'function'; readonly run: StepFunction }
  | { readonly kind: 'declarative'; readonly direction: 'up' | 'down'; readonly steps: readonly DeclarativeStep[] };

/** One registered version, as the engine sees it. Internal: not part of the public API. */
export interface VersionEntry {
  readonly version: number;
  readonly schema: AnyZodSchema;
  /** Some field of `schema` has a `.default()`: validation fills it in (see `zod/traits.ts`). */
  readonly fillsDefaults: boolean;
  /** From the previous version to this one; absent on the first version. */
  readonly up?: Step;
  /** From this version to the previous one, when the schema author gave one. */
  readonly down?: Step;
}

/**
 * Everything the migration engine needs to know about a schema, frozen at definition time.
 * It holds no reference to MongoDB. Internal: read it with `definitionOf(schema)`.
 */
export interface SchemaDefinition {
  readonly name: string;
  readonly versionField: string;
  readonly unversioned: number;
  /** The first registered version (1, or `unversioned` when the older shapes are not modelled). */
  readonly first: number;
  readonly latest: number;
  /** `entries[i]` is version `first + i`. */
  readonly entries: readonly VersionEntry[];
}
