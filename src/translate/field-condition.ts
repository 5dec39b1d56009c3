/**
 * One field condition (`{ path: condition }`) carried back through one declarative step: what a
 * stored document of the older shape must satisfy so that, once migrated by the step, it satisfies
 * the condition. Constant questions ("does the added default match?", "does a removed field
 * match?") are answered by mingo, a MongoDB query engine in JavaScript, so that they follow the
 * server's semantics (null matches missing, arrays match their elements…), with the few operators
 * where mingo answers otherwise replaced (see `matcher.ts`).
 */
import { isDeepStrictEqual } from 'node:util';
import { isPlainObject, isWithin, rebase, setPath } from '../steps/paths.js';
import type { AnyConvertStep, DeclarativeStep } from '../steps/step.js';
import { and, nor, or, type Translated } from './logic.js';
import { serverMatches } from './matcher.js';
import { guardConversions } from './server-form.js';

/** A condition that cannot be carried back exactly; the caller adds the schema and versions. */
export class Untranslatable extends Error {
  constructor(
    readonly field: string,
    readonly operator: string | undefined,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** Whether the condition `{ [path]: condition }` holds for `doc` (mingo, with MongoDB's semantics where they differ). */
function holds(path: string, condition: unknown, doc: Record<string, unknown>): boolean {
  try {
    return serverMatches({ [path]: condition }, doc);
  } catch (error) {
    throw new Untranslatable(path, operatorOf(condition), `the condition cannot be evaluated (${(error as Error).message})`);
  }
}

/** The condition's operator object keys, when it is one (`{ $gt: 1 }`), else undefined (an equality). */
function operatorsOf(condition: unknown): string[] | undefined {
  if (!isPlainObject(condition)) return undefined;
  const keys = Object.keys(condition);
  return keys.length > 0 && keys.every((key) => key.startsWith('$')) ? keys : undefined;
}

function operatorOf(condition: unknown): string | undefined {
  return operatorsOf(condition)?.[0];
}

/** Only `$exists` tests: true for conditions that say nothing about the value itself. */
function onlyExists(condition: unknown): boolean {
  const operators = operatorsOf(condition);
  return operators !== undefined && operators.every((key) => key === '$exists');
}

/**
 * A default the read path fills in (zod's `.default()` of a version passed through): `field` gets
 * `value` where it is missing and its parent is an object. Not a step anyone writes: translation
 * carries filters back through it as through one.
 */
export interface FillStep {
  readonly kind: 'fill';
  readonly field: string;
  readonly value: unknown;
}

/** A place where the read path may fill defaults that translation cannot model (inside an array, a union…). */
export interface OpaqueStep {
  readonly kind: 'opaque';
  readonly field: string;
  readonly reason: string;
}

/** What a filter is carried back through: a declarative step, or a default the read path fills. */
export type BackStep = DeclarativeStep | FillStep | OpaqueStep;

/**
 * Conditions a step that moves, fills or removes fields inside an object leaves true or false as
 * they were: `$exists`, and "is an object" (what a filled default inside it asks of its parent).
 */
function keepsShape(condition: unknown): boolean {
  return onlyExists(condition) || isDeepStrictEqual(condition, { $type: 'object' });
}

/** `{ [path]: { $exists: present } }`. */
function exists(path: string, present: boolean): Translated {
  return { [path]: { $exists: present } };
}

/** `{ path: condition }` carried back through `s`. */
export function backField(s: BackStep, path: string, condition: unknown, insertion = false, onServerForm?: (s: AnyConvertStep) => void): Translated {
  switch (s.kind) {
    case 'rename':
      if (isWithin(path, s.to)) {
        // The step moves `from` to `to` only where `from` is present; elsewhere a stored `to` (a
        // half-run manual migration) is read as it is.
        const rebased = rebase(path, s.to, s.from);
        if (insertion) return { [rebased]: condition };
        const moved = holds(path, condition, {}) ? and([exists(s.from, true), { [rebased]: condition }]) : { [rebased]: condition };
        return or([moved, and([exists(s.from, false), { [path]: condition }])]);
      }
      if (isWithin(path, s.from)) return holds(path, condition, {}); // the old name is gone after the step
      if (isWithin(s.from, path) || isWithin(s.to, path)) {
        if (isWithin(s.from, path) && isWithin(s.to, path) && keepsShape(condition)) return { [path]: condition };
        throw new Untranslatable(path, operatorOf(condition), `a condition on the whole of "${path}" cannot see inside it, where ${s.from} was renamed to ${s.to}`);
      }
      return { [path]: condition };

    case 'add':
    case 'fill': {
      // `add` makes the parents of its field; a filled default needs its parent to be an object already.
      const parent = s.field.includes('.') ? s.field.slice(0, s.field.lastIndexOf('.')) : undefined;
      const nested = s.kind === 'fill' && parent !== undefined;
      const missing: Translated = nested ? and([{ [parent]: { $type: 'object' } }, exists(s.field, false)]) : exists(s.field, false);
      const notMissing: Translated = nested ? nor([missing]) : exists(s.field, true);
      if (isWithin(path, s.field)) {
        const withDefault = holds(path, condition, setPath({}, s.field, s.value));
        const asStored: Translated = holds(path, condition, {}) ? and([notMissing, { [path]: condition }]) : { [path]: condition };
        return withDefault ? or([asStored, missing]) : asStored;
      }
      if (isWithin(s.field, path)) {
        if (s.kind === 'fill') {
          // Filling a field inside an object leaves the object present or absent as it was.
          if (keepsShape(condition)) return { [path]: condition };
          throw new Untranslatable(path, operatorOf(condition), `a condition on the whole of "${path}" cannot see the default filled in at ${s.field}`);
        }
        // The step creates the parents of the added field: after it, they always exist.
        if (onlyExists(condition)) return holds(path, condition, setPath({}, s.field, s.value));
        throw new Untranslatable(path, operatorOf(condition), `a condition on the whole of "${path}" cannot see the field ${s.field} added inside it`);
      }
      return { [path]: condition };
    }

    case 'opaque':
      if (isWithin(path, s.field) || isWithin(s.field, path)) throw new Untranslatable(path, operatorOf(condition), s.reason);
      return { [path]: condition };

    case 'remove':
      if (isWithin(path, s.field)) return holds(path, condition, {});
      if (isWithin(s.field, path)) {
        if (keepsShape(condition)) return { [path]: condition };
        throw new Untranslatable(path, operatorOf(condition), `a condition on the whole of "${path}" cannot see that ${s.field} was removed from it`);
      }
      return { [path]: condition };

    case 'convert':
      return backConvert(s, path, condition, insertion, onServerForm);
  }
}

function backConvert(s: AnyConvertStep, path: string, condition: unknown, insertion: boolean, onServerForm: ((s: AnyConvertStep) => void) | undefined): Translated {
  if (isWithin(path, s.to)) {
    if (path !== s.to) throw new Untranslatable(path, operatorOf(condition), `it lies inside the converted value of ${s.to}`);
    // Where the source is absent the step does nothing: a stored target (a half-run manual
    // migration) is read as it is, and an in-place conversion leaves the field missing.
    const asStored: Translated = insertion ? false : and([exists(s.from, false), s.from === s.to ? holds(path, condition, {}) : { [path]: condition }]);
    const present: Translated = insertion ? true : exists(s.from, true);
    // `down` maps a value back to one stored form: exact only where every stored value is in that form.
    if (s.canonical === true || (insertion && s.down !== undefined)) return or([and([present, { [s.from]: mapCondition(s, condition) }]), asStored]);
    if (s.upExpr !== undefined) {
      // The answer is exact only where upExpr computes what up does: the caller checks that on its data.
      onServerForm?.(s);
      return or([and([present, compareConverted(s, s.upExpr, condition)]), asStored]);
    }
    if (onlyExists(condition)) return or([and([present, { [s.from]: mapCondition(s, condition) }]), asStored]);
    throw new Untranslatable(
      path,
      operatorOf(condition) ?? '$eq',
      `${s.from} -> ${s.to} is a conversion: give the step an upExpr (the server converts each stored value and compares it), or canonical: true if every stored value is in the one form down gives (then the condition maps back through down); mapping through down alone would miss stored values in other forms ('1.50' next to '1.5')`,
    );
  }
  if (s.from !== s.to && isWithin(path, s.from)) return holds(path, condition, {});
  if (isWithin(s.from, path) || isWithin(s.to, path)) {
    if (keepsShape(condition) && isWithin(s.from, path) && isWithin(s.to, path)) return { [path]: condition };
    throw new Untranslatable(path, operatorOf(condition), `a condition on the whole of "${path}" cannot see the value converted inside it`);
  }
  return { [path]: condition };
}

/**
 * Equality, `$in`, `$ne`, `$nin` and `$exists` on a converted value, compared on the server with
 * the value `upExpr` computes from the stored one (present): exact whatever form the stored value
 * has. A stored value the conversion fails on (`'12,50'` for a number) matches no condition on the
 * field (reading that document raises its error), and fails no filter about other documents: the
 * server's conversions get an `onError` (see `guardConversions`).
 */
function compareConverted(s: AnyConvertStep, upExpr: unknown, condition: unknown): Translated {
  const field = s.to;
  const { value: converted, fails } = guardConversions(upExpr);
  const equals = (value: unknown, operator: string): Translated => {
    if (value instanceof RegExp) throw new Untranslatable(field, operator, 'a regular expression cannot be compared with a converted value');
    // null matches a missing value too, as in a query.
    if (value === null) return { $expr: { $eq: [{ $ifNull: [converted, null] }, null] } };
    return { $expr: { $eq: [converted, { $literal: value }] } };
  };
  const operators = operatorsOf(condition);
  const parts: Translated[] = fails === undefined ? [] : [{ $expr: { $not: [fails] } }];
  if (operators === undefined) return and([...parts, equals(condition, '$eq')]);
  for (const operator of operators) {
    const value = (condition as Record<string, unknown>)[operator];
    switch (operator) {
      case '$eq':
        parts.push(equals(value, operator));
        break;
      case '$ne':
        parts.push(nor([equals(value, operator)]));
        break;
      case '$in':
      case '$nin': {
        if (!Array.isArray(value)) throw new Untranslatable(field, operator, `${operator} needs an array`);
        const any = or(value.map((item: unknown) => equals(item, operator)));
        parts.push(operator === '$in' ? any : nor([any]));
        break;
      }
      case '$exists':
        // The source is present here, so the step sets the converted field.
        parts.push(Boolean(value));
        break;
      default:
        throw new Untranslatable(field, operator, `only equality, $in, $ne, $nin and $exists can be carried through a conversion (${operator} would need the conversion to preserve order)`);
    }
  }
  return and(parts);
}

/** A filter value no stored value reads as. */
const UNREACHABLE = Symbol('unreachable');

/** Whether `up` turns the stored value `stored` into `read` (and so a stored `stored` reads as it). */
function producedBy(s: AnyConvertStep, stored: unknown, read: unknown): boolean {
  try {
    return isDeepStrictEqual((s.up as (value: unknown) => unknown)(stored), read);
  } catch {
    return false;
  }
}

/** Equality, `$in`, `$ne`, `$nin` and `$exists` on a converted value, mapped through `down` (canonical stored values). */
function mapCondition(s: AnyConvertStep, condition: unknown): unknown {
  const down = s.down as ((value: unknown) => unknown) | undefined;
  const field = s.to;
  const mapValue = (value: unknown, operator: string): unknown => {
    if (value === null) return null; // null matches a missing field: the converted field is missing exactly when its source is
    if (value instanceof RegExp) throw new Untranslatable(field, operator, 'a regular expression cannot be mapped through the conversion');
    if (down === undefined) throw new Untranslatable(field, operator, `${s.from} -> ${s.to} has no down function to map the value back`);
    let stored: unknown;
    try {
      stored = down(value);
    } catch (error) {
      throw new Untranslatable(field, operator, `down(${JSON.stringify(value)}) threw (${(error as Error).message})`);
    }
    // A value `up` never produces (up(down(value)) is another value) is no stored value's read.
    return producedBy(s, stored, value) ? stored : UNREACHABLE;
  };
  const operators = operatorsOf(condition);
  if (operators === undefined) {
    const stored = mapValue(condition, '$eq');
    return stored === UNREACHABLE ? { $in: [] } : stored;
  }
  const mapped: Record<string, unknown> = {};
  for (const operator of operators) {
    const value = (condition as Record<string, unknown>)[operator];
    switch (operator) {
      case '$eq':
      case '$ne': {
        const stored = mapValue(value, operator);
        // Equal to a value no read has: matches none; unequal to it: matches all.
        if (stored === UNREACHABLE) mapped[operator === '$eq' ? '$in' : '$nin'] = [];
        else mapped[operator] = stored;
        break;
      }
      case '$in':
      case '$nin':
        if (!Array.isArray(value)) throw new Untranslatable(field, operator, `${operator} needs an array`);
        mapped[operator] = value.map((item) => mapValue(item, operator)).filter((item) => item !== UNREACHABLE);
        break;
      case '$exists':
        mapped[operator] = value;
        break;
      default:
        throw new Untranslatable(field, operator, `only equality, $in, $ne, $nin and $exists can be mapped through a conversion (${operator} would need the conversion to preserve order)`);
    }
  }
  return mapped;
}
