import type { z } from 'zod';
import { SchemaDefinitionError } from '../errors.js';
import { migrate, migrateSync, type MigrateOptions, type MigrationResult } from '../migrate/index.js';
import {
  DEFAULT_UNVERSIONED,
  DEFAULT_VERSION_FIELD,
  type AnyZodSchema,
  type SchemaDefinition,
  type SchemaOptions,
  type Step,
  type StepFunction,
  type Upcaster,
  type VersionEntry,
  type VersionStep,
} from './types.js';
import { attachDefinition } from './definition.js';
import { zodTraits } from './zod/index.js';
import { checkSteps } from '../steps/check.js';
import { isInvertible } from '../steps/apply.js';
import { isDeclarativeStep, type DeclarativeStep } from '../steps/step.js';
import type { StepsProducing } from '../steps/types.js';
import type { DocumentSchema, ExactStep, KnownVersion, OutputAt, PositiveInteger, SchemaAt, VersionMap } from './version-types.js';

/**
 * A schema with one or more registered versions. Immutable: `.version()` returns a new schema.
 * `Latest` is the latest version number, `S` its zod schema, `Versions` every version's schema by number.
 * @public
 */
export class VersionedSchema<const Latest extends number, S extends AnyZodSchema, Versions extends VersionMap = { readonly [K in Latest]: S }> {
  /** Type-level only (never set): the zod schema of every version, for `schemaOf` and `migrate({ to })`. */
  declare readonly __versions?: Versions;
  readonly #definition: SchemaDefinition;

  /** Use `defineSchema(...).version(...)`. */
  constructor(definition: SchemaDefinition) {
    this.#definition = definition;
    attachDefinition(this, definition);
    Object.freeze(this);
  }

  /** The name given to `defineSchema`. */
  get name(): string {
    return this.#definition.name;
  }

  /** The latest version number. */
  get latest(): Latest {
    return this.#definition.latest as Latest;
  }

  /** The field that stores each document's version. */
  get versionField(): string {
    return this.#definition.versionField;
  }

  /** The zod schema of the latest version. */
  get schema(): S {
    return this.schemaOf(this.#definition.latest) as S;
  }

  /**
   * The zod schema registered for `version`, typed per version; a version the schema does not
   * have does not compile (and throws a `SchemaDefinitionError` when only known at run time).
   */
  schemaOf<const V extends number>(version: V & KnownVersion<Versions, V>): SchemaAt<Versions, V> {
    const entry = this.#definition.entries[version - this.#definition.first];
    if (entry === undefined) {
      throw new SchemaDefinitionError(this.name, `has no version ${version} (it has ${this.#definition.first}..${this.#definition.latest}).`);
    }
    return entry.schema as SchemaAt<Versions, V>;
  }

  /**
   * Registers the next version: its zod schema and the step from the previous version: an
   * upcaster, `{ up, down }`, or a list of declarative steps (`[step.rename('a', 'b'), …]`, whose
   * down, query translation and server form come for free). The step is typed from the two
   * schemas: a chain that does not compose does not compile; declarative steps are also checked
   * against both schemas when the version is registered.
   */
  version<const V extends NextVersion<Latest>, N extends AnyZodSchema, const L extends readonly DeclarativeStep[]>(
    version: V & PositiveInteger<V>,
    schema: N & DocumentSchema<N>,
    steps: StepsProducing<z.output<S>, z.input<N>, L>,
  ): VersionedSchema<V, N, Versions & { readonly [K in V]: N }>;
  version<const V extends NextVersion<Latest>, N extends AnyZodSchema, F extends Upcaster<S, N> | VersionStep<S, N>>(
    version: V & PositiveInteger<V>,
    schema: N & DocumentSchema<N>,
    step: F & ExactStep<F, z.input<S>, z.input<N>, V>,
  ): VersionedSchema<V, N, Versions & { readonly [K in V]: N }>;
  version(version: number, schema: AnyZodSchema, step: unknown): VersionedSchema<number, AnyZodSchema, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const name = this.#definition.name;
    const expected = this.#definition.latest + 1;
    checkVersionNumber(name, version, expected);
    const fillsDefaults = checkZodSchema(name, version, schema, this.#definition.versionField);
    const previous = this.#definition.entries.at(-1)?.schema as AnyZodSchema;
    const { up, down } = Array.isArray(step) ? declarativeSteps(name, version, step, previous, schema) : normalizeStep(name, version, step);
    const entry: VersionEntry = Object.freeze({ version, schema, fillsDefaults, up, ...(down ? { down } : {}) });
    return new VersionedSchema(
      Object.freeze({ ...this.#definition, latest: version, entries: Object.freeze([...this.#definition.entries, entry]) }),
    );
  }

  /**
   * Brings a raw stored document to the latest version (or `options.to`): removes the version
   * field, runs the upcasters, validates per `options.validate`. Pure: the input is not modified
   * and nothing is written. Resolves to `{ value, fromVersion, toVersion, changed }`, `value`
   * typed as the version asked for.
   */
  migrate<const To extends number = Latest>(
    raw: unknown,
    options?: MigrateOptions & { readonly to?: (To & KnownVersion<Versions, To>) | undefined },
  ): Promise<MigrationResult<OutputAt<Versions, To>>> {
    return migrate(this.#definition, raw, options) as Promise<MigrationResult<OutputAt<Versions, To>>>;
  }

  /**
   * `migrate` for chains whose steps are all synchronous: the result without a promise. Throws an
   * `UpcastError` if a step returns a promise.
   */
  migrateSync<const To extends number = Latest>(
    raw: unknown,
    options?: MigrateOptions & { readonly to?: (To & KnownVersion<Versions, To>) | undefined },
  ): MigrationResult<OutputAt<Versions, To>> {
    return migrateSync(this.#definition, raw, options) as MigrationResult<OutputAt<Versions, To>>;
  }
}

/**
 * A schema with no version yet: call `.version(1, zodSchema)` (or `.version(unversioned, ...)`).
 * @public
 */
export class SchemaBuilder {
  readonly #name: string;
  readonly #versionField: string;
  readonly #unversioned: number;

  /** Use `defineSchema`. */
  constructor(name: string, options: SchemaOptions) {
    this.#name = name;
    this.#versionField = options.versionField ?? DEFAULT_VERSION_FIELD;
    this.#unversioned = options.unversioned ?? DEFAULT_UNVERSIONED;
  }

  /** Registers the first version: the `unversioned` version (default 1), where documents without a version field are. */
  version<const V extends number, N extends AnyZodSchema>(version: V & PositiveInteger<V>, schema: N & DocumentSchema<N>): VersionedSchema<V, N> {
    const name = this.#name;
    if (version !== 1 && version > this.#unversioned) {
      throw new SchemaDefinitionError(
        name,
        `the first version must be ${this.#unversioned}${this.#unversioned !== 1 ? ' (the unversioned version)' : ''}, got ${String(version)}. Register versions in order, starting at ${this.#unversioned}.`,
      );
    }
    if (version < this.#unversioned) {
      throw new SchemaDefinitionError(
        name,
        `documents without a version field are at version ${this.#unversioned} (the unversioned option), so the chain must start there: register .version(${this.#unversioned}, schema) first, or set unversioned to ${version} if those documents have version ${version}'s shape.`,
      );
    }
    checkVersionNumber(name, version, version);
    const fillsDefaults = checkZodSchema(name, version, schema, this.#versionField);
    if (arguments.length > 2) {
      throw new SchemaDefinitionError(name, `version ${version} is the first version: it takes no upcaster. Remove the third argument.`);
    }
    return new VersionedSchema<V, N>(
      Object.freeze({
        name,
        versionField: this.#versionField,
        unversioned: this.#unversioned,
        first: version,
        latest: version,
        entries: Object.freeze([Object.freeze({ version, schema, fillsDefaults })]),
      }),
    );
  }
}

/**
 * Starts a versioned schema. Register versions in order with `.version(n, zodSchema, upcaster)`.
 *
 * ```ts
 * const User = defineSchema('user')
 *   .version(1, z.object({ _id: z.string(), full_name: z.string() }))
 *   .version(2, z.object({ _id: z.string(), display_name: z.string() }), (v1) => ({ _id: v1._id, display_name: v1.full_name }));
 * ```
 * @public
 */
export function defineSchema(name: string, options: SchemaOptions = {}): SchemaBuilder {
  if (typeof name !== 'string' || name.length === 0) {
    throw new SchemaDefinitionError(String(name), 'the schema name must be a non-empty string.');
  }
  const { versionField, unversioned } = options;
  if (versionField !== undefined && (typeof versionField !== 'string' || versionField.length === 0 || versionField === '_id' || versionField.includes('.') || versionField.startsWith('$'))) {
    throw new SchemaDefinitionError(name, `versionField must be a top-level field name other than "_id" (no "." or leading "$"), got ${JSON.stringify(versionField)}.`);
  }
  if (unversioned !== undefined && !isPositiveInteger(unversioned)) {
    throw new SchemaDefinitionError(name, `unversioned must be a positive integer, got ${String(unversioned)}.`);
  }
  return new SchemaBuilder(name, options);
}

/**
 * The document type of a versioned schema: the output of its latest version. Only a schema from
 * `defineSchema(...).version(...)` is accepted (for a zod schema, use `z.output<typeof S>`).
 * @public
 */
export type Infer<T extends AnyVersionedSchema> = T extends VersionedSchema<number, infer S, infer _V> ? z.output<S> : never;

/** A tuple of `N` elements, to count with types. */
type TupleOf<N extends number, T extends unknown[] = []> = T['length'] extends N ? T : TupleOf<N, [...T, unknown]>;

/** The version after `Latest` as a literal type (`number` when `Latest` is not a literal), so a gap does not compile. */
export type NextVersion<Latest extends number> = number extends Latest ? number : [...TupleOf<Latest>, unknown]['length'] & number;

/** Any versioned schema, whatever its versions. @public */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- every version map, whatever its literal keys
export type AnyVersionedSchema = VersionedSchema<number, AnyZodSchema, any>;

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

function checkVersionNumber(name: string, version: unknown, expected: number): void {
  if (!isPositiveInteger(version)) {
    throw new SchemaDefinitionError(name, `versions are positive integers, got ${String(version)}.`);
  }
  if (version < expected) {
    throw new SchemaDefinitionError(name, `version ${version} is registered twice or out of order; the next version must be ${expected}.`);
  }
  if (version > expected) {
    throw new SchemaDefinitionError(name, `version ${version} leaves a gap: the next version must be ${expected}. Register every version in order, without gaps.`);
  }
}

/** Refuses what is not a zod schema of a storable document; tells whether it fills defaults. */
function checkZodSchema(name: string, version: number, schema: unknown, versionField: string): boolean {
  const isZod = typeof schema === 'object' && schema !== null && '_zod' in schema;
  if (!isZod) {
    throw new SchemaDefinitionError(name, `version ${version} must be given a zod 4 schema (e.g. z.object({...})), got ${describeKind(schema)}.`);
  }
  const shape = (schema as { _zod: { def: { shape?: Record<string, unknown> } } })._zod.def.shape;
  if (shape !== undefined && versionField in shape) {
    throw new SchemaDefinitionError(
      name,
      `the schema of version ${version} declares "${versionField}", the version field mongo-molt manages (it is removed before validation and stamped on writes): remove it from the schema.`,
    );
  }
  const traits = zodTraits(schema as AnyZodSchema);
  if (traits.changesValues !== undefined) {
    throw new SchemaDefinitionError(
      name,
      `the schema of version ${version} converts values when parsing, at ${traits.changesValues}. mongo-molt stores documents as validated, not as zod's parse output, so the document type would not be what is stored: validate the stored form (e.g. z.date() instead of z.coerce.date()) and convert in an upcaster or step.convert.`,
    );
  }
  return traits.fillsDefaults;
}

/** A list of declarative steps, checked against the schemas around it; down exists when every step is invertible. */
function declarativeSteps(name: string, version: number, list: readonly unknown[], before: AnyZodSchema, after: AnyZodSchema): { up: Step; down?: Step } {
  if (list.length === 0) throw new SchemaDefinitionError(name, `version ${version} was given an empty list of steps: pass at least one step (step.rename, step.add, step.remove, step.convert) or a function.`);
  list.forEach((item, index) => {
    if (!isDeclarativeStep(item)) {
      throw new SchemaDefinitionError(name, `step ${index + 1} of version ${version} is not a declarative step (use step.rename, step.add, step.remove or step.convert), got ${describeKind(item)}.`);
    }
  });
  const steps = Object.freeze([...list]) as readonly DeclarativeStep[];
  const problem = checkSteps(steps, before, after);
  if (problem !== undefined) throw new SchemaDefinitionError(name, `version ${version}, ${problem}`);
  const up: Step = Object.freeze({ kind: 'declarative', direction: 'up', steps });
  return isInvertible(steps) ? { up, down: Object.freeze({ kind: 'declarative', direction: 'down', steps }) } : { up };
}

function normalizeStep(name: string, version: number, step: unknown): { up: Step; down?: Step } {
  if (typeof step === 'function') return { up: functionStep(step as StepFunction) };
  if (typeof step === 'object' && step !== null) {
    const { up, down } = step as { up?: unknown; down?: unknown };
    if (typeof up !== 'function') {
      throw new SchemaDefinitionError(name, `version ${version} needs an upcaster: pass a function or { up, down? } with up a function, got up: ${describeKind(up)}.`);
    }
    if (down !== undefined && typeof down !== 'function') {
      throw new SchemaDefinitionError(name, `the downcaster of version ${version} must be a function, got ${describeKind(down)}.`);
    }
    return down === undefined ? { up: functionStep(up as StepFunction) } : { up: functionStep(up as StepFunction), down: functionStep(down as StepFunction) };
  }
  throw new SchemaDefinitionError(name, `version ${version} needs an upcaster from version ${version - 1}: pass a function or { up, down? }, got ${describeKind(step)}.`);
}

function functionStep(run: StepFunction): Step {
  return Object.freeze({ kind: 'function', run });
}

function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object that is not a zod schema' : typeof value;
}
