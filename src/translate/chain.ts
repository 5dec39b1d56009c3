/**
 * What query translation needs to know of a schema: its versions and, for each step, whether it is
 * data (declarative steps, translatable) or a function (opaque).
 */
import type { AnyConvertStep, DeclarativeStep } from '../steps/step.js';
import type { FillStep, OpaqueStep } from './field-condition.js';

/** The step into one version, as query translation sees it. */
export type TranslationStep =
  | { readonly kind: 'declarative'; readonly steps: readonly DeclarativeStep[] }
  | {
      readonly kind: 'function';
      /**
       * Whether a path reads the same on both sides of the function, as far as the schemas say
       * (both versions declare it): with `functionSteps: 'as-written'`, only such paths pass.
       */
      readonly declaresOnBothSides?: (path: string) => boolean;
    };

/** A schema's versions and steps, for query translation. */
export interface TranslationChain {
  readonly schemaName: string;
  readonly versionField: string;
  /** The version of documents without a version field. */
  readonly unversioned: number;
  readonly first: number;
  readonly latest: number;
  /** `steps[i]` goes from version `first + i` to `first + i + 1`. */
  readonly steps: readonly TranslationStep[];
  /**
   * `defaults[i]`: the defaults the read path fills in once a document has stepped into version
   * `first + i` (zod's `.default()`, for every version but the one a document is stored at),
   * deepest first, as they are filled; and the places where it fills some that cannot be modelled.
   */
  readonly defaults?: readonly (readonly (FillStep | OpaqueStep)[])[];
  /**
   * What a function step does to a filter: `refuse` (default) throws for any path but `_id`;
   * `as-written` hands the versions behind it the filter as it reads at the step (as a chain of
   * functions sends every filter), and lets sorts through it, for paths both versions around the
   * step declare (a path one side lacks, renamed or added by the function, is still refused).
   */
  readonly functionSteps?: 'refuse' | 'as-written';
  /**
   * Translate for the document an upsert inserts, not for matching: each step's source is taken
   * as present (a new document of an older version holds its fields under their old names), so
   * that the filter's equality conditions stay equalities the server copies into it.
   */
  readonly insertion?: boolean;
  /**
   * Told of every convert step whose server form (`upExpr`) the translated filter compares
   * through: such a filter answers as the read path (`up`) only where the two agree, which the
   * wrapper checks on the collection's own documents before it sends the filter.
   */
  readonly onServerForm?: (step: AnyConvertStep) => void;
}

/** A filter as plain data. */
export type Filter = Record<string, unknown>;
