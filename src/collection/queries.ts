/**
 * Where the wrapper's filters and sorts are checked and translated, once per call, before any I/O:
 * a filter is written against the latest shape; the server sees it rewritten for every stored
 * version (query translation, when the chain has declarative steps), and the update phase that
 * runs at the write version sees it in that version's terms.
 */
import type { Document, Filter, Sort } from 'mongodb';
import { InvalidOptionError } from '../errors.js';
import type { SchemaDefinition, VersionEntry } from '../schema/types.js';
import { declares, defaultFills, fieldSchema } from '../schema/zod/index.js';
import type { AnyConvertStep } from '../steps/step.js';
import { checkSort, fieldPaths, translateFilter, translateFilterAt, type TranslationChain } from '../translate/index.js';

/** A filter as the server sees it: over stored documents of every version, and at the write version. */
export interface QueryFilters {
  /** Matches stored documents of any version whose migrated form matches the filter. */
  readonly stored: Filter<Document>;
  /** The filter in the write version's terms (for the update phase). */
  readonly atWrite: Filter<Document>;
  /** The filter in the write version's terms as the document an upsert inserts reads it (its equalities kept as equalities). */
  readonly toInsert: Filter<Document>;
  /** The convert steps whose server form (`upExpr`) the filters compare through: checked against `up` before they are sent (see `ServerFormTrust`). */
  readonly serverForms: readonly AnyConvertStep[];
}

/** Checks and translates the wrapper's filters and sorts. */
export class QueryPlanner {
  readonly #definition: SchemaDefinition;
  readonly #chain: TranslationChain | undefined;
  readonly #writeVersion: number;

  /**
   * `translate`: whether filters are translated; `strict`: whether a path through a function step is
   * refused (the default) rather than sent as written to the versions behind it (`translateQueries: 'as-written'`).
   */
  constructor(definition: SchemaDefinition, options: { translate: boolean; strict: boolean; writeVersion: number }) {
    this.#definition = definition;
    this.#chain = options.translate ? { ...translationChain(definition), functionSteps: options.strict ? 'refuse' : 'as-written' } : undefined;
    this.#writeVersion = options.writeVersion;
  }

  /** Whether filters are translated (the chain has declarative steps, and translation was not turned off). */
  get translating(): boolean {
    return this.#chain !== undefined;
  }

  /** The filter checked against the latest shape and translated for stored documents. */
  filter(filter: Filter<Document> | undefined): QueryFilters {
    const given = (filter ?? {}) as Record<string, unknown>;
    this.#checkFields(given);
    if (this.#chain === undefined) return { stored: given, atWrite: given, toInsert: given, serverForms: [] };
    const latest = this.#writeVersion === this.#definition.latest;
    const serverForms = new Set<AnyConvertStep>();
    const chain: TranslationChain = { ...this.#chain, onServerForm: (s) => serverForms.add(s) };
    return {
      stored: translateFilter(chain, given) as Filter<Document>,
      atWrite: (latest ? given : translateFilterAt(chain, given, this.#writeVersion)) as Filter<Document>,
      toInsert: (latest ? given : translateFilterAt({ ...chain, insertion: true }, given, this.#writeVersion)) as Filter<Document>,
      serverForms: [...serverForms],
    };
  }

  /** Refuses a sort that one server-side sort cannot do right over stored documents of every version. */
  sort(sort: Sort | undefined): void {
    if (this.#chain === undefined || sort === undefined) return;
    checkSort(this.#chain, normalizeSort(sort));
  }

  /**
   * A filter naming a field of an older version that the latest shape no longer declares (a
   * renamed or removed field) would match no migrated document: an update would migrate the old
   * documents and then drop itself. Refused before any I/O. (A field no version declares may be
   * one an upcaster keeps on purpose: it is left to the server.)
   */
  #checkFields(filter: Record<string, unknown>): void {
    const latest = this.#definition.entries.at(-1)?.schema;
    if (latest === undefined) return;
    for (const path of fieldPaths(filter)) {
      if (path.startsWith('$') || path === '_id' || path.startsWith('_id.') || path === this.#definition.versionField) continue;
      if (fieldSchema(latest, path) !== 'absent') continue;
      const older = this.#definition.entries.find((entry) => declares(entry.schema, path));
      if (older === undefined) continue;
      throw new InvalidOptionError(
        'filter',
        `names "${path}", a field of version ${older.version} of schema "${this.#definition.name}" that version ${this.#definition.latest} no longer declares, so it can match no document once migrated. ` +
          `Filters are written against the latest shape${this.#chain ? ' (older documents are matched through the declarative steps)' : ''}; query stored field names through .collection. Nothing was read or written.`,
      );
    }
  }
}

/** The schema's steps as query translation sees them. */
function translationChain(definition: SchemaDefinition): TranslationChain {
  return {
    schemaName: definition.name,
    versionField: definition.versionField,
    unversioned: definition.unversioned,
    first: definition.first,
    latest: definition.latest,
    steps: definition.entries.slice(1).map((entry, index) => {
      if (entry.up?.kind === 'declarative') return { kind: 'declarative', steps: entry.up.steps };
      const before = (definition.entries[index] as VersionEntry).schema;
      return { kind: 'function', declaresOnBothSides: (path: string) => declares(before, path) && declares(entry.schema, path) };
    }),
    defaults: definition.entries.map((entry) => (entry.fillsDefaults ? defaultFills(entry.schema) : [])),
  };
}

/** Whether the schema has a declarative step (query translation is on by default then). */
export function hasDeclarativeSteps(definition: SchemaDefinition): boolean {
  return definition.entries.some((entry) => entry.up?.kind === 'declarative');
}

function normalizeSort(sort: Sort): Record<string, unknown> {
  if (typeof sort === 'string') return { [sort]: 1 };
  if (Array.isArray(sort)) {
    // ['a', 1] or [['a', 1], ['b', -1]] or ['a', 'b']
    if (sort.length === 2 && typeof sort[0] === 'string' && !Array.isArray(sort[1]) && typeof sort[1] !== 'string') return { [sort[0]]: sort[1] };
    return Object.fromEntries((sort as unknown[]).map((item) => (Array.isArray(item) ? [String(item[0]), item[1]] : [String(item), 1])));
  }
  if (sort instanceof Map) return Object.fromEntries(sort);
  return sort as Record<string, unknown>;
}
