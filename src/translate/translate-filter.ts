/**
 * Query translation: a filter written against the latest shape, rewritten so that it matches
 * stored documents of every version exactly when their migrated form would match it. The filter
 * is carried back one step at a time, from the latest version down to the first; versions whose
 * translated filters are the same form one branch, selected by the version field:
 *
 * ```
 * { display_name: 'Ada' }  ->  { $or: [ { schemaVersion: { $in: [null, 1] }, full_name: 'Ada' },
 *                                      { schemaVersion: { $nin: [null, 1] }, display_name: 'Ada' } ] }
 * ```
 *
 * The last branch also takes documents newer than the code and documents with a broken version,
 * with the filter as written, so that reading them still raises the error it should.
 * Whatever cannot be translated exactly is a `QueryTranslationError`, before any I/O.
 */
import { isDeepStrictEqual } from 'node:util';
import { QueryTranslationError } from '../errors.js';
import { isWithin } from '../steps/paths.js';
import { describeStep, type DeclarativeStep } from '../steps/step.js';
import type { Filter, TranslationChain, TranslationStep } from './chain.js';
import { backField, Untranslatable, type BackStep } from './field-condition.js';
import { and, nor, or, toFilter, type Translated } from './logic.js';

/** Rewrites `filter` (latest shape) for stored documents of every version. Returns `filter` itself when no version needs a change. */
export function translateFilter(chain: TranslationChain, filter: Filter): Filter {
  const translated = translatePerVersion(chain, filter);
  if (translated.every((each) => isDeepStrictEqual(each, filter))) return filter;

  // Runs of consecutive versions whose filters are the same, oldest first.
  const runs: Array<{ versions: number[]; filter: Translated }> = [];
  translated.forEach((each, index) => {
    const version = chain.first + index;
    const last = runs.at(-1);
    if (last && isDeepStrictEqual(last.filter, each)) last.versions.push(version);
    else runs.push({ versions: [version], filter: each });
  });

  const vf = chain.versionField;
  const older = runs.slice(0, -1).flatMap((run) => run.versions);
  const branches: Translated[] = runs.map((run, index) => {
    const isLast = index === runs.length - 1;
    const versionCondition = isLast
      ? { [vf]: { $nin: chain.unversioned < (run.versions[0] as number) ? [null, ...older] : older } }
      : { [vf]: { $in: run.versions.includes(chain.unversioned) ? [null, ...run.versions] : run.versions } };
    return and([versionCondition, run.filter]);
  });
  return toFilter(or(branches));
}

/** `filter` (latest shape) in the terms of one stored version. */
export function translateFilterAt(chain: TranslationChain, filter: Filter, version: number): Filter {
  return toFilter(translatePerVersion(chain, filter)[version - chain.first] as Translated);
}

/** The filter carried back to each version, `[first … latest]`. */
function translatePerVersion(chain: TranslationChain, filter: Filter): Translated[] {
  const count = chain.latest - chain.first + 1;
  const result: Translated[] = new Array<Translated>(count);
  let current: Translated = filter;
  result[count - 1] = current;
  for (let version = chain.latest - 1; version >= chain.first; version -= 1) {
    const step = chain.steps[version - chain.first] as TranslationStep;
    try {
      // Forward, a document steps into `version + 1` and then gets that version's defaults.
      for (const fill of [...(chain.defaults?.[version + 1 - chain.first] ?? [])].reverse()) {
        if (current !== true && current !== false) current = backOne(fill, current, chain);
      }
      if (current !== true && current !== false) current = backThroughStep(chain, step, current);
    } catch (error) {
      if (!(error instanceof Untranslatable)) throw error;
      throw new QueryTranslationError({
        schemaName: chain.schemaName,
        field: error.field,
        ...(error.operator ? { operator: error.operator } : {}),
        versions: Array.from({ length: version - chain.first + 1 }, (_, index) => chain.first + index),
        reason: error.reason,
      });
    }
    result[version - chain.first] = current;
  }
  return result;
}

function backThroughStep(chain: TranslationChain, step: TranslationStep, filter: Filter): Translated {
  if (step.kind === 'function') {
    for (const path of fieldPaths(filter)) {
      if (isWithin(path, '_id') || passesAsWritten(chain, step, path)) continue;
      throw new Untranslatable(
        path,
        undefined,
        chain.functionSteps === 'as-written'
          ? 'it passes through a function step and is not declared on both sides of it (renamed or added by the function?), so the filter as written would miss or mistake those documents (make the step declarative with step.rename/add/remove/convert)'
          : 'it passes through a function step, which cannot be translated (make the step declarative with step.rename/add/remove/convert)',
      );
    }
    return filter;
  }
  let current: Translated = filter;
  for (let index = step.steps.length - 1; index >= 0 && current !== true && current !== false; index -= 1) {
    current = backOne(step.steps[index] as DeclarativeStep, current, chain);
  }
  return current;
}

/** `filter` carried back through one declarative step (or a default the read path fills). */
function backOne(s: BackStep, filter: Filter, chain: TranslationChain): Translated {
  const parts: Translated[] = [];
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and' || key === '$or' || key === '$nor') {
      if (!Array.isArray(value)) throw new Untranslatable(key, key, `${key} needs an array of filters`);
      const subs = value.map((sub: unknown) => backOne(s, sub as Filter, chain));
      parts.push(key === '$and' ? and(subs) : key === '$or' ? or(subs) : nor(subs));
    } else if (key === '$comment') {
      parts.push({ $comment: value });
    } else if (key === '$expr') {
      // An expression (a converted value's comparison, carried back) passes a step that changes none of its fields.
      const touched = expressionFields(value).find((path) => path === '$$ROOT' || touches(s, path));
      if (touched !== undefined) throw new Untranslatable(touched, '$expr', `an aggregation expression on "${touched}" cannot be carried through ${describeBackStep(s)}`);
      parts.push({ $expr: value });
    } else if (key.startsWith('$')) {
      throw new Untranslatable(key, key, `${key} cannot be translated (only field conditions, $and, $or and $nor)`);
    } else {
      parts.push(backField(s, key, value, chain.insertion === true, chain.onServerForm));
    }
  }
  return and(parts);
}

/** Every key a filter names through $and/$or/$nor: field paths, and top-level operators such as `$expr`. */
export function fieldPaths(filter: Filter): string[] {
  const paths: string[] = [];
  for (const [key, value] of Object.entries(filter)) {
    if ((key === '$and' || key === '$or' || key === '$nor') && Array.isArray(value)) {
      for (const sub of value) if (typeof sub === 'object' && sub !== null) paths.push(...fieldPaths(sub as Filter));
    } else if (key !== '$comment') {
      paths.push(key);
    }
  }
  return paths;
}

/**
 * Checks that a sort on the latest shape sorts stored documents of every version the same way:
 * only paths that no step changes (renames, adds, removes, conversions, function steps) are.
 * Anything else is a `QueryTranslationError`: one server-side sort cannot order two field names.
 */
export function checkSort(chain: TranslationChain, sort: Record<string, unknown>): void {
  for (const path of Object.keys(sort)) {
    for (let version = chain.latest - 1; version >= chain.first; version -= 1) {
      const step = chain.steps[version - chain.first] as TranslationStep;
      const touched = (step.kind === 'function'
        ? !isWithin(path, '_id') && !passesAsWritten(chain, step, path)
        : step.steps.some((s) => touches(s, path))) || (chain.defaults?.[version + 1 - chain.first] ?? []).some((s) => touches(s, path));
      if (touched) {
        throw new QueryTranslationError({
          schemaName: chain.schemaName,
          field: path,
          operator: 'sort',
          versions: Array.from({ length: version - chain.first + 1 }, (_, index) => chain.first + index),
          reason: `the step to version ${version + 1} changes it, so stored documents of different versions hold it under different names or values and one server-side sort cannot order them together`,
        });
      }
    }
  }
}

const FIELD_BY_NAME = new Set(['$getField', '$setField', '$unsetField']);

/** The field paths an aggregation expression reads (`'$a.b'` is `a.b`); `$$ROOT` when it reads the whole document. */
function expressionFields(expression: unknown): string[] {
  if (typeof expression === 'string') {
    if (expression === '$$ROOT' || expression === '$$CURRENT' || expression.startsWith('$$ROOT.') || expression.startsWith('$$CURRENT.')) return ['$$ROOT'];
    return expression.startsWith('$') && !expression.startsWith('$$') ? [expression.slice(1)] : [];
  }
  if (Array.isArray(expression)) return expression.flatMap(expressionFields);
  if (typeof expression === 'object' && expression !== null && !(expression instanceof Date) && !(expression instanceof RegExp)) {
    // Operators that name a field as a plain string: which field cannot be told, so the whole document.
    return Object.entries(expression).flatMap(([key, value]) => (key === '$literal' ? [] : FIELD_BY_NAME.has(key) ? ['$$ROOT'] : expressionFields(value)));
  }
  return [];
}

/** A path a function step lets through as written: translation asked for that, and both sides declare it. */
function passesAsWritten(chain: TranslationChain, step: TranslationStep & { kind: 'function' }, path: string): boolean {
  return chain.functionSteps === 'as-written' && (step.declaresOnBothSides?.(path) ?? false);
}

function describeBackStep(s: BackStep): string {
  return s.kind === 'fill' || s.kind === 'opaque' ? `the default filled in at ${s.field}` : describeStep(s);
}

function touches(s: BackStep, path: string): boolean {
  const paths = s.kind === 'rename' || s.kind === 'convert' ? [s.from, s.to] : [s.field];
  return paths.some((changed) => isWithin(path, changed) || isWithin(changed, path));
}
