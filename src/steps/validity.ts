/**
 * The server form of validation: a zod schema compiled to an aggregation expression that is true
 * only for documents the schema accepts. A server-side sweep writes a migrated document only when
 * this expression holds, so it never stores what client mode would refuse. The compiler is sound,
 * not complete: what it cannot express exactly (refinements, unions, transforms, records, strict
 * objects, regular expressions, custom types) makes the whole schema inexpressible (`undefined`),
 * and the sweeper runs those versions on the client.
 */
import type { z } from 'zod';
import type { Expression } from './step.js';

type ZodType = z.core.$ZodType;
interface Check { readonly check: string; readonly minimum?: number; readonly maximum?: number; readonly value?: number; readonly inclusive?: boolean; readonly format?: string }
interface Def {
  readonly type: string;
  readonly shape?: Readonly<Record<string, ZodType>>;
  readonly innerType?: ZodType;
  readonly element?: ZodType;
  readonly catchall?: ZodType;
  readonly entries?: Readonly<Record<string, unknown>>;
  readonly values?: readonly unknown[];
  readonly checks?: readonly { _zod: { def: Check } }[];
  readonly format?: string;
  readonly check?: string;
}

// The BSON types the driver hands to zod as a JS number (a decimal128 arrives as an object: zod refuses it).
const NUMERIC_TYPES = ['double', 'int', 'long'];

class Inexpressible extends Error {}

/** An expression over the whole document (`$$ROOT`) that holds exactly when `schema` would accept it, or `undefined`. */
export function validityExpression(schema: ZodType): Expression | undefined {
  try {
    return compile(schema, '$$ROOT', false);
  } catch (error) {
    if (error instanceof Inexpressible) return undefined;
    throw error;
  }
}

function defOf(schema: ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

function typeIs(value: string, types: readonly string[]): Expression {
  return { $in: [{ $type: value }, types] };
}

function all(parts: readonly Expression[]): Expression {
  return parts.length === 1 ? (parts[0] as Expression) : { $and: parts };
}

/**
 * `check`, then the `rest` only where it holds. The operands of `$strLenCP`, `$size`, `$map` and
 * `$trunc` are made safe too (see `safe`): DocumentDB evaluates a `$cond`'s branches (and `$and`'s
 * operands) even where the condition rules them out, and those operators fail on a wrong type.
 */
function guarded(check: Expression, rest: readonly Expression[]): Expression {
  return rest.length === 0 ? check : { $cond: [check, all(rest), false] };
}

/** `value` is a field reference (`$a.b`), `$$ROOT`, or `$$e` inside an array map. */
/** `value` where `check` holds, else a harmless stand-in of the right type. */
function safe(check: Expression, value: string, standIn: unknown): Expression {
  return { $cond: [check, value, { $literal: standIn }] };
}

function compile(schema: ZodType, value: string, optional: boolean): Expression {
  const def = defOf(schema);
  const missingOk = (expression: Expression): Expression => (optional ? { $or: [{ $eq: [{ $type: value }, 'missing'] }, expression] } : expression);
  switch (def.type) {
    case 'optional':
    case 'default':
    case 'prefault':
      return compile(def.innerType as ZodType, value, true);
    case 'nullable': {
      const inner = compile(def.innerType as ZodType, value, optional);
      return { $or: [{ $eq: [{ $type: value }, 'null'] }, inner] };
    }
    case 'readonly':
      return compile(def.innerType as ZodType, value, optional);
    case 'any':
    case 'unknown':
      return { $literal: true };
    case 'string':
      return missingOk(guarded(typeIs(value, ['string']), lengthChecks(def, { $strLenCP: safe(typeIs(value, ['string']), value, '') })));
    case 'number':
      return missingOk(guarded(typeIs(value, NUMERIC_TYPES), [
        { $not: [{ $in: [value, [Number.NaN, Infinity, -Infinity]] }] },
        ...numberChecks(def, safe(typeIs(value, NUMERIC_TYPES), value, 0)),
      ]));
    case 'boolean':
      return missingOk(typeIs(value, ['bool']));
    case 'null':
      return missingOk(typeIs(value, ['null']));
    case 'date':
      return missingOk(typeIs(value, ['date']));
    case 'literal':
    case 'enum': {
      const allowed = def.type === 'enum' ? Object.values(def.entries ?? {}) : [...(def.values ?? [])];
      if (!allowed.every((item) => ['string', 'number', 'boolean'].includes(typeof item) || item === null)) throw new Inexpressible();
      // $in compares 1 and 1.0 alike, as zod does for numbers; strings and booleans by type and value.
      return missingOk({ $in: [value, allowed.map((item) => ({ $literal: item }))] });
    }
    case 'array': {
      const element = compile(def.element as ZodType, '$$e', false);
      const array = safe({ $isArray: value }, value, []);
      return missingOk(guarded({ $isArray: value }, [
        ...lengthChecks(def, { $size: array }),
        { $allElementsTrue: [{ $map: { input: array, as: 'e', in: element } }] },
      ]));
    }
    case 'object': {
      const catchall = def.catchall === undefined ? undefined : defOf(def.catchall).type;
      if (catchall !== undefined && catchall !== 'unknown' && catchall !== 'any') throw new Inexpressible(); // strict objects
      const fields = Object.entries(def.shape ?? {}).map(([key, field]) => {
        if (key.includes('.') || key.startsWith('$')) throw new Inexpressible();
        return compile(field, `${value === '$$ROOT' ? '$' : `${value}.`}${key}`, false);
      });
      return missingOk(guarded(typeIs(value, ['object']), fields));
    }
    default:
      throw new Inexpressible();
  }
}

function lengthChecks(def: Def, length: Expression): Expression[] {
  return (def.checks ?? []).map(({ _zod: { def: check } }) => {
    if (check.check === 'min_length') return { $gte: [length, check.minimum] };
    if (check.check === 'max_length') return { $lte: [length, check.maximum] };
    if (check.check === 'length_equals') return { $eq: [length, (check as { length?: number }).length] };
    throw new Inexpressible();
  });
}

function numberChecks(def: Def, value: Expression): Expression[] {
  const checks: Expression[] = [];
  // z.int() carries its format on the schema itself; z.number().int() as a check.
  const formats = [def.check === 'number_format' ? def.format : undefined, ...(def.checks ?? []).map(({ _zod: { def: check } }) => (check.check === 'number_format' ? check.format : undefined))];
  for (const format of formats) {
    if (format === undefined) continue;
    if (format !== 'safeint' && format !== 'int32') throw new Inexpressible();
    const bound = format === 'int32' ? 2 ** 31 : Number.MAX_SAFE_INTEGER;
    checks.push({ $eq: [{ $trunc: [value] }, value] }, { $lte: [{ $abs: value }, bound] });
  }
  for (const { _zod: { def: check } } of def.checks ?? []) {
    if (check.check === 'number_format') continue;
    if (check.check === 'greater_than') checks.push({ [check.inclusive ? '$gte' : '$gt']: [value, check.value] });
    else if (check.check === 'less_than') checks.push({ [check.inclusive ? '$lte' : '$lt']: [value, check.value] });
    else throw new Inexpressible();
  }
  return checks;
}
